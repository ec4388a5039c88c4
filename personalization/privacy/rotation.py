"""Key rotation: re-encrypt every stored Fernet token under the first of ``ENCRYPTION_KEYS``.

Tokens are read and written as they are stored (raw SQL on the encrypted columns), so no
plaintext passes through the ORM, and ``MultiFernet.rotate`` keeps each token's timestamp. A row
is rewritten only if its token did not change in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import connections, router, transaction
from django.db.models import Field, Model

from .crypto import DecryptionError, rotate
from .fields import EncryptedJSONField, EncryptedTextField

BATCH_SIZE = 1000


@dataclass
class RotationResult:
    """Tokens re-encrypted per ``app_label.Model.field``, and tokens no key could decrypt."""

    rotated: dict[str, int] = field(default_factory=dict)
    undecryptable: dict[str, int] = field(default_factory=dict)


def encrypted_fields() -> list[tuple[type[Model], Field]]:
    """Every concrete encrypted field of every installed model."""
    return [
        (model, model_field)
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, EncryptedTextField | EncryptedJSONField)
    ]


def _rotate_column(model: type[Model], model_field: Field, batch_size: int) -> tuple[int, int]:
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(model_field.column)
    pk = quote(model._meta.pk.column)
    stored = f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> ''"
    order = f" ORDER BY {pk} LIMIT %s"
    first_page, next_page = stored + order, stored + f" AND {pk} > %s" + order
    update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s"
    rotated = undecryptable = 0
    last = None
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(first_page, [batch_size])
            else:
                cursor.execute(next_page, [last, batch_size])
            rows = cursor.fetchall()
        if not rows:
            return rotated, undecryptable
        changes = []
        for key, token in rows:
            try:
                changes.append((rotate(token), key, token))
            except DecryptionError:
                undecryptable += 1
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(update, changes)
        rotated += len(changes)
        last = rows[-1][0]


def rotate_encrypted_values(batch_size: int = BATCH_SIZE) -> RotationResult:
    """Re-encrypt every encrypted value of every model under the first key."""
    result = RotationResult()
    for model, model_field in encrypted_fields():
        label = f"{model._meta.label}.{model_field.name}"
        rotated, undecryptable = _rotate_column(model, model_field, batch_size)
        result.rotated[label] = rotated
        if undecryptable:
            result.undecryptable[label] = undecryptable
    return result
