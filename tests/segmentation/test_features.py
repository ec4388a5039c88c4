"""Profile features from events, sessions and order lines, each checked on a hand-made example."""

import numpy as np
import pandas as pd
import pytest

from personalization.segmentation.features import (
    MAPPING_FEATURES,
    NUMERIC_FEATURES,
    affinity_column,
    build_features,
)

NOW = pd.Timestamp("2026-01-10 12:00", tz="UTC")
ANN, BOB, VISITOR = 1, 2, -7


def ago(days=0.0, minutes=0.0):
    return NOW - pd.Timedelta(days=days, minutes=minutes)


def event(person, name, when, product=None, session=None, seconds=np.nan):
    return {
        "person": person,
        "name": name,
        "timestamp": when,
        "product_id": product,
        "session_id": session,
        "seconds": seconds,
    }


def session(person, sid, start, minutes, device):
    return {
        "person": person,
        "session_id": sid,
        "started_at": start,
        "ended_at": start + pd.Timedelta(minutes=minutes),
        "device_type": device,
    }


def line(person, order, when, product, quantity, amount):
    return {
        "person": person,
        "order_id": order,
        "timestamp": when,
        "product_id": product,
        "quantity": quantity,
        "amount": amount,
    }


PRODUCTS = pd.DataFrame(
    {
        "category": ["Books", "Books", "Books", "Books", "Home & Garden"],
        "price": [5.0, 10.0, 20.0, 40.0, 100.0],
        "on_sale": [False, False, True, False, False],
    },
    index=["b5", "b10", "b20", "b40", "h100"],
)


@pytest.fixture
def inputs():
    events = [
        # Ann: two sessions (mobile, desktop); 3 page views in s1, 1 in s2; 30 s dwell on one
        # product view (10 s + 20 s, as the tracker sends it in parts).
        event(ANN, "page_view", ago(3), session="s1"),
        event(ANN, "product_view", ago(3), "b10", "s1"),
        event(ANN, "dwell", ago(3), "b10", "s1", 10.0),
        event(ANN, "dwell", ago(3), "b10", "s1", 20.0),
        event(ANN, "product_view", ago(3), "h100", "s1"),
        event(ANN, "add_to_cart", ago(3), "b10", "s1"),
        event(ANN, "page_view", ago(1), session="s2"),
        event(ANN, "add_to_cart", ago(1), "b20", "s2"),
        # Bob: one session, one product view, no dwell.
        event(BOB, "product_view", ago(20), "h100", "s3"),
        # An anonymous visitor; after as_of, ignored.
        event(VISITOR, "product_view", ago(2), "b5", "s4"),
        event(VISITOR, "product_view", ago(-1), "h100", "s4"),
    ]
    sessions = [
        session(ANN, "s1", ago(3), 10, "mobile"),
        session(ANN, "s2", ago(1), 20, "desktop"),
        session(BOB, "s3", ago(20), 4, "tablet"),
        session(VISITOR, "s4", ago(2), 0, ""),
    ]
    lines = [
        # Ann: one order of two lines 3 days ago (b10 at 10, b20 on sale), one 40 days ago.
        line(ANN, "o1", ago(3), "b10", 1, 10.0),
        line(ANN, "o1", ago(3), "b20", 2, 40.0),
        line(ANN, "o0", ago(40), "h100", 1, 100.0),
        # Bob: one order of a cheap book (b5 is at or below the Books quartile).
        line(BOB, "o2", ago(10), "b5", 3, 15.0),
        # After as_of: ignored.
        line(BOB, "o3", ago(-2), "h100", 1, 100.0),
    ]
    attributes = pd.DataFrame({"country": ["UK"], "birth_year": [1980]}, index=[ANN])
    return (
        pd.DataFrame(events),
        pd.DataFrame(sessions),
        pd.DataFrame(lines),
        PRODUCTS,
        attributes,
    )


@pytest.fixture
def table(inputs):
    return build_features(*inputs, as_of=NOW)


def test_one_row_per_person_sorted_with_every_column(table):
    assert list(table.index) == [VISITOR, ANN, BOB]
    for column in (*NUMERIC_FEATURES, *MAPPING_FEATURES, "last_activity"):
        assert column in table.columns


def test_order_features(table):
    assert table.loc[ANN, "frequency"] == 2
    assert table.loc[ANN, "monetary"] == pytest.approx(150.0)
    assert table.loc[ANN, "avg_order_value"] == pytest.approx(75.0)
    assert table.loc[ANN, "recency_days"] == pytest.approx(3.0)
    # Bob's order after as_of does not count.
    assert table.loc[BOB, "frequency"] == 1
    assert table.loc[BOB, "recency_days"] == pytest.approx(10.0)
    assert table.loc[VISITOR, "frequency"] == 0
    assert table.loc[VISITOR, "monetary"] == 0
    assert np.isnan(table.loc[VISITOR, "recency_days"])
    assert np.isnan(table.loc[VISITOR, "avg_order_value"])


def test_session_features(table):
    assert table.loc[ANN, "sessions"] == 2
    assert table.loc[ANN, "avg_session_seconds"] == pytest.approx(15 * 60)
    # page_view + 2 product_view in s1, page_view in s2: 4 views over 2 sessions.
    assert table.loc[ANN, "page_depth"] == pytest.approx(2.0)
    assert table.loc[BOB, "page_depth"] == pytest.approx(1.0)


def test_dwell_is_per_product_view(table):
    # 30 dwell seconds over Ann's 2 product views.
    assert table.loc[ANN, "dwell_seconds"] == pytest.approx(15.0)
    assert np.isnan(table.loc[BOB, "dwell_seconds"])


def test_cart_to_purchase_rate(table):
    # Ann added to the cart in two sessions and placed two orders: capped at 1.
    assert table.loc[ANN, "cart_to_purchase_rate"] == pytest.approx(1.0)
    # No cart sessions: unknown, not zero.
    assert np.isnan(table.loc[BOB, "cart_to_purchase_rate"])


def test_cart_to_purchase_rate_below_one(inputs):
    events, sessions, lines, products, attributes = inputs
    extra = pd.DataFrame([event(BOB, "add_to_cart", ago(15), "b5", f"x{n}") for n in range(4)])
    table = build_features(pd.concat([events, extra]), sessions, lines, products, as_of=NOW)
    assert table.loc[BOB, "cart_to_purchase_rate"] == pytest.approx(0.25)


def test_price_sensitivity_counts_sale_and_low_price_units(table):
    # Ann bought 1 b10 (full price, above the quartile), 2 b20 (on sale), 1 h100: 2 of 4 units.
    assert table.loc[ANN, "price_sensitivity"] == pytest.approx(0.5)
    # Bob's 3 b5 are below the Books 25th percentile (8.75); h100 alone in its category is not.
    assert table.loc[BOB, "price_sensitivity"] == pytest.approx(1.0)
    assert np.isnan(table.loc[VISITOR, "price_sensitivity"])


def test_category_affinity(table):
    # Ann: views b10 (1) and h100 (1), carts b10 and b20 (3 each), bought b10 1x, b20 2x and
    # h100 1x (5 per unit): Books 1+3+3+5+10 = 22, Home & Garden 1+5 = 6.
    assert table.loc[ANN, "category_affinity"] == {
        "Books": pytest.approx(round(22 / 28, 4)),
        "Home & Garden": pytest.approx(round(6 / 28, 4)),
    }
    assert table.loc[ANN, "top_category_share"] == pytest.approx(22 / 28)
    assert table.loc[ANN, affinity_column("Home & Garden")] == pytest.approx(6 / 28)
    assert affinity_column("Home & Garden") == "affinity_home_garden"
    assert table.loc[VISITOR, "category_affinity"] == {"Books": 1.0}
    assert table.loc[VISITOR, affinity_column("Home & Garden")] == 0


def test_device_mix(table):
    assert table.loc[ANN, "device_mix"] == {"mobile": 0.5, "desktop": 0.5}
    assert table.loc[ANN, "mobile_share"] == pytest.approx(0.5)
    # Tablets count as mobile; a session without a device type is "other".
    assert table.loc[BOB, "mobile_share"] == pytest.approx(1.0)
    assert table.loc[VISITOR, "device_mix"] == {"other": 1.0}
    assert table.loc[VISITOR, "desktop_share"] == 0


def test_activity_span(table):
    assert table.loc[ANN, "tenure_days"] == pytest.approx(40.0)
    # Ann's latest activity: the end of session s2, 20 minutes after it started a day ago.
    assert table.loc[ANN, "last_activity"] == ago(1) + pd.Timedelta(minutes=20)
    assert table.loc[ANN, "inactive_days"] == pytest.approx(1 - 20 / (24 * 60))


def test_account_attributes_are_passed_through(table):
    assert table.loc[ANN, "country"] == "UK"
    assert table.loc[ANN, "birth_year"] == 1980
    assert pd.isna(table.loc[BOB, "country"])


def test_as_of_defaults_to_the_latest_time(inputs):
    table = build_features(*inputs)
    # Bob's order two days after NOW is the latest time, so it counts, at recency 0.
    assert table.loc[BOB, "frequency"] == 2
    assert table.loc[BOB, "recency_days"] == pytest.approx(0.0)


def test_naive_as_of_means_utc(inputs):
    naive = build_features(*inputs, as_of=NOW.tz_localize(None))
    aware = build_features(*inputs, as_of=NOW)
    pd.testing.assert_frame_equal(naive, aware)


def test_empty_inputs_give_an_empty_table():
    empty = build_features(
        pd.DataFrame(columns=["person", "name", "timestamp", "product_id", "session_id"]),
        pd.DataFrame(columns=["person", "session_id", "started_at", "ended_at", "device_type"]),
        pd.DataFrame(
            columns=["person", "order_id", "timestamp", "product_id", "quantity", "amount"]
        ),
        PRODUCTS,
        as_of=NOW,
    )
    assert empty.empty
    assert "recency_days" in empty.columns


def test_missing_columns_are_named(inputs):
    events, sessions, lines, products, _ = inputs
    with pytest.raises(ValueError, match=r"order_lines lacks the columns \['amount'\]"):
        build_features(events, sessions, lines.drop(columns=["amount"]), products)
    with pytest.raises(ValueError, match="low_price_quantile"):
        build_features(events, sessions, lines, products, low_price_quantile=2)
