"""System checks of the privacy settings; a check never shows a key."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from personalization.checks import check_settings

IN_MEMORY = "personalization.adapters.InMemoryStoreAdapter"


def ids(**overrides: Any) -> list[str]:
    with override_settings(PERSONALIZATION={"STORE_ADAPTER": IN_MEMORY, **overrides}):
        return [message.id for message in check_settings()]


def test_the_defaults_and_real_keys_pass() -> None:
    assert ids() == []
    key = Fernet.generate_key()
    assert ids(ENCRYPTION_KEYS=[key.decode(), key], PSEUDONYMISATION_KEY="x" * 50) == []


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"PSEUDONYMISATION_KEY": None}, "personalization.E020"),
        ({"ENCRYPTION_KEYS": "not-a-list"}, "personalization.E021"),
        ({"ENCRYPTION_KEYS": ["too-short"]}, "personalization.E021"),
        ({"SENSITIVE_EVENT_PROPERTIES": "query"}, "personalization.E022"),
        ({"SENSITIVE_EVENT_PROPERTIES": ["query", ""]}, "personalization.E022"),
        ({"EVENT_RETENTION_DAYS": 0}, "personalization.E003"),
        ({"ERASURE_LOGS_OUT": "yes"}, "personalization.E004"),
    ],
)
def test_bad_values_are_reported(overrides: dict[str, Any], error: str) -> None:
    assert ids(**overrides) == [error]


def test_a_bad_key_is_not_repeated_in_the_message() -> None:
    secret = "my-secret-but-not-a-fernet-key"
    with override_settings(
        PERSONALIZATION={"STORE_ADAPTER": IN_MEMORY, "ENCRYPTION_KEYS": [secret]}
    ):
        [message] = check_settings()
    assert secret not in message.msg and secret not in (message.hint or "")
    assert "item 0" in message.msg
