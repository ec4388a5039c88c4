"""Recommendation quality on MovieLens 100k, in the protocols of two published tables.

1. Microsoft Recommenders' benchmark (``examples/06_benchmarks/movielens.ipynb``): the ratings
   split 75/25 with ``python_stratified_split(data, ratio=0.75, filter_by="item", seed=42)``,
   which stratifies per ITEM (the README's prose says per user; the notebook's call decides);
   every test rating is relevant whatever its value; training items are removed from each
   user's list; k = 10. Their "MAP" column is their ``map`` (divided by all relevant items).
   The implicit models get every rating as weight 1; ``svd`` and ``knn_baseline`` get the
   ratings. Printed: precision@10, recall@10, nDCG@10, MAP, MAP@10, catalogue coverage, fit
   and predict seconds, beside their published rows.
2. Surprise's README table: 5-fold cross-validation (``KFold(random_state=0)``) of RMSE and MAE,
   for our ``svd`` and ``knn_baseline`` and, as a reference on the same folds, Surprise's own
   ``SVD(random_state=0)``, ``KNNBaseline()`` with default parameters (user-based, MSD) and
   the item-based ``pearson_baseline`` configuration that our ``knn_baseline`` uses.

``--tune`` first picks EASE's penalty for ``default``: the best mean nDCG@10 over ten
validation splits carved from the TRAINING part only (the same per-item split applied to it,
seeds 1-10), never from the test.

The data is not in the repository (research licence): pass the folder that holds ``u.data``
(and ``u.item`` for the content model)::

    .venv/bin/python benchmarks/recsys_movielens.py --path /path/to/ml-100k
    .venv/bin/python benchmarks/recsys_movielens.py --path /path/to/ml-100k --tune --no-cv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from personalization import recsys  # noqa: E402
from personalization.recsys.datasets import (  # noqa: E402
    as_interactions,
    load_movielens,
    markdown_table,
    movielens_protocol,
    run_protocol,
)
from personalization.recsys.evaluation import evaluate, stratified_split  # noqa: E402

#: (label, registry name, hyperparameters)
MODELS = [
    ("popular (trending, 30-day half-life)", "popular", {}),
    ("popular (all-time)", "popular", {"half_life_days": None}),
    ("item_knn", "item_knn", {}),
    ("ease", "ease", {}),
    ("svd", "svd", {"random_state": 0}),
    ("knn_baseline", "knn_baseline", {}),
    ("content", "content", {}),
    ("buy_again", "buy_again", {}),
    ("default", "default", {}),
]

#: Microsoft Recommenders README, "Algorithm Comparison" (MovieLens 100k, k = 10):
#: (MAP, nDCG@k, precision@k, recall@k).
PUBLISHED = {
    "ALS": (0.004732, 0.044239, 0.048462, 0.017796),
    "BiVAE": (0.146126, 0.475077, 0.411771, 0.219145),
    "BPR": (0.132478, 0.441997, 0.388229, 0.212522),
    "FastAI": (0.025503, 0.147866, 0.130329, 0.053824),
    "LightGCN": (0.088526, 0.419846, 0.379626, 0.144336),
    "NCF": (0.107720, 0.396118, 0.347296, 0.180775),
    "SAR": (0.110591, 0.382461, 0.330753, 0.176385),
    "SVD": (0.012873, 0.095930, 0.091198, 0.032783),
}

#: Surprise README, MovieLens 100k, default parameters, 5-fold CV: (RMSE, MAE).
SURPRISE_PUBLISHED = {"SVD": (0.934, 0.737)}


def ranking_table(protocol, default_params: dict) -> list[dict]:
    rows = []
    for label, name, params in MODELS:
        chosen = default_params if name == "default" else params
        for row in run_protocol(protocol, [(label, name, chosen)]):
            rows.append(row)
            print(
                f"  {label:38s} P@10 {row['precision']:.4f}  nDCG@10 {row['ndcg']:.4f}  "
                f"fit {row['fit_seconds']:.2f}s",
                flush=True,
            )
    return rows


def tune_ease(train: pd.DataFrame, grid: list[float], seeds: range = range(1, 11)) -> float:
    """EASE's penalty with the best mean nDCG@10 on per-item validation splits of ``train``."""
    print(
        "Tuning EASE's l2 on per-item validation splits of the training data "
        f"(seeds {seeds.start}-{seeds.stop - 1})"
    )
    splits = [stratified_split(train, 0.75, by="item", seed=seed) for seed in seeds]
    best, best_ndcg = grid[0], -1.0
    for l2 in grid:
        results = [
            evaluate(recsys.build("ease", l2=l2), as_interactions(fit, False), held, k=10)
            for fit, held in splits
        ]
        precision = np.mean([r.precision for r in results])
        ndcg = np.mean([r.ndcg for r in results])
        print(f"  l2 = {l2:7.1f}   validation P@10 {precision:.4f}  nDCG@10 {ndcg:.4f}")
        if ndcg > best_ndcg:
            best, best_ndcg = l2, ndcg
    print(f"  -> l2 = {best}")
    return best


def cross_validate(ratings: pd.DataFrame, folds: int = 5) -> list[tuple[str, float, float, float]]:
    """RMSE/MAE on the folds of Surprise's ``KFold(random_state=0)``: ours and Surprise's own.

    The folds are cut as ``KFold.split`` cuts them (a ``RandomState(0)`` shuffle of the row
    indexes, then consecutive slices), so both kinds of model get the same rows in the same
    order.
    """
    import surprise

    reader = surprise.Reader(rating_scale=(1, 5))
    data = surprise.Dataset.load_from_df(ratings[["user_id", "item_id", "rating"]], reader)
    indices = np.arange(len(ratings))
    np.random.RandomState(0).shuffle(indices)
    bounds = np.cumsum(
        [0] + [len(indices) // folds + (f < len(indices) % folds) for f in range(folds)]
    )
    splits = [
        (np.concatenate([indices[:start], indices[stop:]]), indices[start:stop])
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    contenders = [
        ("svd (ours)", lambda: recsys.build("svd", random_state=0, rating_scale=(1, 5))),
        ("knn_baseline (ours, item-based)", lambda: recsys.build("knn_baseline")),
        ("Surprise SVD(random_state=0)", lambda: surprise.SVD(random_state=0)),
        ("Surprise KNNBaseline() (user-based MSD)", lambda: surprise.KNNBaseline(verbose=False)),
        (
            "Surprise KNNBaseline(item-based pearson_baseline)",
            lambda: surprise.KNNBaseline(
                sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False
            ),
        ),
    ]
    rows = []
    for label, make in contenders:
        rmse, mae, started = [], [], time.perf_counter()
        for train_rows, test_rows in splits:
            model = make()
            train, test = ratings.iloc[train_rows], ratings.iloc[test_rows]
            truth = test["rating"].to_numpy(dtype=float)
            if isinstance(model, recsys.Recommender):
                model.fit(as_interactions(train, explicit=True))
                predicted = model.predict(test["user_id"].tolist(), test["item_id"].tolist())
            else:
                raw = [data.raw_ratings[i] for i in train_rows]
                model.fit(data.construct_trainset(raw))
                testset = data.construct_testset([data.raw_ratings[i] for i in test_rows])
                predicted = np.array([p.est for p in model.test(testset)])
            rmse.append(float(np.sqrt(np.mean((predicted - truth) ** 2))))
            mae.append(float(np.mean(np.abs(predicted - truth))))
        seconds = time.perf_counter() - started
        rows.append((label, float(np.mean(rmse)), float(np.mean(mae)), seconds))
        print(f"  {label:50s} RMSE {np.mean(rmse):.4f}  MAE {np.mean(mae):.4f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, required=True, help="folder containing u.data")
    parser.add_argument("--tune", action="store_true", help="pick EASE's l2 on validation")
    parser.add_argument("--no-cv", action="store_true", help="skip the Surprise 5-fold table")
    args = parser.parse_args()

    ratings, items = load_movielens(args.path)
    protocol = movielens_protocol(ratings, items)
    print(f"MovieLens 100k: {protocol.notes[0]}")

    default_params: dict = {}
    if args.tune:
        train = stratified_split(ratings, 0.75, by="item", seed=42)[0]
        l2 = tune_ease(train, [300.0, 400.0, 500.0, 600.0, 800.0, 1000.0])
        _, preset = recsys.PRESETS["default"]
        components = [list(c) for c in preset["components"]]
        components[0] = ["ease", {**components[0][1], "l2": l2}, components[0][2]]
        default_params = {"components": components}

    print("Ranking (Microsoft Recommenders protocol, k = 10)")
    rows = ranking_table(protocol, default_params)

    print()
    print("\n".join(markdown_table(rows)))
    for name, (map_, ndcg, precision, recall) in PUBLISHED.items():
        print(
            f"| {name} (published) | {precision:.4f} | {recall:.4f} | {ndcg:.4f} | {map_:.4f} "
            "| – | – | – | – |"
        )

    if not args.no_cv:
        print()
        print("Rating prediction (Surprise protocol: 5-fold CV, KFold(random_state=0))")
        cv_rows = cross_validate(ratings)
        print()
        print("| model | RMSE | MAE | seconds (5 folds) |")
        print("| --- | --- | --- | --- |")
        for label, rmse, mae, seconds in cv_rows:
            print(f"| {label} | {rmse:.4f} | {mae:.4f} | {seconds:.1f} |")
        for name, (rmse, mae) in SURPRISE_PUBLISHED.items():
            print(f"| {name} (Surprise README) | {rmse:.3f} | {mae:.3f} | – |")


if __name__ == "__main__":
    main()
