"""The registry through which later features add export sections and erasure handlers."""

from __future__ import annotations

import pytest

from personalization.privacy import Subject, user_cache_key, visitor_cache_key


def test_sections_and_handlers_are_kept_in_registration_order(registry) -> None:
    def first(subject):
        return []

    def second(subject):
        return {}

    registry.register_export_section("segments", first)
    registry.register_export_section("recommendations", second)
    assert list(registry.export_sections()) == ["segments", "recommendations"]

    registry.register_erasure_handler(second)
    registry.register_erasure_handler(first)
    registry.register_erasure_handler(second)  # twice: once
    assert registry.erasure_handlers() == [second, first]


def test_a_section_name_cannot_be_taken_twice(registry) -> None:
    def mine(subject):
        return []

    registry.register_export_section("segments", mine)
    registry.register_export_section("segments", mine)  # the same function again is harmless
    with pytest.raises(ValueError, match="already registered"):
        registry.register_export_section("segments", lambda subject: [])


def test_a_full_erasure_covers_every_category_and_a_withdrawal_only_its_own() -> None:
    assert Subject(user_id=1).covers("analytics", "personalization")
    withdrawal = Subject(vids=("v",), categories=frozenset({"personalization", "marketing"}))
    assert withdrawal.covers("personalization")
    assert withdrawal.covers("personalization", "marketing")
    assert not withdrawal.covers("analytics", "personalization")


def test_per_person_cache_keys_follow_one_prefix_convention() -> None:
    assert user_cache_key(7, "recs", "home") == "p13n:user:7:recs:home"
    assert visitor_cache_key("abc", "recs") == "p13n:visitor:abc:recs"
    assert user_cache_key(7) == "p13n:user:7"
