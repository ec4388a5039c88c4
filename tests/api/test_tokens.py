"""Signed visitor tokens."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.core import signing
from django.test import override_settings

from personalization.tracking import tokens


def test_a_token_names_its_visitor() -> None:
    token = tokens.issue("visitor-1")
    assert tokens.read(token) == "visitor-1"


@pytest.mark.parametrize("bad", ["", "x" * 33])
def test_issue_refuses_what_cannot_be_a_visitor_id(bad: str) -> None:
    with pytest.raises(ValueError):
        tokens.issue(bad)


def test_a_tampered_token_is_refused() -> None:
    token = tokens.issue("visitor-1")
    other_payload = signing.dumps({"vid": "someone-else"}).split(":")[0]
    forged = token.replace(token.split(":")[0], other_payload)
    with pytest.raises(tokens.InvalidToken, match="signature"):
        tokens.read(forged)


def test_a_value_signed_with_another_salt_is_refused() -> None:
    # A signed value from elsewhere on the site must not pass as a visitor token.
    with pytest.raises(tokens.InvalidToken):
        tokens.read(signing.dumps({"vid": "visitor-1"}))


def test_a_token_signed_with_another_key_is_refused() -> None:
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only-0123456789"):
        token = tokens.issue("visitor-1")
    with pytest.raises(tokens.InvalidToken):
        tokens.read(token)


@pytest.mark.parametrize("bad", ["", "garbage", "a:b:c", None, 42])
def test_garbage_is_refused(bad: object) -> None:
    with pytest.raises(tokens.InvalidToken):
        tokens.read(bad)  # type: ignore[arg-type]


def test_a_signed_payload_without_a_visitor_is_refused() -> None:
    with pytest.raises(tokens.InvalidToken, match="visitor"):
        tokens.read(signing.dumps({"user": 1}, salt=tokens.SALT))
    with pytest.raises(tokens.InvalidToken, match="visitor"):
        tokens.read(signing.dumps(["visitor-1"], salt=tokens.SALT))


def test_tokens_expire_after_the_configured_age(monkeypatch: pytest.MonkeyPatch) -> None:
    token = tokens.issue("visitor-1")
    later = time.time() + 120
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    with (
        override_settings(PERSONALIZATION={"VISITOR_TOKEN_MAX_AGE": 60}),
        pytest.raises(tokens.InvalidToken, match="expired"),
    ):
        tokens.read(token)
    with override_settings(PERSONALIZATION={"VISITOR_TOKEN_MAX_AGE": 600}):
        assert tokens.read(token) == "visitor-1"


def test_a_token_is_handed_out_again_for_a_24th_of_its_age(monkeypatch: pytest.MonkeyPatch) -> None:
    now = 1_800_000_000.0  # the start of a 100-second period
    clock = SimpleNamespace(time=lambda: now)
    monkeypatch.setattr(tokens, "time", clock)
    monkeypatch.setattr(signing, "time", clock)
    with override_settings(PERSONALIZATION={"VISITOR_TOKEN_MAX_AGE": 2400}):
        first = tokens.issue("visitor-2")
        now += 99
        assert tokens.issue("visitor-2") == first
        assert tokens.issue("visitor-3") != first
        now += 1
        renewed = tokens.issue("visitor-2")
    assert renewed != first
    assert tokens.read(renewed) == tokens.read(first) == "visitor-2"
