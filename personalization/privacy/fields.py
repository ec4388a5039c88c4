"""Model fields whose values are stored as Fernet tokens (see :mod:`.crypto`).

The column holds ciphertext, so the database, its backups and its replicas never see the
plaintext; the value is decrypted when a row is loaded and encrypted when it is saved. Such a
column cannot be searched or compared in SQL: the only lookup allowed is ``isnull``. Use them for
free text a person typed or that identifies them (search queries, e-mail addresses), not for
values the app filters or aggregates on.

Empty values are stored as they are (``""``; ``{}`` of :class:`EncryptedJSONField` is stored as
``""``), which spares the encryption for the many rows that have nothing to hide.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Lookup

from .crypto import decrypt, encrypt

ALLOWED_LOOKUPS = frozenset({"isnull"})


class _EncryptedMixin:
    """Refuse every lookup but ``isnull``: the ciphertext of equal values differs."""

    def get_lookup(self, lookup_name: str) -> type[Lookup] | None:
        if lookup_name not in ALLOWED_LOOKUPS:
            return None
        return super().get_lookup(lookup_name)  # type: ignore[misc]


class EncryptedTextField(_EncryptedMixin, models.TextField):
    """A text field stored encrypted."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)


class EncryptedJSONField(_EncryptedMixin, models.TextField):
    """A JSON value (normally a dict) stored encrypted; ``{}`` is stored as ``""``."""

    def __init__(self, *args: Any, encoder: type[json.JSONEncoder] | None = None, **kwargs: Any):
        self.encoder = encoder or DjangoJSONEncoder
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not DjangoJSONEncoder:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        if value == {}:
            return ""
        return encrypt(json.dumps(value, cls=self.encoder, separators=(",", ":")))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        if value == "":
            return {}
        return json.loads(decrypt(value))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj), cls=self.encoder)
