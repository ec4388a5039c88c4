"""export_user(): every section, JSON-serialisable, only this person's data, audited."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from demo_shop.shop.models import Order
from personalization.models import DataSubjectRequest, Event
from personalization.privacy import export_user, export_visitor, pseudonymous_key
from personalization.privacy.export import BUILTIN_SECTIONS
from personalization.privacy.registry import export_sections
from personalization.tracking.collect import enqueue
from personalization.tracking.events import make_event

from .conftest import SEARCH_QUERY

pytestmark = pytest.mark.django_db


def test_every_section_is_present_and_the_whole_is_json(person) -> None:
    data = export_user(person.user.pk)
    assert json.loads(json.dumps(data)) == data
    # The built-in sections, then those features registered (segments, recommendations, ...).
    expected = [*BUILTIN_SECTIONS, *export_sections()]
    assert data["export"]["sections"] == expected
    assert set(data) == {"export", *expected}
    assert data["export"]["subject"] == "user"


def test_the_export_holds_this_persons_data_and_nobody_elses(person) -> None:
    data = export_user(person.user.pk)
    assert data["account"]["username"] == "alice"
    assert data["account"]["email"] == "alice@example.com"
    assert "password" not in data["account"]
    assert {v["vid"] for v in data["visitors"]} == {person.phone.vid, person.laptop.vid}
    assert len(data["sessions"]) == 2
    assert len(data["events"]) == 6
    assert [m["visitor__vid"] for m in data["identity_merges"]] == [person.laptop.vid]
    assert len(data["consents"]) == 2
    assert {a["name"] for a in data["activity"]} == {"purchase", "page_view"}
    text = json.dumps(data)
    assert person.other.vid not in text and "bob" not in text


def test_sensitive_properties_are_exported_decrypted(person) -> None:
    searches = [e for e in export_user(person.user.pk)["events"] if e["name"] == "search"]
    assert {e["sensitive"]["query"] for e in searches} == {SEARCH_QUERY}
    assert all(e["properties"] == {"results": 3} for e in searches)


def test_the_store_section_comes_from_the_adapter(person) -> None:
    Order.objects.create(number="DS-1001", user=person.user, total=Decimal("24.00"))
    store = export_user(person.user.pk)["store"]
    assert [o["number"] for o in store["orders"]] == ["DS-1001"]
    assert store["orders"][0]["total"] == "24.00"
    assert store["wishlist"] == [] and store["reviews"] == []


def test_the_default_adapter_exports_nothing_of_the_store(person, settings) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": "personalization.adapters.EmptyStoreAdapter",
    }
    assert export_user(person.user.pk)["store"] == {}


def test_events_still_in_the_buffer_are_exported(person) -> None:
    enqueue([make_event("page_view", source="server", vid=person.phone.vid, path="/late/")])
    data = export_user(person.user.pk)
    assert "/late/" in {e["path"] for e in data["events"]}
    assert Event.objects.filter(path="/late/").exists()


def test_registered_sections_are_added_after_the_built_in_ones(person, registry) -> None:
    seen = []

    def segments(subject):
        seen.append(subject)
        return [{"segment": "loyal", "since": subject.user_id}]

    registry.register_export_section("segments", segments)
    data = export_user(person.user.pk)
    assert data["export"]["sections"][-1] == "segments"
    assert data["segments"] == [{"segment": "loyal", "since": person.user.pk}]
    assert set(seen[0].vids) == {person.phone.vid, person.laptop.vid}


def test_a_registered_section_cannot_replace_a_built_in_one(person, registry) -> None:
    registry.register_export_section("events", lambda subject: [])
    with pytest.raises(ValueError, match="clash"):
        export_user(person.user.pk)


def test_an_export_is_audited_without_personal_data(person) -> None:
    export_user(person.user.pk, via="account")
    request = DataSubjectRequest.objects.get()
    assert (request.kind, request.via, request.status) == ("export", "account", "done")
    assert request.subject_key == pseudonymous_key(person.user.pk)
    assert request.counts["events"] == 6 and request.counts["account"] == 1
    assert request.completed_at is not None


def test_an_anonymous_browser_can_be_exported_by_its_visitor_id(person) -> None:
    data = export_visitor(person.phone.vid)
    assert data["export"]["subject"] == "visitor"
    assert data["account"] is None and data["store"] == {}
    assert {e["visitor__vid"] for e in data["events"]} == {person.phone.vid}
    assert [c["vid"] for c in data["consents"]] == [person.phone.vid]
