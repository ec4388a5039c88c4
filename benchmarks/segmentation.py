"""Segmentation at scale: RFM, feature building and K-Means on generated customers and orders.

Issue 5's target: RFM + feature building + K-Means on 100,000 customers with 1,000,000 orders in
under 20 s and 2 GB on the 2-core machine. The data are generated in memory (seeded): customers
with a spending level, a favourite category and a device habit; 1,000,000 orders of one to three
lines over two years; sessions and page views, product views, cart adds and dwell events. The
timed stages are the pipeline's own functions on those frames (no database): ``rfm``,
``build_features``, the cleaning pipeline (fitted on the 20,000-row sample, applied to all) and
``KMeansSegmenter`` (k from 4 to 10 by silhouette). Peak RSS covers the whole process, data
generation included.

Then, when ``benchmarks/segmentation_dynamic.py`` is present, its ``run()`` is called and its
figures printed (dynamic rule evaluation per event; target under 2 ms).

    .venv/bin/python benchmarks/segmentation.py
    .venv/bin/python benchmarks/segmentation.py --customers 10000 --orders 100000 --no-dynamic
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from personalization.segmentation.clustering import KMeansSegmenter  # noqa: E402
from personalization.segmentation.features import (  # noqa: E402
    CLUSTER_FEATURES,
    build_features,
    clean_features,
)
from personalization.segmentation.rfm import rfm  # noqa: E402

AS_OF = pd.Timestamp("2026-11-01", tz="UTC")
CATEGORIES = [f"category {n}" for n in range(14)]
DEVICES = np.array(["desktop", "mobile", "tablet"])


def generate(customers: int, orders: int, products: int, seed: int) -> dict[str, pd.DataFrame]:
    """Seeded frames shaped like the pipeline's inputs."""
    rng = np.random.default_rng(seed)
    product_ids = np.array([str(n) for n in range(products)])
    product_category = rng.integers(0, len(CATEGORIES), products)
    catalogue = pd.DataFrame(
        {
            "category": np.array(CATEGORIES)[product_category],
            "price": np.round(rng.lognormal(3.3, 0.8, products), 2),
            "on_sale": rng.random(products) < 0.15,
        },
        index=pd.Index(product_ids, name="product_id"),
    )
    by_category = [np.flatnonzero(product_category == c) for c in range(len(CATEGORIES))]

    people = np.arange(1, customers + 1)
    activity = rng.pareto(1.5, customers) + 0.2  # a few very active customers
    favourite = rng.integers(0, len(CATEGORIES), customers)
    mobile = rng.random(customers)

    def products_for(owner: np.ndarray) -> np.ndarray:
        """70% from the owner's favourite category, the rest anywhere."""
        chosen = rng.integers(0, products, len(owner))
        keep = rng.random(len(owner)) < 0.7
        for category in range(len(CATEGORIES)):
            rows = np.flatnonzero(keep & (favourite[owner - 1] == category))
            chosen[rows] = rng.choice(by_category[category], len(rows))
        return chosen

    span = 730 * 86400
    order_owner = rng.choice(people, orders, p=activity / activity.sum())
    order_time = AS_OF - pd.to_timedelta(rng.integers(0, span, orders), unit="s")
    lines_per_order = rng.choice([1, 2, 3], orders, p=[0.6, 0.3, 0.1])
    line_order = np.repeat(np.arange(orders), lines_per_order)
    line_product = products_for(order_owner[line_order])
    quantity = rng.choice([1, 2, 3], len(line_order), p=[0.8, 0.15, 0.05])
    order_lines = pd.DataFrame(
        {
            "person": order_owner[line_order],
            "order_id": line_order,
            "timestamp": order_time[line_order],
            "product_id": pd.Categorical.from_codes(line_product, product_ids),
            "quantity": quantity,
            "amount": catalogue["price"].to_numpy()[line_product] * quantity,
        }
    )

    session_count = orders
    session_owner = rng.choice(people, session_count, p=activity / activity.sum())
    started = AS_OF - pd.to_timedelta(rng.integers(0, 365 * 86400, session_count), unit="s")
    length = pd.to_timedelta(rng.exponential(400, session_count).astype(int), unit="s")
    device = np.where(rng.random(session_count) < mobile[session_owner - 1], DEVICES[1], DEVICES[0])
    sessions = pd.DataFrame(
        {
            "person": session_owner,
            "session_id": np.arange(session_count),
            "started_at": started,
            "ended_at": started + length,
            "device_type": device,
        }
    )

    # Events: per session one page view, two product views, a dwell event per product view and
    # a cart add in one session of four.
    per_session = np.array([1, 2, 2])
    names = np.repeat(np.array(["page_view", "product_view", "dwell"]), per_session)
    kinds = np.tile(names, session_count)
    rows = np.repeat(np.arange(session_count), len(names))
    carts = np.flatnonzero(rng.random(session_count) < 0.25)
    kinds = np.concatenate([kinds, np.full(len(carts), "add_to_cart")])
    rows = np.concatenate([rows, carts])
    owner = session_owner[rows]
    product = np.where(kinds == "page_view", -1, products_for(owner))
    # Categoricals, as a reader would build them: a few names and products, millions of rows.
    names_seen, name_codes = np.unique(kinds, return_inverse=True)
    events = pd.DataFrame(
        {
            "person": owner,
            "name": pd.Categorical.from_codes(name_codes, names_seen),
            "timestamp": started[rows],
            "product_id": pd.Categorical.from_codes(product, product_ids),
            "session_id": rows,
            "seconds": np.where(kinds == "dwell", rng.exponential(30, len(kinds)), np.nan),
        }
    )
    return {
        "events": events,
        "sessions": sessions,
        "order_lines": order_lines,
        "products": catalogue,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-dynamic", action="store_true", help="Skip benchmarks/segmentation_dynamic.py."
    )
    args = parser.parse_args()

    # The pipeline's default (SEGMENTATION_THREADS=1): one thread for the numeric libraries.
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    data = generate(args.customers, args.orders, args.products, args.seed)
    generated = time.perf_counter() - started
    print(
        f"generated {args.customers:,} customers, {args.orders:,} orders "
        f"({len(data['order_lines']):,} lines), {len(data['sessions']):,} sessions, "
        f"{len(data['events']):,} events in {generated:.1f} s"
    )

    # Wall and CPU seconds per stage: on a shared machine the CPU time shows the work itself.
    times: dict[str, tuple[float, float]] = {}

    def timed(stage: str, work):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        times[stage] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    with threadpool_limits(limits=1):
        orders = data["order_lines"].rename(columns={"person": "customer_id"})
        scores = timed("rfm", lambda: rfm(orders, as_of=AS_OF))
        table = timed(
            "features",
            lambda: build_features(
                data["events"], data["sessions"], data["order_lines"], data["products"], as_of=AS_OF
            ),
        )
        clustered = timed("cleaning", lambda: clean_features(table, CLUSTER_FEATURES))
        kmeans = timed(
            "kmeans", lambda: KMeansSegmenter(k_range=(4, 10), random_state=0).fit(clustered)
        )

    print(f"  {'stage':<10} {'wall':>8} {'CPU':>8}")
    for stage, (wall, cpu) in times.items():
        print(f"  {stage:<10} {wall:7.2f}s {cpu:7.2f}s")
    target = ("rfm", "features", "kmeans")
    print(
        f"  RFM + features + K-Means: {sum(times[s][0] for s in target):.2f} s wall, "
        f"{sum(times[s][1] for s in target):.2f} s CPU (target: under 20 s); with the cleaning "
        f"{sum(wall for wall, _ in times.values()):.2f} s wall"
    )
    print(f"peak RSS {peak_rss_mb():,.0f} MB (target: under 2,048 MB)")
    print(
        f"{len(scores):,} customers scored, {len(table):,} profiles, k={kmeans.k_} "
        f"(silhouette {kmeans.silhouette_[kmeans.k_]:.3f}), "
        f"cluster sizes {sorted(np.bincount(kmeans.labels_).tolist(), reverse=True)}"
    )

    dynamic_path = REPO_ROOT / "benchmarks" / "segmentation_dynamic.py"
    if not args.no_dynamic and dynamic_path.exists():
        spec = importlib.util.spec_from_file_location("segmentation_dynamic", dynamic_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print("\ndynamic rule segments (benchmarks/segmentation_dynamic.py):")
        print(json.dumps(module.run(), indent=2, default=str))


if __name__ == "__main__":
    main()
