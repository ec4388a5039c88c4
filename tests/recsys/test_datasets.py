"""Data set loaders and protocols shared by evaluate_recommenders and the benchmark scripts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from personalization.recsys import datasets


def write_movielens(folder: Path, users: int = 30, items: int = 40, seed: int = 0) -> Path:
    """A MovieLens-shaped folder: users of two tastes rating items of two genres."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, users + 1):
        liked = range(1, items // 2 + 1) if user % 2 else range(items // 2 + 1, items + 1)
        for item in rng.choice(list(liked), size=12, replace=False):
            rows.append(f"{user}\t{item}\t{rng.integers(3, 6)}\t{880_000_000 + len(rows)}")
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    genres = ["0"] * len(datasets.GENRES)
    lines = []
    for item in range(1, items + 1):
        flags = list(genres)
        flags[1 if item <= items // 2 else 5] = "1"  # Action | Comedy
        lines.append(f"{item}|Movie {item} (1995)|01-Jan-1995||http://x|" + "|".join(flags))
    (folder / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")
    return folder


def test_movielens_loader_reads_ratings_and_genres(tmp_path: Path) -> None:
    ratings, items = datasets.load_movielens(write_movielens(tmp_path))
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(ratings) == 30 * 12
    assert items is not None
    assert items.loc[items["item_id"] == 1, "category"].item() == "Action"
    assert items.loc[items["item_id"] == 40, "tags"].item() == ["Comedy"]


def test_movielens_without_u_item_has_no_items_and_a_wrong_folder_is_refused(
    tmp_path: Path,
) -> None:
    write_movielens(tmp_path)
    (tmp_path / "u.item").unlink()
    assert datasets.load_movielens(tmp_path)[1] is None
    with pytest.raises(datasets.DatasetError, match="u.data"):
        datasets.load_movielens(tmp_path / "nowhere")


def test_movielens_protocol_splits_per_item_and_gives_ratings_to_explicit_models(
    tmp_path: Path,
) -> None:
    ratings, items = datasets.load_movielens(write_movielens(tmp_path))
    protocol = datasets.movielens_protocol(ratings, items)
    assert len(protocol.train) + len(protocol.test) == len(ratings)
    assert protocol.exclude_seen and not protocol.every_test_user
    assert set(protocol.train_for(explicit=False)["weight"]) == {1.0}
    assert set(protocol.train_for(explicit=True)["weight"]) <= {3.0, 4.0, 5.0}
    rows = datasets.run_protocol(
        protocol, [("popular", "popular", {}), ("ease", "ease", {"l2": 10.0})]
    )
    by_model = {row["model"]: row for row in rows}
    # The planted tastes: EASE finds them, popularity cannot.
    assert by_model["ease"]["precision"] > by_model["popular"]["precision"]
    table = datasets.markdown_table(rows)
    assert table[0].startswith("| model | precision@10 | recall@10 | nDCG@10 | MAP |")
    assert len(table) == 2 + len(rows)


def test_models_that_need_features_are_left_out_without_items(tmp_path: Path) -> None:
    ratings, _ = datasets.load_movielens(write_movielens(tmp_path))
    protocol = datasets.movielens_protocol(ratings, None)
    rows = datasets.run_protocol(protocol, [("content", "content", {}), ("pop", "popular", {})])
    assert [row["model"] for row in rows] == ["pop"]


def test_temporal_protocols_hold_out_the_last_weeks_twice() -> None:
    start = dt.datetime(2011, 1, 1, tzinfo=dt.UTC)
    rows = []
    for day in range(70):
        for user in range(5):
            rows.append((f"c{user}", f"i{(day + user) % 7}", start + dt.timedelta(days=day)))
    data = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    repeats, new_items = datasets.temporal_protocols(data, None, weeks=2)
    assert not repeats.exclude_seen and new_items.exclude_seen
    assert repeats.every_test_user and new_items.every_test_user
    assert repeats.test["timestamp"].min() > repeats.train["timestamp"].max()
    assert len(repeats.test) == 14 * 5
    # Every test pair was seen in training: nothing is new.
    assert new_items.test.empty
    assert "0 of 5 people" in repeats.notes[0]


def test_online_retail_loader_cleans_the_csv_and_refuses_other_files(tmp_path: Path) -> None:
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
    rows = [
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,UK",
        "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,UK",
        "C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-12,2010-12-01 08:34:00,1.65,14527,UK",
        "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-02 08:34:00,1.69,13047,UK",
    ]
    path = tmp_path / "online_retail.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    interactions, items, summary = datasets.load_online_retail(path)
    assert sorted(interactions["item_id"]) == ["71053", "84879", "85123A"]
    assert set(interactions["user_id"]) == {"17850", "13047"}
    assert set(items.columns) == {"item_id", "title", "category", "price"}
    assert "'cancellation': 1" in summary

    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(datasets.DatasetError):
        datasets.load_online_retail(other)
    with pytest.raises(datasets.DatasetError, match="cannot read"):
        datasets.load_online_retail(tmp_path / "missing.csv")
