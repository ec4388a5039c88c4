"""Dynamic rule segments: evaluation time per event, and what they add to the event flush.

Two figures (issue 5's target: under 2 ms per event for the rule evaluation):

* **rules per event**: building one person's rule context from their recent events (those of
  the names the rules count, as the receiver loads them) and evaluating every active dynamic
  built-in segment against it (``high-intent-shoppers``, ``bargain-hunters``,
  ``window-shoppers``, ``new-visitors``), in memory, as done for each person of a stored batch;
  reported per context (an upper bound per event, since a batch evaluates each person once
  however many of their events it holds).
* **flush**: ``write_events`` of batches of generated events with the ``events_stored`` receiver
  connected and disconnected, alternating, on top of a history of recent events per visitor:
  microseconds per event of this process's CPU time and of wall time (which adds the waits for
  the database and, on a busy machine, for other processes), with and without the receiver, and
  the receiver's own share (its queries included): by default the incremental receiver of
  ``segments/incremental.py`` (``evaluate_batch``: cached per-visitor rule states, the batch's
  events appended), with ``--receiver full`` the full re-evaluation of ``live.evaluate_people``
  (every person's recent history read again for each batch).

Called alone it sets Django up with the benchmark settings and a fresh SQLite file (or
``DATABASE_URL``'s database, whose tables must exist: ``manage.py migrate`` first)::

    .venv/bin/python benchmarks/segmentation_dynamic.py
    .venv/bin/python benchmarks/segmentation_dynamic.py --visitors 2000 --history 60 --batches 20
    .venv/bin/python benchmarks/segmentation_dynamic.py --receiver full

``benchmarks/segmentation.py`` calls :func:`run` and prints the same dictionary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_MODULE = "benchmarks.bench_settings"
RECEIVER = "personalization.segments.live"
# What the tracker and the middleware send on a shop: every product page is a view, a dwell time
# and a scroll depth; the cart and purchases are a small share.
EVENT_MIX = [
    ("page_view", 0.2),
    ("product_view", 0.25),
    ("dwell", 0.15),
    ("scroll_depth", 0.15),
    ("image_view", 0.06),
    ("search", 0.05),
    ("add_to_cart", 0.08),
    ("remove_from_cart", 0.02),
    ("wishlist_add", 0.01),
    ("checkout_start", 0.02),
    ("purchase", 0.01),
]


def _setup_django() -> None:
    """Django with the benchmark settings on a fresh SQLite file, unless already set up."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = os.path.join(
            tempfile.mkdtemp(prefix="p13n-segbench-"), "db.sqlite3"
        )
    django.setup()
    if not os.environ.get("DATABASE_URL"):
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def _catalogue(products: int, rng: random.Random) -> list[str]:
    from demo_shop.shop.models import Category, Product

    category, _ = Category.objects.get_or_create(slug="segbench", defaults={"name": "Segbench"})
    tag = uuid.uuid4().hex[:8]
    rows = []
    for n in range(products):
        price = round(rng.lognormvariate(3.5, 0.8), 2)
        on_sale = rng.random() < 0.15
        rows.append(
            Product(
                category=category,
                name=f"Bench {tag} {n}",
                slug=f"bench-{tag}-{n}",
                sku=f"B{tag}{n:06d}",
                price=price,
                compare_at_price=round(price * 1.3, 2) if on_sale else None,
                stock=10,
            )
        )
    Product.objects.bulk_create(rows, batch_size=1000)
    return [str(pk) for pk in category.products.values_list("pk", flat=True)]


def _events(
    vids: list[str],
    sessions: dict[str, str],
    products: list[str],
    count: int,
    rng: random.Random,
    start: dt.datetime,
    span: dt.timedelta,
) -> list[dict[str, Any]]:
    from personalization.tracking.events import make_event
    from personalization.tracking.names import PRODUCT_EVENTS

    names = [name for name, _ in EVENT_MIX]
    weights = [weight for _, weight in EVENT_MIX]
    events = []
    for _ in range(count):
        vid = rng.choice(vids)
        name = rng.choices(names, weights)[0]
        at = start + span * rng.random()
        events.append(
            make_event(
                name,
                source="server",
                vid=vid,
                session_id=sessions[vid],
                product_id=rng.choice(products) if name in PRODUCT_EVENTS else "",
                path="/sale/" if name == "page_view" and rng.random() < 0.05 else "/",
                received_at=at,
            )
        )
    return events


def run(
    *,
    visitors: int = 1000,
    history: int = 40,
    products: int = 1000,
    batches: int = 10,
    batch_size: int = 500,
    active: int = 100,
    seed: int = 7,
    receiver: str = "incremental",
) -> dict[str, Any]:
    """Measure the dynamic segments (see the module docstring); returns the figures."""
    _setup_django()
    from django.db import connection

    from personalization.models.tracking import Event, new_visitor_id
    from personalization.segments import incremental, live
    from personalization.tracking.signals import events_stored
    from personalization.tracking.writer import write_events

    if receiver not in ("incremental", "full"):
        raise ValueError(f"receiver must be 'incremental' or 'full', not {receiver!r}")
    on_stored = incremental.on_events_stored if receiver == "incremental" else live.on_events_stored
    rng = random.Random(seed)
    product_ids = _catalogue(products, rng)
    live._forget_products(setting="PERSONALIZATION")
    vids = [new_visitor_id() for _ in range(visitors)]
    sessions = {vid: str(uuid.uuid4()) for vid in vids}
    now = dt.datetime.now(dt.UTC)
    # The history: `history` events per visitor over the last 30 days, written without the hook.
    # The receiver is disconnected rather than switched off in the settings: a settings change
    # drops the cached catalogue, which a running process keeps.
    events_stored.disconnect(sender=Event, dispatch_uid=RECEIVER)
    try:
        past = _events(
            vids, sessions, product_ids, visitors * history, rng,
            now - dt.timedelta(days=30), dt.timedelta(days=30) - dt.timedelta(minutes=5),
        )  # fmt: skip
        for start in range(0, len(past), 5000):
            write_events(past[start : start + 5000])
        # A worker holds no such history in memory: every full garbage collection would scan it.
        del past
    finally:
        events_stored.connect(on_stored, sender=Event, dispatch_uid=RECEIVER)
    # Fresh planner statistics, as autovacuum keeps them on a live site.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # Rules per event: contexts of real people, evaluated in memory.
    from personalization.models import Visitor

    people = [
        ("visitor", pk)
        for pk in Visitor.objects.filter(vid__in=rng.sample(vids, min(200, visitors)))
        .order_by("pk")
        .values_list("pk", flat=True)
    ]
    segments = live.rule_segments("dynamic")
    # Loaded as evaluate_people() loads them: only the events the rules count.
    loaded = live._load(
        people,
        now,
        max(s.lookback for s in segments),
        any(s.reads_properties for s in segments),
        frozenset().union(*(s.event_names for s in segments)),
    )
    products_table = live.product_attributes()
    timings = []
    for person in people:
        started = time.perf_counter()
        context = live._context(loaded[person], now, products_table)
        for segment in segments:
            segment.predicate(context)
        timings.append(time.perf_counter() - started)
    events_per_context = statistics.mean(len(loaded[p].events) for p in people)

    # The flush, with and without the receiver, alternating. A batch holds the events of the
    # visitors active in the last seconds: `active` of them.
    # Wall time includes waiting for the database (and for other processes on a busy machine);
    # CPU time is this process's alone.
    active_vids = rng.sample(vids, min(active, visitors))
    spent = {"wall": 0.0, "cpu": 0.0}
    owner, attribute = (
        (incremental, "evaluate_batch") if receiver == "incremental" else (live, "evaluate_people")
    )
    original = getattr(owner, attribute)

    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent["wall"] += time.perf_counter() - wall
            spent["cpu"] += time.process_time() - cpu

    setattr(owner, attribute, timed)
    flush: dict[tuple[str, str], list[float]] = {
        (mode, clock): [] for mode in ("off", "on") for clock in ("wall", "cpu")
    }
    evaluate: dict[str, list[float]] = {"wall": [], "cpu": []}
    try:
        for index in range(batches * 2):
            mode = ("off", "on")[(index + index // 2) % 2]  # off on on off off on ...
            batch = _events(
                active_vids, sessions, product_ids, batch_size, rng,
                dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), dt.timedelta(seconds=50),
            )  # fmt: skip
            if mode == "off":
                events_stored.disconnect(sender=Event, dispatch_uid=RECEIVER)
            try:
                spent.update(wall=0.0, cpu=0.0)
                wall, cpu = time.perf_counter(), time.process_time()
                write_events(batch)  # its own transaction: the receiver runs at its commit
                flush[mode, "wall"].append((time.perf_counter() - wall) / batch_size)
                flush[mode, "cpu"].append((time.process_time() - cpu) / batch_size)
                if mode == "on":
                    evaluate["wall"].append(spent["wall"] / batch_size)
                    evaluate["cpu"].append(spent["cpu"] / batch_size)
            finally:
                events_stored.connect(on_stored, sender=Event, dispatch_uid=RECEIVER)
    finally:
        setattr(owner, attribute, original)

    def us(values: list[float]) -> float:
        return round(statistics.median(values) * 1e6, 1)

    return {
        "receiver": receiver,
        "visitors": visitors,
        "history_events_per_visitor": history,
        "events_per_context": round(events_per_context, 1),
        "dynamic_segments": len(segments),
        "rules_ms_per_context_median": round(statistics.median(timings) * 1e3, 3),
        "rules_ms_per_context_p90": round(statistics.quantiles(timings, n=10)[-1] * 1e3, 3),
        "batch_size": batch_size,
        "people_per_batch": min(active, visitors),
        "flush_cpu_us_per_event_without": us(flush["off", "cpu"]),
        "flush_cpu_us_per_event_with": us(flush["on", "cpu"]),
        "receiver_cpu_us_per_event": us(evaluate["cpu"]),
        "flush_wall_us_per_event_without": us(flush["off", "wall"]),
        "flush_wall_us_per_event_with": us(flush["on", "wall"]),
        "receiver_wall_us_per_event": us(evaluate["wall"]),
        "database": _database_vendor(),
    }


def _database_vendor() -> str:
    from django.db import connection

    return connection.vendor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--history", type=int, default=40, help="recent events per visitor")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10, help="timed batches of each mode")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--active", type=int, default=100, help="visitors whose events make up the batches"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--receiver",
        choices=("incremental", "full"),
        default="incremental",
        help="the events_stored receiver measured: the incremental one (the app's) or the full "
        "re-evaluation",
    )
    args = parser.parse_args()
    figures = run(
        visitors=args.visitors,
        history=args.history,
        products=args.products,
        batches=args.batches,
        batch_size=args.batch_size,
        active=args.active,
        seed=args.seed,
        receiver=args.receiver,
    )
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
