"""Encrypted fields: round trip, ciphertext at rest, lookups refused, key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from personalization.models import Event
from personalization.privacy import crypto
from personalization.privacy.fields import EncryptedJSONField, EncryptedTextField

pytestmark = pytest.mark.django_db

SECRET = {"query": "pregnancy test", "email": "alice@example.com"}


def raw_sensitive(event: Event) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sensitive FROM {Event._meta.db_table} WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def use_keys(settings, *keys: bytes) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "ENCRYPTION_KEYS": [key.decode() for key in keys],
    }


def test_a_json_value_round_trips_and_is_ciphertext_in_the_database() -> None:
    event = Event.objects.create(name="search", sensitive=SECRET)
    stored = raw_sensitive(event)
    assert "pregnancy" not in stored and "alice" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert Event.objects.get(pk=event.pk).sensitive == SECRET


def test_an_empty_dict_is_stored_without_encryption() -> None:
    event = Event.objects.create(name="page_view")
    assert raw_sensitive(event) == ""
    assert Event.objects.get(pk=event.pk).sensitive == {}


def test_two_equal_values_have_different_ciphertexts() -> None:
    first = Event.objects.create(name="search", sensitive=SECRET)
    second = Event.objects.create(name="search", sensitive=SECRET)
    assert raw_sensitive(first) != raw_sensitive(second)


def test_sql_comparisons_on_encrypted_fields_are_refused() -> None:
    with pytest.raises(FieldError):
        list(Event.objects.filter(sensitive={"query": "x"}))
    with pytest.raises(FieldError):
        list(Event.objects.filter(sensitive__contains="x"))
    assert Event.objects.filter(sensitive__isnull=False).count() == 0


def test_the_text_field_encrypts_and_decrypts() -> None:
    field = EncryptedTextField()
    token = field.get_prep_value("07700 900123")
    assert "07700" not in token
    assert field.from_db_value(token, None, connection) == "07700 900123"
    assert field.get_prep_value("") == "" and field.get_prep_value(None) is None


def test_the_json_field_migrates_with_its_encoder() -> None:
    name, path, args, kwargs = EncryptedJSONField(default=dict).deconstruct()
    assert path == "personalization.privacy.fields.EncryptedJSONField"
    assert "encoder" not in kwargs


def test_all_keys_decrypt_and_only_the_first_encrypts(settings) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    use_keys(settings, old)
    event = Event.objects.create(name="search", sensitive=SECRET)
    use_keys(settings, new, old)
    assert Event.objects.get(pk=event.pk).sensitive == SECRET
    fresh = Event.objects.create(name="search", sensitive=SECRET)
    assert Fernet(new).decrypt(raw_sensitive(fresh).encode())
    use_keys(settings, new)
    with pytest.raises(crypto.DecryptionError):
        Event.objects.get(pk=event.pk)


def test_values_written_under_the_derived_key_stay_readable_with_configured_keys(
    settings,
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ENCRYPTION_KEYS": []}
    event = Event.objects.create(name="search", sensitive=SECRET)
    use_keys(settings, Fernet.generate_key())
    assert Event.objects.get(pk=event.pk).sensitive == SECRET


def test_secret_key_fallbacks_still_decrypt(settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ENCRYPTION_KEYS": []}
    settings.SECRET_KEY = "old-secret-" * 5
    event = Event.objects.create(name="search", sensitive=SECRET)
    settings.SECRET_KEY_FALLBACKS = ["old-secret-" * 5]
    settings.SECRET_KEY = "new-secret-" * 5
    assert Event.objects.get(pk=event.pk).sensitive == SECRET


def test_rotate_encryption_keys_moves_every_value_to_the_first_key(settings, capsys) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    use_keys(settings, old)
    events = [Event.objects.create(name="search", sensitive={"query": f"q{i}"}) for i in range(5)]
    Event.objects.create(name="page_view")  # nothing to rotate
    before = [raw_sensitive(e) for e in events]

    use_keys(settings, new, old)
    call_command("rotate_encryption_keys", batch_size=2)
    assert "personalization.Event.sensitive: 5 re-encrypted" in capsys.readouterr().out

    after = [raw_sensitive(e) for e in events]
    assert all(a != b for a, b in zip(after, before, strict=True))
    # Timestamps are kept (MultiFernet.rotate), and the old key can now go.
    for token, previous in zip(after, before, strict=True):
        assert Fernet(new).extract_timestamp(token.encode()) == Fernet(old).extract_timestamp(
            previous.encode()
        )
    use_keys(settings, new)
    assert [Event.objects.get(pk=e.pk).sensitive["query"] for e in events] == [
        f"q{i}" for i in range(5)
    ]


def test_rotation_reports_values_no_key_decrypts(settings) -> None:
    use_keys(settings, Fernet.generate_key())
    event = Event.objects.create(name="search", sensitive=SECRET)
    use_keys(settings, Fernet.generate_key())
    with pytest.raises(CommandError, match="personalization.Event.sensitive: 1"):
        call_command("rotate_encryption_keys")
    assert raw_sensitive(event).startswith("gAAAA")
