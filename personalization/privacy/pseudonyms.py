"""Pseudonymous keys: keyed HMAC-SHA256 of a user id (or a visitor id).

Segmentation and training pipelines key their inputs by :func:`pseudonymous_key` rather than by
the user's primary key, and the retention aggregates (``DailyActivity``) are stored under it, so
those tables say nothing about a person to whoever reads them without the key. The key is the
``PSEUDONYMISATION_KEY`` setting, or one derived from ``SECRET_KEY`` with a salt of its own when
the setting is empty. A plain hash would not do: user ids are a small, guessable space, and
hashing every candidate would undo it.

Changing the key (or, with the derived default, ``SECRET_KEY``) changes every pseudonym: the
aggregates stored under the old ones no longer join the users. docs/privacy.md says how to choose
and keep the key.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

from ..conf import app_settings

KEY_SALT = "personalization.privacy.pseudonymisation"
# Marks a consent record whose subject was replaced by a pseudonym at erasure; the whole value
# fits the record's 32-character ``vid`` column (25 hex digits: 100 bits).
ERASED_SUBJECT_PREFIX = "erased-"


def pseudonymisation_key() -> bytes:
    """The HMAC key: ``PSEUDONYMISATION_KEY``, or one derived from ``SECRET_KEY``."""
    configured = app_settings.PSEUDONYMISATION_KEY
    if configured:
        return configured.encode()
    return salted_hmac(KEY_SALT, "key", secret=settings.SECRET_KEY, algorithm="sha256").digest()


def _pseudonym(kind: str, value: Any) -> str:
    message = f"{kind}:{value}".encode()
    return hmac.new(pseudonymisation_key(), message, hashlib.sha256).hexdigest()


def pseudonymous_key(user_id: Any) -> str:
    """The stable pseudonym (64 hex digits) of a user: ``HMAC-SHA256(key, "user:<id>")``.

    ``5`` and ``"5"`` give the same key.
    """
    return _pseudonym("user", user_id)


def visitor_pseudonym(vid: str) -> str:
    """The pseudonym of an anonymous visitor (a browser), in the same space as user keys."""
    return _pseudonym("visitor", vid)


def erased_subject(user_id: Any) -> str:
    """What replaces the subject of a person's consent records when their data is erased."""
    return ERASED_SUBJECT_PREFIX + pseudonymous_key(user_id)[:25]
