"""Recommendation quality on the UCI Online Retail data with a temporal hold-out.

The CSV is cleaned as the demo shop's importer cleans it (``personalization.recsys.online_retail``,
a Django-free module: cancellations, adjustments, returns, non-positive prices, rows without a
customer and non-product codes are dropped). One order line is one interaction
(``user_id`` = customer, ``item_id`` = stock code, ``timestamp`` = order date, weight 1); the
items carry name, category and price for the content model.

Train on everything before the last ``--test-weeks`` (default 4) weeks and test on those weeks,
for the customers who bought before (a new customer gets the ``popular`` fallback of every
model; how many there were is printed). Two variants:

* repeat purchases counted: relevant = every item a customer bought in the test weeks, and the
  models may recommend items the customer already bought (``exclude_seen=False``);
* only new items: relevant = items the customer had never bought before, already bought items
  are excluded (``exclude_seen=True``).

Metrics average over every test customer (an empty list counts as no hits), k = 10.

``--tune`` first picks the weight of ``buy_again`` inside ``default`` on three 4-week
validation windows carved from the TRAINING period only (the repeat variant; the new-items
variant does not depend on it).

The file is not in the repository::

    .venv/bin/python benchmarks/recsys_online_retail.py --path /path/to/online_retail.csv.gz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from personalization import recsys  # noqa: E402
from personalization.recsys.datasets import (  # noqa: E402
    Protocol,
    load_online_retail,
    temporal_protocols,
)
from personalization.recsys.evaluation import evaluate, temporal_split  # noqa: E402

MODELS = [
    ("popular", {}),
    ("buy_again", {}),
    ("item_knn", {}),
    ("ease", {}),
    ("content", {}),
    ("default", {}),
]


def run(protocol: Protocol, models: list[tuple[str, dict]]) -> list[dict]:
    print(f"{protocol.name}: {protocol.notes[-1]}")
    rows = []
    for name, params in models:
        result = evaluate(
            recsys.build(name, **params),
            protocol.train,
            protocol.test,
            items=protocol.items,
            k=10,
            exclude_seen=protocol.exclude_seen,
            every_test_user=protocol.every_test_user,
            name=name,
        )
        rows.append(result.as_dict())
        print(
            f"  {name:10s} P@10 {result.precision:.4f}  R@10 {result.recall:.4f}  "
            f"nDCG@10 {result.ndcg:.4f}  MAP {result.map:.4f}  fit {result.fit_seconds:.2f}s",
            flush=True,
        )
    return rows


def default_with(weight: float) -> dict:
    """The ``default`` preset's parameters with another ``buy_again`` weight."""
    _, preset = recsys.PRESETS["default"]
    components = [
        [name, params, weight if name == "buy_again" else component_weight]
        for name, params, component_weight in preset["components"]
    ]
    return {**preset, "components": components}


def tune_buy_again_weight(
    train: pd.DataFrame, items: pd.DataFrame, weeks: int, grid: list[float]
) -> float:
    """The ``buy_again`` weight with the best mean nDCG@10 over three validation windows."""
    windows = []
    remaining = train
    for _ in range(3):
        fit, held = temporal_split(remaining, test_days=7.0 * weeks)
        windows.append((fit, held))
        remaining = fit
    print("Tuning the buy_again weight of default on 3 validation windows before the test")
    best, best_ndcg = grid[0], -1.0
    for weight in grid:
        results = [
            evaluate(
                recsys.build("default", **default_with(weight)),
                fit,
                held,
                items=items,
                exclude_seen=False,
                every_test_user=True,
            )
            for fit, held in windows
        ]
        ndcg = float(np.mean([r.ndcg for r in results]))
        precision = float(np.mean([r.precision for r in results]))
        print(f"  weight {weight:4.1f}   validation P@10 {precision:.4f}  nDCG@10 {ndcg:.4f}")
        if ndcg > best_ndcg:
            best, best_ndcg = weight, ndcg
    print(f"  -> weight {best}")
    return best


def table(title: str, rows: list[dict]) -> None:
    print()
    print(title)
    print("| model | precision@10 | recall@10 | nDCG@10 | MAP | coverage | fit s | predict s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['model']} | {row['precision']:.4f} | {row['recall']:.4f} | "
            f"{row['ndcg']:.4f} | {row['map']:.4f} | {row['coverage']:.3f} | "
            f"{row['fit_seconds']:.2f} | {row['predict_seconds']:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, required=True, help="online_retail.csv(.gz)")
    parser.add_argument("--test-weeks", type=int, default=4)
    parser.add_argument("--tune", action="store_true", help="pick buy_again's weight first")
    args = parser.parse_args()

    interactions, items, summary = load_online_retail(args.path)
    print(summary)
    repeats, new_items = temporal_protocols(interactions, items, args.test_weeks)
    print(repeats.notes[0])

    models = list(MODELS)
    if args.tune:
        weight = tune_buy_again_weight(
            repeats.train, items, args.test_weeks, [1.0, 2.0, 3.0, 4.0, 6.0]
        )
        models = [(n, default_with(weight) if n == "default" else p) for n, p in MODELS]

    repeat_rows = run(repeats, models)
    new_rows = run(new_items, models)
    table("Repeat purchases counted (exclude_seen=False)", repeat_rows)
    table("Only new items (exclude_seen=True)", new_rows)


if __name__ == "__main__":
    main()
