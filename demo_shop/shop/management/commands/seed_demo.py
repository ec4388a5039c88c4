"""Fill the demo shop with a generated catalog, customers and a year of their behaviour."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo_shop.shop.models import Product
from demo_shop.shop.seeding import write
from demo_shop.shop.seeding.catalog import CATEGORIES
from demo_shop.shop.seeding.generate import DEFAULT_END, Dataset, SeedConfig, generate


def _end_date(value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--end-date must be YYYY-MM-DD, not {value!r}") from exc
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _product_count(value: str) -> int:
    number = int(value)
    if number < len(CATEGORIES):
        raise argparse.ArgumentTypeError(f"at least {len(CATEGORIES)}, one per category")
    return number


class Command(BaseCommand):
    help = (
        "Generate a deterministic demo store: categories, products, customers with personas, and "
        "their sessions, events, carts, wishlists, orders and reviews over the last months."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--products", type=_product_count, default=1200)
        parser.add_argument("--customers", type=_positive, default=2000)
        parser.add_argument("--months", type=_positive, default=12, help="Months of history.")
        parser.add_argument(
            "--end-date",
            default=DEFAULT_END.date().isoformat(),
            help="Day (UTC midnight) the simulated history ends (default %(default)s).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if the shop already has products.",
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="First delete the shop's data and all tracked visitors, sessions and events.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if options["if_empty"] and Product.objects.exists():
            self.stdout.write("The shop already has products; nothing to do (--if-empty).")
            return
        if not options["flush"] and Product.objects.exists():
            raise CommandError(
                "The shop already has products. Use --flush to replace them or --if-empty to skip."
            )
        config = SeedConfig(
            seed=options["seed"],
            products=options["products"],
            customers=options["customers"],
            months=options["months"],
            end=_end_date(options["end_date"]),
        )
        data = generate(config)
        generated = time.perf_counter()
        with write.bulk_load():
            if options["flush"]:
                deleted = write.flush()
                self.stdout.write(f"Deleted {sum(deleted.values())} rows of earlier data.")
            write.write(data)
        self._summary(data, generated - started, time.perf_counter() - started)

    def _summary(self, data: Dataset, generation: float, elapsed: float) -> None:
        counts = data.summary()
        config = data.config
        out = self.stdout.write
        out(
            f"Seeded the demo shop (seed {config.seed}, {config.months} months "
            f"{config.start:%Y-%m-%d} – {config.end:%Y-%m-%d}):"
        )
        for key in ("categories", "products", "customers"):
            out(f"  {key:<22}{counts[key]:>9,}")
        for persona, number in counts["customers_by_persona"].items():
            out(f"    {persona:<20}{number:>9,}")
        out(f"    {'near-duplicates':<20}{counts['near_duplicate_customers']:>9,}")
        for key in ("visitors", "anonymous_visitors", "sessions", "events"):
            out(f"  {key.replace('_', ' '):<22}{counts[key]:>9,}")
        for name, number in counts["events_by_name"].items():
            out(f"    {name:<20}{number:>9,}")
        for key in ("orders", "order_lines", "reviews", "wishlist_items", "carts"):
            out(f"  {key.replace('_', ' '):<22}{counts[key]:>9,}")
        for status, number in counts["carts_by_status"].items():
            out(f"    {status:<20}{number:>9,}")
        if data.duplicates:
            pairs = ", ".join(f"{a} ~ {b}" for a, b in data.duplicates)
            out(f"  Near-duplicate customers (the same person twice): {pairs}")
        out(
            self.style.SUCCESS(
                f"Done in {elapsed:.1f} s ({generation:.1f} s generating, "
                f"{elapsed - generation:.1f} s writing)."
            )
        )
