"""The admin of events, visitors, sessions and identity merges."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from personalization.admin import tracking as tracking_admin
from personalization.admin.base import LargeTablePaginator
from personalization.models import Event, IdentityMerge, Session, Visitor

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def sample_store(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": "tests.tracking.access_log_samples.SampleStoreAdapter",
    }


def make_event(visitor, session, name, minutes, **fields):
    return Event.objects.create(
        event_id=uuid.uuid4(),
        name=name,
        visitor=visitor,
        user=visitor.user,
        session=session,
        occurred_at=T0 + dt.timedelta(minutes=minutes),
        **fields,
    )


@pytest.fixture
def tracked():
    """A customer with two sessions on a phone, and an anonymous desktop visitor."""
    user = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    alice = Visitor.objects.create(vid="vid-alice", user=user, first_seen=T0, last_seen=T0)
    first = Session.objects.create(
        visitor=alice,
        user=user,
        started_at=T0,
        ended_at=T0 + dt.timedelta(minutes=12, seconds=5),
        landing_path="/",
        referrer="https://www.google.com/search",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="spring-sale",
        device_type="mobile",
        browser="Mobile Safari",
        os="iOS",
        event_count=3,
    )
    second = Session.objects.create(
        visitor=alice,
        user=user,
        started_at=T0 + dt.timedelta(days=1),
        ended_at=T0 + dt.timedelta(days=1, minutes=3),
        landing_path="/products/canvas-tote/",
        device_type="mobile",
        event_count=1,
    )
    events = {
        "home": make_event(alice, first, "page_view", 0, path="/", device_type="mobile"),
        "tote": make_event(
            alice,
            first,
            "product_view",
            2,
            product_id="101",
            path="/products/canvas-tote/",
            device_type="mobile",
            source="js",
        ),
        "cart": make_event(
            alice,
            first,
            "add_to_cart",
            12,
            product_id="101",
            path="/products/canvas-tote/",
            properties={"quantity": 2, "price": "19.90", "variant": {"colour": "sand"}},
            device_type="mobile",
        ),
        "again": make_event(
            alice,
            second,
            "product_view",
            24 * 60,
            product_id="111",
            path="/products/sun-hat/",
            device_type="mobile",
            source="log",
        ),
    }
    bob = Visitor.objects.create(vid="vid-bob", first_seen=T0, last_seen=T0)
    bob_session = Session.objects.create(
        visitor=bob,
        started_at=T0,
        ended_at=T0,
        referrer="https://www.facebook.com/",
        device_type="desktop",
        event_count=1,
    )
    events["bob"] = make_event(
        bob, bob_session, "page_view", 5, path="/categories/bags/", device_type="desktop"
    )
    merge = IdentityMerge.objects.create(
        visitor=alice, user=user, events_moved=3, sessions_moved=1, merged_at=T0
    )
    return {
        "user": user,
        "alice": alice,
        "bob": bob,
        "first": first,
        "second": second,
        "events": events,
        "merge": merge,
    }


def changelist(model: str) -> str:
    return reverse(f"admin:personalization_{model}_changelist")


def change(model: str, pk) -> str:
    return reverse(f"admin:personalization_{model}_change", args=[pk])


def listed_events(admin_client, query: str = "") -> set[int]:
    response = admin_client.get(changelist("event") + query)
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


# --- lists ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["event", "visitor", "session", "identitymerge"])
def test_changelists_render(admin_client, tracked, model):
    response = admin_client.get(changelist(model))
    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


def test_event_list_shows_products_by_title_and_links_visitors(admin_client, tracked):
    response = admin_client.get(changelist("event"))
    html = response.content.decode()
    assert "Canvas Tote (101)" in html
    assert "Sun Hat (111)" in html
    assert change("visitor", tracked["alice"].pk) in html


def test_event_list_needs_few_queries(admin_client, tracked):
    for n in range(30):
        make_event(tracked["bob"], None, "page_view", 100 + n, path=f"/p{n}/")
    with CaptureQueriesContext(connection) as few:
        admin_client.get(changelist("event"))
    for n in range(30):
        make_event(tracked["alice"], None, "product_view", 200 + n, product_id="101")
    with CaptureQueriesContext(connection) as more:
        admin_client.get(changelist("event"))
    assert len(more) == len(few)
    assert not any("properties" in q["sql"] for q in more if "personalization_event" in q["sql"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?name__exact=product_view", {"tote", "again"}),
        ("?device_type__exact=desktop", {"bob"}),
        ("?source__exact=log", {"again"}),
        ("?source__exact=js", {"tote"}),
        ("?occurred_at__year=2025&occurred_at__month=3&occurred_at__day=2", {"again"}),
    ],
)
def test_event_filters(admin_client, tracked, query, expected):
    events = tracked["events"]
    assert listed_events(admin_client, query) == {events[key].pk for key in expected}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("vid-bob", {"bob"}),
        ("alice", {"home", "tote", "cart", "again"}),
        ("ALICE@example.com", {"home", "tote", "cart", "again"}),
        ("101", {"tote", "cart"}),
        ("vid-", set()),
        ("nobody", set()),
    ],
)
def test_event_search(admin_client, tracked, term, expected):
    events = tracked["events"]
    assert listed_events(admin_client, f"?q={term}") == {events[key].pk for key in expected}


def test_visitor_list_counts_and_search(admin_client, tracked):
    response = admin_client.get(changelist("visitor"))
    rows = {v.vid: v for v in response.context["cl"].result_list}
    assert (rows["vid-alice"].session_total, rows["vid-alice"].event_total) == (2, 4)
    assert (rows["vid-bob"].session_total, rows["vid-bob"].event_total) == (1, 1)
    found = admin_client.get(changelist("visitor") + "?q=alice@example.com").context["cl"]
    assert [v.vid for v in found.result_list] == ["vid-alice"]
    anonymous = admin_client.get(changelist("visitor") + "?signed_in=no").context["cl"]
    assert [v.vid for v in anonymous.result_list] == ["vid-bob"]
    known = admin_client.get(changelist("visitor") + "?signed_in=yes").context["cl"]
    assert [v.vid for v in known.result_list] == ["vid-alice"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?traffic=campaign", {"first"}),
        ("?traffic=direct", {"second"}),
        ("?traffic=referral", {"bob"}),
        ("?device_type__exact=desktop", {"bob"}),
        ("?signed_in=yes", {"first", "second"}),
        ("?q=vid-alice", {"first", "second"}),
    ],
)
def test_session_filters_and_search(admin_client, tracked, query, expected):
    sessions = {"first": tracked["first"], "second": tracked["second"]}
    sessions["bob"] = tracked["bob"].sessions.get()
    response = admin_client.get(changelist("session") + query)
    listed = {s.pk for s in response.context["cl"].result_list}
    assert listed == {sessions[key].pk for key in expected}


def test_session_list_shows_duration_and_campaign(admin_client, tracked):
    html = admin_client.get(changelist("session")).content.decode()
    assert "12 min 5 s" in html
    assert "newsletter / email / spring-sale" in html
    assert "www.google.com" in html


def test_identity_merges_are_listed_and_searchable(admin_client, tracked):
    response = admin_client.get(changelist("identitymerge") + "?q=alice")
    assert list(response.context["cl"].result_list) == [tracked["merge"]]
    assert (
        admin_client.get(changelist("identitymerge") + "?q=vid-bob").context["cl"].result_count == 0
    )


# --- detail pages and timelines ---------------------------------------------------------------


def test_event_page_is_read_only(admin_client, tracked):
    event = tracked["events"]["cart"]
    response = admin_client.get(change("event", event.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html
    assert "Canvas Tote (101)" in html
    assert "&quot;colour&quot;: &quot;sand&quot;" in html
    assert admin_client.post(change("event", event.pk), {"name": "purchase"}).status_code == 403
    event.refresh_from_db()
    assert event.name == "add_to_cart"


def test_events_cannot_be_added(admin_client, tracked):
    assert admin_client.get(reverse("admin:personalization_event_add")).status_code == 403
    html = admin_client.get(changelist("event")).content.decode()
    assert reverse("admin:personalization_event_add") not in html


def test_only_superusers_delete(client, admin_client, tracked):
    event = tracked["events"]["bob"]
    staff = get_user_model().objects.create_user("staff", "s@example.com", "pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="personalization"))
    client.force_login(staff)
    assert client.get(change("event", event.pk)).status_code == 200
    assert client.get(
        reverse("admin:personalization_event_delete", args=[event.pk])
    ).status_code == (403)
    response = admin_client.post(
        reverse("admin:personalization_event_delete", args=[event.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Event.objects.filter(pk=event.pk).exists()


def test_visitor_page_shows_sessions_and_timeline(admin_client, tracked):
    response = admin_client.get(change("visitor", tracked["alice"].pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 sessions" in html
    assert "Timeline (4 events)" in html
    for text in ("Page view", "Product view", "Add to cart", "Canvas Tote", "Sun Hat"):
        assert text in html
    assert "price=19.90, quantity=2, variant={&quot;colour&quot;:&quot;sand&quot;}" in html
    assert change("session", tracked["first"].pk) in html
    blocks = response.context["timeline"]
    # Newest session first, and each session's events in the order they happened.
    assert [b.session for b in blocks] == [tracked["second"], tracked["first"]]
    assert [r.label for r in blocks[1].rows] == ["Page view", "Product view", "Add to cart"]


def test_visitor_timeline_is_limited_to_the_latest_events(admin_client, tracked, monkeypatch):
    monkeypatch.setattr(tracking_admin, "VISITOR_TIMELINE_EVENTS", 2)
    response = admin_client.get(change("visitor", tracked["alice"].pk))
    rows = [row.event for block in response.context["timeline"] for row in block.rows]
    events = tracked["events"]
    assert rows == [events["again"], events["cart"]]
    assert "the latest 2" in response.content.decode()


def test_session_page_shows_its_timeline(admin_client, tracked):
    response = admin_client.get(change("session", tracked["first"].pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Timeline (3 events)" in html
    assert "newsletter / email / spring-sale" in html
    rows = response.context["timeline"][0].rows
    assert [r.event.path for r in rows] == ["/", "/products/canvas-tote/", "/products/canvas-tote/"]
    assert "Sun Hat" not in html


def test_identity_merge_page_renders(admin_client, tracked):
    response = admin_client.get(change("identitymerge", tracked["merge"].pk))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


# --- helpers --------------------------------------------------------------------------------------


def test_properties_summary_and_durations():
    assert tracking_admin.summarize_properties({"b": [1, 2], "a": 1}) == "a=1, b=[1,2]"
    assert tracking_admin.summarize_properties({}) == ""
    long = tracking_admin.summarize_properties({"q": "x" * 300}, limit=20)
    assert len(long) == 20 and long.endswith("…")
    assert tracking_admin.format_duration(40) == "40 s"
    assert tracking_admin.format_duration(3900) == "1 h 5 min"


def test_large_table_paginator_counts_exactly_when_small_or_filtered(tracked):
    events = Event.objects.all()
    assert LargeTablePaginator(events, 50).count == 5
    assert LargeTablePaginator(events.filter(name="page_view"), 50).count == 2


def test_large_table_paginator_estimates_an_unfiltered_table_on_postgresql(tracked, monkeypatch):
    monkeypatch.setattr(LargeTablePaginator, "estimate_above", 1)
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE personalization_event")
    with CaptureQueriesContext(connection) as queries:
        assert LargeTablePaginator(Event.objects.all(), 50).count == 5
    counted = any("COUNT(" in q["sql"].upper() for q in queries)
    # The estimate on PostgreSQL (exact for a freshly analysed small table), COUNT(*) elsewhere.
    assert counted is not postgresql
    assert any("reltuples" in q["sql"] for q in queries) is postgresql


def test_date_hierarchy_reads_bounds_not_every_row(admin_client, tracked):
    make_event(tracked["bob"], None, "page_view", -400 * 24 * 60, path="/old/")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist("event"))
    html = response.content.decode()
    assert "occurred_at__year=2024" in html
    assert "occurred_at__year=2025" in html
    assert not any("DISTINCT" in q["sql"].upper() for q in queries)
    months = admin_client.get(changelist("event") + "?occurred_at__year=2025").content.decode()
    assert "occurred_at__month=3" in months
    assert "occurred_at__month=2&" not in months
    days = admin_client.get(changelist("event") + "?occurred_at__year=2025&occurred_at__month=3")
    assert "occurred_at__day=2" in days.content.decode()
