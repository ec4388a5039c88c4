"""Rule segments on live data: dynamic ones from stored events, static ones refreshed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from personalization.models import Profile, Segment, SegmentMembership
from personalization.models.tracking import new_visitor_id
from personalization.segments import live
from personalization.segments.membership import segment_slugs
from personalization.segments.signals import segment_entered, segment_exited
from personalization.tracking.writer import write_events
from tests.factories import make_product, make_user

from .seglive_support import (
    ago,
    catalogue,
    event,
    make_rule_segment,
    new_session,
    store,
    visitor_person,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> dict[str, str]:
    return catalogue()


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return lambda events: store(django_capture_on_commit_callbacks, events)


def test_the_builtin_segments_exist_with_their_modes() -> None:
    modes = dict(Segment.objects.filter(is_builtin=True).values_list("slug", "mode"))
    assert modes == {
        "high-intent-shoppers": "dynamic",
        "bargain-hunters": "dynamic",
        "cart-abandoners": "static",
        "window-shoppers": "dynamic",
        "new-visitors": "dynamic",
    }


def test_product_attributes_give_price_percentiles_and_sales(products) -> None:
    table = live.product_attributes()
    assert table[products["dearest"]]["price_percentile"] == pytest.approx(100 * 10.5 / 11)
    assert table[products["second"]]["price_percentile"] >= 80
    assert table[products["cheap"]]["price_percentile"] < 80
    assert table[products["sale"]]["on_sale"] is True
    assert table[products["cheap"]]["on_sale"] is False


def test_a_product_added_since_the_catalogue_was_read_is_fetched_alone(products) -> None:
    catalogue_before = live.product_attributes()
    added = make_product(price=1000)
    assert live.product_attributes() is catalogue_before
    assert catalogue_before(str(added.pk))["price_percentile"] == 100.0
    assert catalogue_before("no-such-product") == {}


def test_a_catalogue_read_while_the_store_was_empty_is_read_again() -> None:
    live._forget_products(setting="PERSONALIZATION")
    empty = live.product_attributes()
    assert empty.prices == []
    cheap = [make_product(price=10 + n) for n in range(4)]
    dear = make_product(price=900)
    catalogue_now = live.product_attributes()
    assert catalogue_now is not empty
    assert catalogue_now(str(dear.pk))["price_percentile"] == 90.0
    assert catalogue_now(str(cheap[0].pk))["price_percentile"] == 10.0
    assert live.product_attributes() is catalogue_now


def test_high_intent_shoppers_enter_on_two_dear_cart_adds_and_leave_when_they_age(
    products, capture
) -> None:
    vid, session = new_visitor_id(), new_session()
    capture([event("add_to_cart", vid, session, product_id=products["dearest"])])
    person = visitor_person(vid)
    assert "high-intent-shoppers" not in segment_slugs(person)
    capture([event("add_to_cart", vid, session, product_id=products["second"])])
    assert "high-intent-shoppers" in segment_slugs(person)
    assert "high-intent-shoppers" not in live.evaluate_person(
        person, now=timezone.now() + dt.timedelta(minutes=31)
    )
    assert "high-intent-shoppers" not in segment_slugs(person)


def test_cheap_cart_adds_do_not_make_high_intent(products, capture) -> None:
    vid, session = new_visitor_id(), new_session()
    capture([event("add_to_cart", vid, session, product_id=products["cheap"]) for _ in range(3)])
    assert "high-intent-shoppers" not in segment_slugs(visitor_person(vid))


def test_bargain_hunters_follow_the_session(products, capture) -> None:
    vid, first = new_visitor_id(), new_session()
    capture(
        [
            event("product_view", vid, first, at=ago(minutes=3 - n), product_id=products["sale"])
            for n in range(3)
        ]
    )
    person = visitor_person(vid)
    assert "bargain-hunters" in segment_slugs(person)
    capture([event("page_view", vid, new_session(), path="/")])
    assert "bargain-hunters" not in segment_slugs(person)


def test_a_visit_landing_on_the_sale_makes_a_bargain_hunter(capture) -> None:
    vid = new_visitor_id()
    capture([event("page_view", vid, new_session(), path="/sale/")])
    assert "bargain-hunters" in segment_slugs(visitor_person(vid))


def test_window_shoppers_enter_after_ten_views_and_leave_with_a_cart_add(products, capture) -> None:
    vid, session = new_visitor_id(), new_session()
    views = [
        event("product_view", vid, session, at=ago(minutes=20 - n), product_id=products["cheap"])
        for n in range(10)
    ]
    capture(views[:9])
    person = visitor_person(vid)
    assert "window-shoppers" not in segment_slugs(person)
    capture(views[9:])
    assert "window-shoppers" in segment_slugs(person)
    capture([event("add_to_cart", vid, session, product_id=products["cheap"])])
    assert "window-shoppers" not in segment_slugs(person)


def test_new_visitors_leave_on_their_second_session(capture) -> None:
    vid = new_visitor_id()
    capture([event("page_view", vid, new_session(), at=ago(days=1), path="/")])
    person = visitor_person(vid)
    assert "new-visitors" in segment_slugs(person)
    capture([event("page_view", vid, new_session(), path="/")])
    assert "new-visitors" not in segment_slugs(person)


def test_a_profile_with_many_sessions_is_not_new(capture) -> None:
    user = make_user()
    Profile.objects.create(user=user, sessions=7)
    assert "new-visitors" not in live.evaluate_person(("user", user.pk))


def test_events_of_a_logged_in_visitor_count_for_the_user(products, capture) -> None:
    user = make_user()
    vid, session = new_visitor_id(), new_session()
    capture(
        [
            event("add_to_cart", vid, session, user_id=user.pk, product_id=products["dearest"]),
            event("add_to_cart", vid, session, user_id=user.pk, product_id=products["second"]),
        ]
    )
    assert "high-intent-shoppers" in segment_slugs(("user", user.pk))
    assert not SegmentMembership.objects.filter(visitor__vid=vid).exists()


def test_one_batch_of_many_people_takes_a_fixed_number_of_queries(products) -> None:
    def people(count: int) -> set:
        events = [
            event("product_view", new_visitor_id(), new_session(), product_id=products["cheap"])
            for _ in range(count)
        ]
        write_events(events)
        return {visitor_person(e["vid"]) for e in events}

    live.evaluate_people(people(1))  # loads the catalogue and compiles the rules
    queries = []
    for batch in (people(3), people(30)):
        with CaptureQueriesContext(connection) as captured:
            result = live.evaluate_people(batch)
        assert all(slugs == {"new-visitors"} for slugs in result.values())
        queries.append(len(captured.captured_queries))
    # Reads (events, profiles, sessions, memberships, segments) and the changes of each
    # segment (here everyone enters new-visitors), whatever the number of people.
    assert queries[0] == queries[1] <= 15


def test_the_flush_hook_can_be_switched_off(products, capture) -> None:
    vid = new_visitor_id()
    with override_settings(PERSONALIZATION={"SEGMENTS_LIVE_ON_INGEST": False}):
        capture([event("page_view", vid, new_session(), path="/sale/")])
    assert segment_slugs(visitor_person(vid)) == set()


def test_signals_are_sent_on_dynamic_changes(capture) -> None:
    changes = []

    def entered(sender, segment, visitor_id, **kwargs):
        changes.append(("in", segment.slug, visitor_id))

    def exited(sender, segment, visitor_id, **kwargs):
        changes.append(("out", segment.slug, visitor_id))

    segment_entered.connect(entered)
    segment_exited.connect(exited)
    try:
        vid = new_visitor_id()
        capture([event("page_view", vid, new_session(), at=ago(hours=1), path="/sale/")])
        capture([event("page_view", vid, new_session(), path="/")])
    finally:
        segment_entered.disconnect(entered)
        segment_exited.disconnect(exited)
    pk = visitor_person(vid)[1]
    assert ("in", "bargain-hunters", pk) in changes
    assert ("in", "new-visitors", pk) in changes
    assert ("out", "bargain-hunters", pk) in changes
    assert ("out", "new-visitors", pk) in changes


def test_an_edited_rule_is_recompiled(capture) -> None:
    segment = make_rule_segment("viewers", {"events": {"name": "page_view"}, "count": {">=": 1}})
    vid = new_visitor_id()
    capture([event("page_view", vid, new_session(), path="/")])
    person = visitor_person(vid)
    assert "viewers" in live.evaluate_person(person)
    segment.rule = {"events": {"name": "page_view"}, "count": {">=": 2}}
    segment.save()
    assert "viewers" not in live.evaluate_person(person)


def test_a_stored_invalid_rule_is_skipped_and_the_others_still_work(capture, caplog) -> None:
    make_rule_segment("broken", {"attr": "x", "op": "=>", "value": 1})
    vid = new_visitor_id()
    capture([event("page_view", vid, new_session(), path="/")])
    assert "new-visitors" in segment_slugs(visitor_person(vid))
    assert "invalid rule" in caplog.text


def test_static_refresh_computes_cart_abandoners_in_one_pass(products) -> None:
    abandoner, buyer, browser = new_visitor_id(), new_visitor_id(), new_visitor_id()
    write_events(
        [
            event(
                "add_to_cart",
                abandoner,
                new_session(),
                at=ago(hours=3),
                product_id=products["cheap"],
            ),
            event(
                "add_to_cart", buyer, new_session(), at=ago(hours=3), product_id=products["cheap"]
            ),
            event("purchase", buyer, new_session(), at=ago(hours=2), product_id=products["cheap"]),
            event("page_view", browser, new_session(), at=ago(hours=2), path="/"),
        ]
    )
    user = make_user()
    Profile.objects.create(user=user, sessions=3)
    with CaptureQueriesContext(connection) as queries:
        result = live.refresh_static_rule_segments()
    assert result == {"cart-abandoners": (1, 0)}
    assert len(queries.captured_queries) < 20
    assert segment_slugs(visitor_person(abandoner)) == {"cart-abandoners"}
    assert segment_slugs(visitor_person(buyer)) == set()

    write_events(
        [
            event(
                "purchase",
                abandoner,
                new_session(),
                at=ago(minutes=5),
                product_id=products["cheap"],
            )
        ]
    )
    assert live.refresh_static_rule_segments() == {"cart-abandoners": (0, 1)}
    assert segment_slugs(visitor_person(abandoner)) == set()


def test_static_refresh_includes_people_with_a_profile_and_no_events() -> None:
    make_rule_segment(
        "big-spenders", {"attr": "monetary", "op": ">=", "value": 500}, mode=Segment.STATIC
    )
    rich, poor = make_user(), make_user()
    Profile.objects.create(user=rich, monetary=900)
    Profile.objects.create(user=poor, monetary=20)
    result = live.refresh_static_rule_segments()
    assert result["big-spenders"] == (1, 0)
    assert segment_slugs(("user", rich.pk)) == {"big-spenders"}


def test_context_for_builds_profile_events_and_session(products, capture) -> None:
    user = make_user()
    Profile.objects.create(user=user, sessions=4, monetary=120)
    vid, session = new_visitor_id(), new_session()
    capture(
        [
            event("page_view", vid, session, user_id=user.pk, at=ago(minutes=2), path="/sale/x"),
            event("product_view", vid, session, user_id=user.pk, product_id=products["sale"]),
        ]
    )
    context = live.context_for(("user", user.pk))
    assert context.profile["monetary"] == 120
    assert context.profile["sessions"] == 4
    assert [e["name"] for e in context.events] == ["page_view", "product_view"]
    assert str(context.session["id"]) == session
    assert context.session["landing_path"] == "/sale/x"
    assert context.session["events"] == 2
    assert context.product(products["sale"])["on_sale"] is True


def test_at_log_in_the_visitors_memberships_and_profile_follow_the_user(
    products, capture, django_capture_on_commit_callbacks
) -> None:
    from personalization.tracking.identity import link_visitor

    user = make_user()
    vid, session = new_visitor_id(), new_session()
    capture(
        [
            event("add_to_cart", vid, session, product_id=products["dearest"]),
            event("add_to_cart", vid, session, product_id=products["second"]),
        ]
    )
    person = visitor_person(vid)
    Profile.objects.create(visitor_id=person[1], sessions=1)
    assert segment_slugs(person) == {"high-intent-shoppers", "new-visitors"}
    with django_capture_on_commit_callbacks(execute=True):
        link_visitor(vid, user.pk)
    assert segment_slugs(person) == set()
    assert segment_slugs(("user", user.pk)) == {"high-intent-shoppers", "new-visitors"}
    assert Profile.objects.get(user=user).sessions == 1
    assert not Profile.objects.filter(visitor_id=person[1]).exists()


def test_rules_on_event_properties_see_them(products, capture) -> None:
    make_rule_segment(
        "bulk-buyers",
        {
            "events": {"name": "add_to_cart", "properties": {"quantity": {">=": 5}}},
            "count": {">=": 1},
        },
    )
    make_rule_segment(
        "big-carts",
        {"events": {"name": "add_to_cart"}, "sum": {"property": "price", ">=": 150}},
    )
    vid, session = new_visitor_id(), new_session()
    capture(
        [
            event(
                "add_to_cart",
                vid,
                session,
                product_id=products["dearest"],
                properties={"quantity": 6},
            ),
            event("add_to_cart", vid, session, product_id=products["second"]),
        ]
    )
    # 100 + 90 from the products' prices (the events carry none).
    assert {"bulk-buyers", "big-carts"} <= segment_slugs(visitor_person(vid))


def test_dynamic_evaluation_reads_only_the_events_its_rules_count(products, capture) -> None:
    vid, session = new_visitor_id(), new_session()
    capture(
        [event("page_view", vid, session, at=ago(minutes=1), path="/")]
        + [event("product_view", vid, session, product_id=products["cheap"]) for _ in range(2)]
    )
    person = visitor_person(vid)
    with CaptureQueriesContext(connection) as captured:
        live.evaluate_people([person])
    [events_query] = [q["sql"] for q in captured.captured_queries if "occurred_at" in q["sql"]]
    assert "product_view" in events_query and "page_view" not in events_query
    # The page view still counts for the session: one session, a new visitor.
    assert live.evaluate_person(person) >= {"new-visitors"}
    assert live.context_for(person).session["events"] == 3


def test_members_whose_window_ran_out_are_rechecked(products, capture) -> None:
    from personalization.tasks import recheck_dynamic_segments

    intent, browser = new_visitor_id(), new_visitor_id()
    session = new_session()
    capture(
        [
            event("add_to_cart", intent, session, product_id=products["dearest"]),
            event("add_to_cart", intent, session, product_id=products["second"]),
        ]
        + [
            event("product_view", browser, new_session(), product_id=products["cheap"])
            for _ in range(10)
        ]
    )
    assert "high-intent-shoppers" in segment_slugs(visitor_person(intent))
    assert "window-shoppers" in segment_slugs(visitor_person(browser))
    # Nothing happens for 40 minutes.
    later = timezone.now() + dt.timedelta(minutes=40)
    assert live.recheck_dynamic_members(now=later) == {
        "high-intent-shoppers": 1,
        "window-shoppers": 0,
    }
    assert "high-intent-shoppers" not in segment_slugs(visitor_person(intent))
    assert "window-shoppers" in segment_slugs(visitor_person(browser))
    assert recheck_dynamic_segments() == {"high-intent-shoppers": 0, "window-shoppers": 0}
