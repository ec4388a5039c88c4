"""The writer moves sensitive event properties into the encrypted Event.sensitive."""

from __future__ import annotations

import pytest
from django.db import connection

from personalization.models import Event
from personalization.privacy.sensitive import split_sensitive
from personalization.tracking.events import make_event
from personalization.tracking.writer import write_events

pytestmark = pytest.mark.django_db


def stored_columns(event: Event) -> tuple[str, str]:
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT properties, sensitive FROM {table} WHERE id = %s", [event.pk])
        properties, sensitive = cursor.fetchone()
    return str(properties), sensitive


def test_split_moves_the_configured_names_without_regard_to_case() -> None:
    plain, sensitive = split_sensitive({"Query": "red shoes", "results": 3, "EMAIL": "a@b.c"})
    assert plain == {"results": 3}
    assert sensitive == {"Query": "red shoes", "EMAIL": "a@b.c"}
    untouched = {"results": 3}
    assert split_sensitive(untouched) == (untouched, {})


def test_the_setting_chooses_the_names(settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SENSITIVE_EVENT_PROPERTIES": []}
    assert split_sensitive({"query": "x"}) == ({"query": "x"}, {})
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "SENSITIVE_EVENT_PROPERTIES": ["coupon"],
    }
    assert split_sensitive({"query": "x", "coupon": "ANN10"}) == (
        {"query": "x"},
        {"coupon": "ANN10"},
    )


def test_a_search_is_stored_with_its_query_encrypted() -> None:
    search = make_event(
        "search",
        source="js",
        vid="vid-sensitive-000001",
        properties={"query": "pregnancy test", "results": 4},
    )
    view = make_event("page_view", source="js", vid="vid-sensitive-000001", path="/")
    assert write_events([search, view]).stored == 2

    stored = Event.objects.get(name="search")
    assert stored.properties == {"results": 4}
    assert stored.sensitive == {"query": "pregnancy test"}
    properties, sensitive = stored_columns(stored)
    assert "pregnancy" not in properties and "pregnancy" not in sensitive
    assert sensitive.startswith("gAAAA")
    assert stored_columns(Event.objects.get(name="page_view"))[1] == ""


def test_a_repeated_batch_takes_the_careful_path_and_still_encrypts() -> None:
    first = make_event("search", source="js", vid="vid-sensitive-000002", properties={"query": "a"})
    write_events([first])
    second = make_event(
        "search", source="js", vid="vid-sensitive-000002", properties={"query": "b"}
    )
    result = write_events([first, second])
    assert (result.stored, result.duplicates) == (1, 1)
    assert sorted(e.sensitive["query"] for e in Event.objects.all()) == ["a", "b"]
