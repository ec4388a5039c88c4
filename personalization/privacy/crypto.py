"""Encryption at rest: Fernet tokens under a list of keys (the first encrypts, all decrypt).

The keys come from ``ENCRYPTION_KEYS``. Keys derived from ``SECRET_KEY`` (and from each of
``SECRET_KEY_FALLBACKS``) always follow the configured ones, for decryption: so the embedded
mode works with no configuration, a site that later configures its own keys still reads what was
written before, and ``manage.py rotate_encryption_keys`` moves every value to the first key.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.crypto import salted_hmac

from ..conf import app_settings

KEY_SALT = "personalization.privacy.encryption"

_fernet: MultiFernet | None = None


class DecryptionError(ValueError):
    """A stored value that none of the keys decrypts (a key was removed before rotating)."""


def derive_key(secret: str | bytes) -> bytes:
    """A Fernet key derived from a Django secret key."""
    digest = salted_hmac(KEY_SALT, "fernet", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest)


def _as_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def encryption_keys() -> list[bytes]:
    """Every key, in order of use: configured keys, then the keys derived from the secret keys."""
    derived = [derive_key(settings.SECRET_KEY)]
    derived += [derive_key(secret) for secret in getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_as_bytes(key) for key in app_settings.ENCRYPTION_KEYS or []] + derived


def invalid_encryption_keys(value: Any) -> str:
    """Why ``value`` is not a valid ``ENCRYPTION_KEYS`` setting, or ``""`` when it is."""
    if not isinstance(value, list | tuple):
        return "must be a list of Fernet keys."
    for position, key in enumerate(value):
        try:
            Fernet(_as_bytes(key))
        except (TypeError, ValueError, binascii.Error):
            return f"item {position} is not a Fernet key (32 bytes, urlsafe base64)."
    return ""


def get_fernet() -> MultiFernet:
    """The MultiFernet of :func:`encryption_keys`, built once per settings value."""
    global _fernet
    if _fernet is None:
        _fernet = MultiFernet([Fernet(key) for key in encryption_keys()])
    return _fernet


def encrypt(text: str) -> str:
    """A Fernet token of ``text`` under the first key."""
    return get_fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The text of a Fernet token; :class:`DecryptionError` when no key decrypts it."""
    try:
        return get_fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise DecryptionError(
            "An encrypted value cannot be decrypted with any of ENCRYPTION_KEYS (was a key "
            "removed before `manage.py rotate_encryption_keys` ran?)."
        ) from exc


def rotate(token: str) -> str:
    """The same plaintext (and timestamp) re-encrypted under the first key."""
    try:
        return get_fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise DecryptionError("A stored token cannot be decrypted with any key.") from exc


def _reset(*, setting: str, **_: Any) -> None:
    global _fernet
    if setting in ("PERSONALIZATION", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        _fernet = None


setting_changed.connect(_reset)
