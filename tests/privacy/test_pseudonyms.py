"""Pseudonymous keys are stable, keyed, and never the id itself."""

from __future__ import annotations

import hashlib

from personalization.privacy import pseudonymous_key, visitor_pseudonym
from personalization.privacy.pseudonyms import ERASED_SUBJECT_PREFIX, erased_subject


def test_the_key_is_stable_and_the_same_for_an_int_and_its_string(settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PSEUDONYMISATION_KEY": "k" * 40}
    first = pseudonymous_key(42)
    assert first == pseudonymous_key(42) == pseudonymous_key("42")
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != pseudonymous_key(43)


def test_the_key_depends_on_the_secret_not_only_on_the_id(settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PSEUDONYMISATION_KEY": "first-key"}
    under_first = pseudonymous_key(42)
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PSEUDONYMISATION_KEY": "second-key"}
    assert pseudonymous_key(42) != under_first
    # Not a plain hash anybody could recompute from the id.
    for plain in ("42", "user:42"):
        assert pseudonymous_key(42) != hashlib.sha256(plain.encode()).hexdigest()


def test_without_a_configured_key_it_is_derived_from_secret_key(settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PSEUDONYMISATION_KEY": ""}
    settings.SECRET_KEY = "one-secret-key-" * 4
    under_first = pseudonymous_key(7)
    settings.SECRET_KEY = "another-secret-" * 4
    assert pseudonymous_key(7) != under_first


def test_users_and_visitors_do_not_share_pseudonyms() -> None:
    assert visitor_pseudonym("42") != pseudonymous_key("42")


def test_the_erased_subject_fits_the_consent_records_vid_column() -> None:
    value = erased_subject(42)
    assert value.startswith(ERASED_SUBJECT_PREFIX)
    assert len(value) == 32
    assert value[len(ERASED_SUBJECT_PREFIX) :] == pseudonymous_key(42)[:25]
