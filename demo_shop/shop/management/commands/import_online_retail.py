"""``manage.py import_online_retail PATH``: the UCI Online Retail data as the shop's history.

Products come from stock codes (``sku``), customers become users ``retail-<CustomerID>`` with
unusable passwords and a :class:`~demo_shop.shop.models.CustomerProfile`, invoices become orders
``UCI-<InvoiceNo>`` in GBP. What is skipped and how values are mapped is described in
:mod:`personalization.recsys.online_retail`.

The import is idempotent: products are matched by sku, users by username and orders by number,
and what exists is neither changed nor duplicated, so a second run creates nothing. An existing
order is never completed either, which is why ``--limit`` reads whole invoices. Everything is
written in one transaction with bulk inserts; existing keys are fetched once beforehand.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice
from typing import Any

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Model
from django.utils.text import slugify

from demo_shop.shop.models import Category, CustomerProfile, Order, OrderLine, Product
from personalization.recsys.online_retail import (
    CATEGORY_COLOURS,
    SKIP_REASONS,
    RetailData,
    RetailFormatError,
    parse_online_retail,
    unique_slug,
)

ORDER_PREFIX = "UCI-"
USERNAME_PREFIX = "retail-"
CURRENCY = "GBP"
#: Imported articles are all in stock so that the demo can sell them.
PRODUCT_STOCK = 100
BATCH_SIZE = 2000


class Command(BaseCommand):
    help = (
        "Import the UCI Online Retail CSV (plain or gzip) as products, customers and orders; "
        "cancellations, returns, anonymous rows and non-product codes are skipped and counted. "
        "Running it again creates nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="online_retail.csv or online_retail.csv.gz")
        parser.add_argument(
            "--limit",
            type=int,
            metavar="N",
            help="read only the first N rows (and the rest of the invoice the limit cuts)",
        )
        parser.add_argument(
            "--encoding", default="utf-8", help="text encoding of the file (default utf-8)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number of rows")
        try:
            data = parse_online_retail(options["path"], limit=limit, encoding=options["encoding"])
        except RetailFormatError as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            created = _write(data)
        self._report(options["path"], data, created, time.monotonic() - started)

    def _report(self, path: str, data: RetailData, created: dict[str, int], seconds: float) -> None:
        rows = [("rows read", data.rows_read), ("rows imported", data.rows_imported)]
        rows += [(f"skipped ({reason})", data.skipped[reason]) for reason in SKIP_REASONS]
        rows += [(f"{what} created", count) for what, count in created.items()]
        rows.append(("orders already present", len(data.orders) - created["orders"]))
        self.stdout.write(f"Online Retail import of {path}")
        for label, value in rows:
            self.stdout.write(f"  {label:<32}{value:>12,}")
        self.stdout.write(f"  {'time':<32}{seconds:>10.1f} s")
        if not any(created.values()):
            self.stdout.write("0 created: everything in the file was already imported.")


def _write(data: RetailData) -> dict[str, int]:
    created = {"categories": 0, "products": 0, "customers": 0, "orders": 0, "order lines": 0}
    created["categories"], category_ids = _categories(data.products["category"].unique())
    created["products"], product_ids = _products(data.products, category_ids)
    created["customers"], user_ids = _customers(data.customers)
    created["orders"], created["order lines"] = _orders(data, product_ids, user_ids)
    return created


def _bulk_create(model: type[Model], objects: Iterable[Model]) -> None:
    """Insert in batches, never holding more than one batch of instances in memory."""
    iterator = iter(objects)
    while batch := list(islice(iterator, BATCH_SIZE)):
        model._default_manager.bulk_create(batch)


def _money(pence: int, cache: dict[int, Decimal]) -> Decimal:
    # The same amounts recur thousands of times; Decimals are immutable, so share them.
    value = cache.get(pence)
    if value is None:
        value = cache[pence] = Decimal(int(pence)).scaleb(-2)
    return value


def _categories(names: Iterable[str]) -> tuple[int, dict[str, int]]:
    """Ids of the named categories, created when missing (also matched by slug)."""
    ids, created = {}, 0
    for name in sorted(names):
        slug = slugify(name)
        category = (
            Category.objects.filter(name=name).first() or Category.objects.filter(slug=slug).first()
        )
        if category is None:
            category = Category.objects.create(name=name, slug=slug, colour=CATEGORY_COLOURS[name])
            created += 1
        ids[name] = category.pk
    return created, ids


def _products(products: pd.DataFrame, category_ids: dict[str, int]) -> tuple[int, dict[str, int]]:
    existing = set(Product.objects.values_list("sku", flat=True))
    new = products[~products.index.isin(existing)]
    taken = set(Product.objects.values_list("slug", flat=True))
    prices: dict[int, Decimal] = {}
    slug_length = Product._meta.get_field("slug").max_length
    name_length = Product._meta.get_field("name").max_length
    _bulk_create(
        Product,
        (
            Product(
                sku=sku,
                name=name[:name_length],
                slug=unique_slug(slugify(name), slugify(sku), taken, slug_length),
                category_id=category_ids[category],
                price=_money(price, prices),
                stock=PRODUCT_STOCK,
            )
            for sku, name, category, price in zip(
                new.index, new["name"], new["category"], new["price_pence"], strict=True
            )
        ),
    )
    return len(new), dict(Product.objects.values_list("sku", "pk"))


def _customers(customers: pd.DataFrame) -> tuple[int, dict[str, int]]:
    """Users ``retail-<id>`` with profiles; returns the count created and ids by external id."""
    user_model = get_user_model()
    retail_users = user_model.objects.filter(username__startswith=USERNAME_PREFIX)
    existing = set(retail_users.values_list("username", flat=True))
    usernames = USERNAME_PREFIX + customers.index.to_series()
    new = customers[~usernames.isin(existing).to_numpy()]
    _bulk_create(
        user_model,
        (
            user_model(
                username=USERNAME_PREFIX + external_id,
                password=make_password(None),
                date_joined=joined.to_pydatetime(),
            )
            for external_id, joined in zip(new.index, new["first_order_at"], strict=True)
        ),
    )
    user_ids = {
        username.removeprefix(USERNAME_PREFIX): pk
        for username, pk in retail_users.values_list("username", "pk")
    }
    with_profile = set(
        CustomerProfile.objects.filter(user__username__startswith=USERNAME_PREFIX).values_list(
            "user_id", flat=True
        )
    )
    country_length = CustomerProfile._meta.get_field("country").max_length
    _bulk_create(
        CustomerProfile,
        (
            CustomerProfile(
                user_id=user_ids[external_id],
                external_id=external_id,
                country=country[:country_length],
            )
            for external_id, country in zip(customers.index, customers["country"], strict=True)
            if user_ids[external_id] not in with_profile
        ),
    )
    return len(new), user_ids


def _orders(
    data: RetailData, product_ids: dict[str, int], user_ids: dict[str, int]
) -> tuple[int, int]:
    """Orders not yet present, with their lines; returns how many of each were created."""
    imported = Order.objects.filter(number__startswith=ORDER_PREFIX)
    existing = set(imported.values_list("number", flat=True))
    numbers = ORDER_PREFIX + data.orders.index.to_series()
    new = data.orders[~numbers.isin(existing).to_numpy()]
    amounts: dict[int, Decimal] = {}
    country_length = Order._meta.get_field("shipping_country").max_length
    _bulk_create(
        Order,
        (
            Order(
                number=ORDER_PREFIX + invoice,
                user_id=user_ids[customer],
                created_at=created_at.to_pydatetime(),
                currency=CURRENCY,
                total=_money(total, amounts),
                shipping_country=country[:country_length],
            )
            for invoice, customer, created_at, total, country in zip(
                new.index,
                new["customer"],
                new["created_at"],
                new["total_pence"],
                new["country"],
                strict=True,
            )
        ),
    )
    order_ids = {
        number.removeprefix(ORDER_PREFIX): pk for number, pk in imported.values_list("number", "pk")
    }
    lines = data.lines[data.lines["invoice"].isin(new.index)]
    _bulk_create(
        OrderLine,
        (
            OrderLine(
                order_id=order_ids[invoice],
                product_id=product_ids[sku],
                quantity=int(quantity),
                unit_price=_money(unit_price, amounts),
                line_total=_money(line_total, amounts),
            )
            for invoice, sku, quantity, unit_price, line_total in zip(
                lines["invoice"].tolist(),
                lines["sku"].tolist(),
                lines["quantity"].tolist(),
                lines["unit_price_pence"].tolist(),
                lines["line_total_pence"].tolist(),
                strict=True,
            )
        ),
    )
    return len(new), len(lines)
