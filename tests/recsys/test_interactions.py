"""Events and order lines as weighted, time-decayed interactions (pure, no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from personalization.recsys.interactions import (
    build_interactions,
    order_lines_as_events,
    summarise,
)

DAY = 86_400.0
NOW = 1_750_000_000.0
WEIGHTS = {"product_view": 1.0, "wishlist_add": 2.0, "add_to_cart": 3.0, "purchase": 5.0}


def events(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event", "timestamp"])


def test_each_event_type_gets_its_weight_without_decay() -> None:
    out = build_interactions(
        events(
            ("u1", "a", "product_view", NOW),
            ("u1", "b", "wishlist_add", NOW - DAY),
            ("u1", "c", "add_to_cart", NOW - 2 * DAY),
            ("u2", "a", "purchase", NOW - 3 * DAY),
        ),
        WEIGHTS,
    )
    assert out["weight"].tolist() == [1.0, 2.0, 3.0, 5.0]
    assert list(out.columns) == ["user_id", "item_id", "weight", "timestamp", "event"]
    assert out["event"].tolist() == ["product_view", "wishlist_add", "add_to_cart", "purchase"]


def test_weights_halve_every_half_life_back_from_now() -> None:
    out = build_interactions(
        events(
            ("u", "a", "purchase", NOW),
            ("u", "b", "purchase", NOW - 30 * DAY),
            ("u", "c", "purchase", NOW - 60 * DAY),
            ("u", "d", "add_to_cart", NOW - 15 * DAY),
        ),
        WEIGHTS,
        half_life_days=30,
        now=NOW,
    )
    np.testing.assert_allclose(out["weight"], [5.0, 2.5, 1.25, 3.0 / np.sqrt(2)])


def test_now_defaults_to_the_newest_event_and_later_events_count_fully() -> None:
    rows = events(("u", "a", "product_view", NOW), ("u", "b", "product_view", NOW - 10 * DAY))
    newest = build_interactions(rows, WEIGHTS, half_life_days=10)
    assert newest["weight"].tolist() == [1.0, 0.5]
    earlier = build_interactions(rows, WEIGHTS, half_life_days=10, now=NOW - 10 * DAY)
    assert earlier["weight"].tolist() == [1.0, 1.0]


def test_datetimes_aware_and_as_python_objects_are_read_as_utc() -> None:
    moment = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    rows = events(
        ("u", "a", "product_view", moment),
        ("u", "b", "product_view", moment - dt.timedelta(days=7)),
    )
    rows["timestamp"] = rows["timestamp"].astype(object)  # as a database driver returns them
    out = build_interactions(rows, WEIGHTS, half_life_days=7, now=moment)
    assert out["weight"].tolist() == [1.0, 0.5]
    assert out["timestamp"].iloc[0] == moment.timestamp()


def test_unweighted_types_and_incomplete_rows_are_dropped_the_rest_kept_in_order() -> None:
    out = build_interactions(
        events(
            ("u1", "a", "page_view", NOW),  # not weighted
            (None, "a", "product_view", NOW),  # no person
            ("u1", None, "product_view", NOW),  # no item
            ("u1", "a", "product_view", None),  # no time
            ("u1", "z", "product_view", NOW),
            ("u2", "y", "add_to_cart", NOW),
            ("u3", "x", "dwell", NOW),
        ),
        {**WEIGHTS, "dwell": 0.0},  # weighed zero: ignored
    )
    assert out[["user_id", "item_id"]].values.tolist() == [["u1", "z"], ["u2", "y"]]


def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="lack the column"):
        build_interactions(pd.DataFrame({"user_id": [1], "item_id": [2]}), WEIGHTS)
    with pytest.raises(ValueError, match="weight of 'purchase'"):
        build_interactions(events(("u", "a", "purchase", NOW)), {"purchase": "five"})
    with pytest.raises(ValueError, match="half_life_days"):
        build_interactions(events(("u", "a", "purchase", NOW)), WEIGHTS, half_life_days=0)


def test_empty_input_gives_an_empty_frame_with_the_columns() -> None:
    out = build_interactions(events(), WEIGHTS, half_life_days=30)
    assert out.empty
    assert list(out.columns) == ["user_id", "item_id", "weight", "timestamp", "event"]
    assert summarise(out) == {"rows": 0, "people": 0, "items": 0, "events": {}}


def test_order_lines_become_one_purchase_each() -> None:
    lines = pd.DataFrame(
        {"user_id": ["u:1", "u:1"], "item_id": ["a", "b"], "timestamp": [NOW, NOW]}
    )
    out = build_interactions(order_lines_as_events(lines), WEIGHTS)
    assert out["event"].tolist() == ["purchase", "purchase"]
    assert out["weight"].tolist() == [5.0, 5.0]
    with pytest.raises(ValueError, match="order lines lack"):
        order_lines_as_events(lines.drop(columns="timestamp"))


def test_summary_counts_people_items_events_and_the_time_range() -> None:
    out = build_interactions(
        events(
            ("u1", "a", "product_view", NOW - DAY),
            ("u1", "b", "product_view", NOW),
            ("u2", "a", "purchase", NOW),
        ),
        WEIGHTS,
    )
    summary = summarise(out)
    assert summary["rows"] == 3
    assert summary["people"] == 2
    assert summary["items"] == 2
    assert summary["events"] == {"product_view": 2, "purchase": 1}
    assert summary["first"] < summary["last"]
