"""RFM scores, segments and window flags on crafted orders."""

import numpy as np
import pandas as pd
import pytest

from personalization.segmentation.rfm import (
    COLUMNS,
    SEGMENT_GRID,
    SEGMENTS,
    RFMWindows,
    fm_score,
    rfm,
    segment_for,
)

AS_OF = pd.Timestamp("2026-01-31")


def orders_of(rows):
    """Orders from ``(customer_id, order_id, amount, days_before_as_of)`` tuples."""
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "amount", "days"])
    frame["timestamp"] = AS_OF - pd.to_timedelta(frame.pop("days"), unit="D")
    return frame


def five_customers():
    # a: recent, frequent, big; e: long ago, once, small; the rest in between.
    rows = []
    for index, customer in enumerate("abcde"):
        for number in range(5 - index):
            rows.append((customer, f"{customer}{number}", 100.0 * (5 - index), 10 + 50 * index))
    return orders_of(rows)


def test_five_distinct_customers_score_one_to_five():
    table = rfm(five_customers(), as_of=AS_OF)
    assert list(table.index) == list("abcde")
    assert list(table.columns) == list(COLUMNS)
    assert list(table["r_score"]) == [5, 4, 3, 2, 1]
    assert list(table["f_score"]) == [5, 4, 3, 2, 1]
    assert list(table["m_score"]) == [5, 4, 3, 2, 1]
    assert list(table["rfm_score"]) == ["555", "444", "333", "222", "111"]
    assert list(table["rfm_sum"]) == [15, 12, 9, 6, 3]
    assert list(table["segment"]) == ["Champions", "Loyal", "Need Attention", "Hibernating", "Lost"]
    assert list(table["frequency"]) == [5, 4, 3, 2, 1]
    assert list(table["monetary"]) == [2500.0, 1600.0, 900.0, 400.0, 100.0]
    assert list(table["recency_days"]) == [10.0, 60.0, 110.0, 160.0, 210.0]


def test_order_lines_are_summed_into_one_order():
    orders = orders_of(
        [
            ("a", "o1", 10.0, 3),
            ("a", "o1", 15.0, 2),  # a later line of the same order: the order keeps day 3
            ("a", "o2", 5.0, 1),
            ("b", "o3", 7.0, 4),
        ]
    )
    table = rfm(orders, as_of=AS_OF)
    assert table.loc["a", "frequency"] == 2
    assert table.loc["a", "monetary"] == 30.0
    assert table.loc["a", "recency_days"] == 1.0
    assert table.loc["a", "last_order_at"] == AS_OF - pd.Timedelta(days=1)
    assert table.loc["b", "frequency"] == 1


def test_as_of_defaults_to_the_latest_order_and_ignores_later_orders():
    orders = orders_of([("a", "o1", 10.0, 5), ("b", "o2", 20.0, 2), ("b", "o3", 30.0, -3)])
    default = rfm(orders)
    assert default.loc["b", "recency_days"] == 0.0  # the order 3 days after AS_OF is the latest
    assert default.loc["a", "recency_days"] == 8.0
    past = rfm(orders, as_of=AS_OF)
    assert past.loc["b", "frequency"] == 1
    assert past.loc["b", "monetary"] == 20.0
    assert rfm(orders, as_of=AS_OF - pd.Timedelta(days=10)).empty


def test_single_customer_scores_three():
    table = rfm(orders_of([("only", "o1", 42.0, 7)]), as_of=AS_OF)
    assert table.loc["only", "rfm_score"] == "333"
    assert table.loc["only", "segment"] == "Need Attention"


def test_equal_values_share_one_score_regardless_of_row_order():
    rows = [(f"c{i}", f"o{i}", 50.0, 10) for i in range(7)]
    table = rfm(orders_of(rows), as_of=AS_OF)
    assert set(table["rfm_score"]) == {"333"}
    shuffled = rfm(orders_of(rows[::-1]), as_of=AS_OF)
    pd.testing.assert_frame_equal(table, shuffled)


def test_fewer_than_five_distinct_values():
    # Eight one-order customers and two with two orders: the ones share the mid-rank 4.5 of 10,
    # percentile 0.4 -> score 3; the twos have mid-rank 9.5, percentile 0.9 -> score 5.
    rows = [(f"c{i}", f"o{i}", 10.0, 1) for i in range(10)]
    rows += [("c8", "x8", 10.0, 1), ("c9", "x9", 10.0, 1)]
    table = rfm(orders_of(rows), as_of=AS_OF)
    assert list(table["f_score"]) == [3] * 8 + [5, 5]


def test_two_customers_split_into_the_second_and_fourth_quintile():
    table = rfm(orders_of([("a", "o1", 10.0, 1), ("b", "o2", 20.0, 2)]), as_of=AS_OF)
    assert list(table["r_score"]) == [4, 2]
    assert list(table["m_score"]) == [2, 4]


def test_quintiles_hold_one_fifth_each():
    rows = [(i, i, float(i), i % 365) for i in range(1000)]
    table = rfm(orders_of(rows), as_of=AS_OF)
    assert table["m_score"].value_counts().to_dict() == {1: 200, 2: 200, 3: 200, 4: 200, 5: 200}


def test_window_flags():
    rows = [
        # a: seven orders in the last six months, the latest 10 days ago
        *[("a", f"a{n}", 10.0, 10 + 20 * n) for n in range(7)],
        # b: six orders, but only five of them inside 182 days
        *[("b", f"b{n}", 10.0, 40 * n) for n in range(6)],
        ("c", "c1", 1000.0, 400),  # big spend, but outside the one-year window
        ("d", "d1", 500.0, 300),
        ("e", "e1", 1.0, 31),
    ]
    table = rfm(orders_of(rows), as_of=AS_OF)
    assert table["recent_buyer"].to_dict() == {
        "a": True,
        "b": True,
        "c": False,
        "d": False,
        "e": False,
    }
    assert table["frequent_buyer"].to_dict() == {
        "a": True,
        "b": False,
        "c": False,
        "d": False,
        "e": False,
    }
    # 20% of 5 customers is one: d, whose 500 in the last year beats a's 70 and b's 60.
    assert table.loc[table["top_spender"]].index.tolist() == ["d"]

    wide = RFMWindows(recent_days=31, frequent_days=365, frequent_more_than=4, top_spend_share=0.4)
    flags = rfm(orders_of(rows), as_of=AS_OF, windows=wide)
    assert flags["recent_buyer"].tolist() == [True, True, False, False, True]
    assert flags["frequent_buyer"].tolist() == [True, True, False, False, False]
    assert flags.loc[flags["top_spender"]].index.tolist() == ["a", "d"]


def test_top_spender_ties_at_the_boundary_are_all_included():
    rows = [("a", "o1", 10.0, 1), ("b", "o2", 10.0, 1), ("c", "o3", 5.0, 1)]
    table = rfm(orders_of(rows), as_of=AS_OF, windows=RFMWindows(top_spend_share=0.3))
    assert table["top_spender"].tolist() == [True, True, False]


def test_windows_are_validated():
    with pytest.raises(ValueError, match="top_spend_share"):
        RFMWindows(top_spend_share=0)
    with pytest.raises(ValueError, match="recent_days"):
        RFMWindows(recent_days=-1)


def test_missing_columns_and_empty_input():
    with pytest.raises(ValueError, match="amount"):
        rfm(pd.DataFrame({"customer_id": [1], "order_id": [1], "timestamp": [AS_OF]}))
    empty = rfm(orders_of([]))
    assert empty.empty
    assert list(empty.columns) == list(COLUMNS)


def test_timezone_aware_timestamps():
    orders = orders_of([("a", "o1", 10.0, 2), ("b", "o2", 5.0, 1)])
    orders["timestamp"] = orders["timestamp"].dt.tz_localize("UTC")
    table = rfm(orders, as_of="2026-01-31T00:00:00+00:00")
    assert table["recency_days"].tolist() == [2.0, 1.0]


def test_segment_grid_covers_every_segment():
    assert {name for row in SEGMENT_GRID for name in row} == set(SEGMENTS)
    assert fm_score(4, 5) == 5
    assert fm_score(1, 2) == 2
    assert segment_for(5, 1, 1) == "New"
    assert segment_for(1, 5, 5) == "Can't Lose Them"
    assert segment_for(4, 1, 2) == "Potential Loyalist"
    with pytest.raises(ValueError, match="r_score"):
        segment_for(0, 3, 3)


def test_segments_agree_with_segment_for():
    rng = np.random.default_rng(7)
    count = 300
    orders = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 60, count),
            "order_id": np.arange(count),
            "amount": rng.gamma(2.0, 40.0, count).round(2),
            "timestamp": AS_OF - pd.to_timedelta(rng.integers(0, 400, count), unit="D"),
        }
    )
    table = rfm(orders, as_of=AS_OF)
    expected = [
        segment_for(r, f, m)
        for r, f, m in table[["r_score", "f_score", "m_score"]].itertuples(index=False)
    ]
    assert table["segment"].tolist() == expected


def test_missing_amounts_and_customer_ids():
    orders = orders_of(
        [("a", "o1", np.nan, 2), ("a", "o2", 10.0, 1), ("b", "o3", np.nan, 3), (None, "o4", 5.0, 1)]
    )
    table = rfm(orders, as_of=AS_OF)
    assert list(table.index) == ["a", "b"]
    assert table["frequency"].tolist() == [2, 1]
    assert table["monetary"].tolist() == [10.0, 0.0]
    assert table["m_score"].tolist() == [4, 2]
