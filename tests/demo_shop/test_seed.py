"""The demo data generator: sizes, consistency, determinism and the signal its personas carry."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Sum

from demo_shop.shop.models import (
    Cart,
    Category,
    CustomerProfile,
    Order,
    OrderLine,
    Product,
    Review,
    WishlistItem,
)
from demo_shop.shop.seeding.catalog import CATEGORIES
from demo_shop.shop.seeding.generate import SeedConfig, generate
from demo_shop.shop.seeding.personas import PERSONA_NAMES
from personalization.models import Event, Session, Visitor
from personalization.tracking.names import EVENT_NAMES, PRODUCT_EVENTS

pytestmark = pytest.mark.django_db

SMALL = ("--products", "60", "--customers", "40", "--months", "2")
END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def digest() -> str:
    """A fingerprint of the rows that must come out the same from the same seed."""
    h = hashlib.sha256()
    parts = [
        Product.objects.order_by("pk").values_list("pk", "name", "slug", "price", "stock"),
        get_user_model()
        .objects.filter(customer__isnull=False)
        .order_by("pk")
        .values_list("pk", "username", "email", "password", "customer__persona"),
        Order.objects.order_by("pk").values_list("number", "user_id", "total", "created_at"),
        Session.objects.order_by("started_at", "id").values_list("id", "visitor__vid"),
        Event.objects.order_by("pk").values_list(
            "event_id", "name", "product_id", "occurred_at", "properties", "session_id"
        ),
        Review.objects.order_by("pk").values_list("product_id", "user_id", "rating"),
        Cart.objects.order_by("pk").values_list("session_key", "status", "updated_at"),
    ]
    for rows in parts:
        for row in rows:
            h.update(repr(row).encode())
    return h.hexdigest()


def national_number(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "0" + digits[2:] if digits.startswith("44") else digits


def test_sizes_follow_the_options():
    out = seed(*SMALL)
    assert Product.objects.count() == 60
    assert Category.objects.count() == len(CATEGORIES) >= 12
    assert Product.objects.values("category").distinct().count() >= 12
    profiles = CustomerProfile.objects.all()
    assert profiles.count() == 40
    assert set(profiles.values_list("persona", flat=True)) == set(PERSONA_NAMES)
    assert Session.objects.exists() and Order.objects.exists()
    assert Visitor.objects.filter(user=None).count() == 12  # 30% of 40 never log in
    assert "products" in out and "Done in" in out


def test_catalog_is_complete_and_unique():
    seed(*SMALL)
    products = list(Product.objects.all())
    assert len({p.slug for p in products}) == len({p.sku for p in products}) == 60
    for product in products:
        assert product.name and product.brand and product.tags
        assert product.description.count(". ") >= 2
        assert 1 <= product.image_count <= 4
        assert product.price > 0
        if product.compare_at_price is not None:
            assert product.compare_at_price > product.price
    assert Category.objects.exclude(colour__regex=r"^#[0-9a-f]{6}$").count() == 0


def test_customers_can_log_in_with_the_demo_password():
    seed(*SMALL)
    user = get_user_model().objects.get(username="customer0001")
    assert user.check_password("demo-password")
    assert user.customer.postcode and user.customer.phone and user.email
    # One hash for everyone: hashing thousands of times would take longer than the rest.
    passwords = get_user_model().objects.values_list("password", flat=True).distinct()
    assert passwords.count() == 1


def test_orders_agree_with_their_lines_and_purchase_events():
    seed(*SMALL)
    for order in Order.objects.annotate(lines_total=Sum("lines__line_total")):
        assert order.total == order.lines_total
        assert order.number.startswith("D") and len(order.number) == 7
    for line in OrderLine.objects.all():
        assert line.line_total == line.unit_price * line.quantity
    purchases = {
        e.properties["order_id"]: e for e in Event.objects.filter(name="purchase", source="seed")
    }
    orders = {o.number: o for o in Order.objects.all()}
    assert purchases.keys() == orders.keys()
    for number, event in purchases.items():
        order = orders[number]
        assert event.occurred_at == order.created_at
        assert event.user_id == order.user_id
        assert Decimal(event.properties["revenue"]) == order.total
    numbers = list(Order.objects.order_by("created_at", "pk").values_list("number", flat=True))
    assert numbers == sorted(numbers)


def test_events_sessions_and_visitors_are_consistent():
    seed(*SMALL)
    start = SeedConfig(months=2).start
    events = Event.objects.all()
    assert set(events.values_list("name", flat=True)) <= set(EVENT_NAMES)
    assert events.exclude(source="seed").count() == 0
    bounds = events.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert start <= bounds["first"] and bounds["last"] < END
    product_ids = {str(pk) for pk in Product.objects.values_list("pk", flat=True)}
    for name, product_id, path in events.values_list("name", "product_id", "path"):
        if name in PRODUCT_EVENTS:
            assert product_id in product_ids
            assert path.startswith("/products/") or path == "/cart/"
    counts = dict(events.values_list("session").annotate(n=Count("id")))
    for session in Session.objects.select_related("visitor"):
        assert session.event_count == counts[session.pk]
        assert session.started_at <= session.ended_at
        assert session.visitor.first_seen <= session.started_at
        assert session.ended_at <= session.visitor.last_seen
        if session.user_id is not None:
            assert session.visitor.user_id == session.user_id
    for dwell in events.filter(name="dwell").values_list("properties", flat=True):
        assert dwell["seconds"] > 0
    for scroll in events.filter(name="scroll_depth").values_list("properties", flat=True):
        assert 0 < scroll["percent"] <= 100
    # Search queries are sensitive: stored encrypted, as the event writer stores them.
    searches = list(events.filter(name="search"))
    assert searches
    for search in searches:
        assert "query" not in search.properties and search.sensitive["query"]


def test_carts_wishlists_and_reviews():
    seed("--products", "60", "--customers", "80", "--months", "3")
    statuses = Counter(Cart.objects.values_list("status", flat=True))
    assert statuses["ordered"] == Order.objects.count()
    assert statuses["abandoned"] > 0
    assert all(cart.items.exists() for cart in Cart.objects.all())
    # At most one open cart per owner, and only recent ones stay open.
    open_carts = Cart.objects.filter(status=Cart.OPEN).exclude(user=None)
    assert open_carts.values("user").distinct().count() == open_carts.count()
    assert WishlistItem.objects.exists()
    reviewed = set(Review.objects.values_list("user_id", "product_id"))
    bought = set(OrderLine.objects.values_list("order__user_id", "product_id"))
    assert reviewed and reviewed <= bought
    assert set(Review.objects.values_list("rating", flat=True)) <= {1, 2, 3, 4, 5}


def test_same_seed_same_rows_and_another_seed_other_rows():
    seed(*SMALL)
    first = digest()
    seed(*SMALL, "--flush")
    assert digest() == first
    seed(*SMALL, "--flush", "--seed", "7")
    assert digest() != first


def test_end_date_anchors_the_history():
    seed(*SMALL, "--end-date", "2025-03-01")
    last = Event.objects.aggregate(last=Max("occurred_at"))["last"]
    assert dt.datetime(2025, 1, 1, tzinfo=dt.UTC) <= last < dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def test_if_empty_leaves_an_existing_shop_alone():
    seed(*SMALL)
    before = digest()
    out = seed("--if-empty", "--seed", "7", "--products", "30")
    assert "nothing to do" in out
    assert digest() == before


def test_refuses_to_seed_over_existing_data_without_flush():
    seed(*SMALL)
    with pytest.raises(CommandError, match="--flush"):
        seed(*SMALL)


def test_flush_keeps_staff_accounts_and_replaces_the_rest():
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    seed(*SMALL)
    seed("--products", "40", "--customers", "20", "--months", "1", "--flush")
    assert get_user_model().objects.filter(pk=admin.pk).exists()
    assert Product.objects.count() == 40
    assert CustomerProfile.objects.count() == 20
    assert not Event.objects.filter(session__isnull=True).exists()


def test_near_duplicate_customers_are_the_same_person_spelled_differently():
    data = generate(SeedConfig(products=40, customers=200, months=1))
    pairs = [
        (data.customers[c.duplicate_of], c) for c in data.customers if c.duplicate_of is not None
    ]
    assert len(pairs) == 2
    for original, twin in pairs:
        a, b = original.person, twin.person
        assert original.persona == twin.persona
        assert a.email != b.email
        assert a.birth_year == b.birth_year and a.city == b.city
        differences = sum(
            getattr(a, f) != getattr(b, f)
            for f in ("first_name", "last_name", "phone", "address", "postcode")
        )
        assert 2 <= differences <= 3
        assert a.postcode.replace(" ", "").upper() == b.postcode.replace(" ", "").upper()
        assert national_number(a.phone) == national_number(b.phone)


def test_personas_leave_a_trace_segmentation_and_recommendation_can_find():
    seed("--products", "300", "--customers", "300", "--months", "6")
    persona = dict(CustomerProfile.objects.values_list("user_id", "persona"))
    products = {
        p["pk"]: p for p in Product.objects.values("pk", "price", "compare_at_price", "category")
    }
    prices: defaultdict[str, list[Decimal]] = defaultdict(list)
    on_sale: defaultdict[str, list[bool]] = defaultdict(list)
    categories: defaultdict[int, Counter] = defaultdict(Counter)
    baskets: defaultdict[int, list[int]] = defaultdict(list)
    for order, user, product, price in OrderLine.objects.values_list(
        "order", "order__user", "product", "unit_price"
    ):
        prices[persona[user]].append(price)
        on_sale[persona[user]].append(products[product]["compare_at_price"] is not None)
        categories[user][products[product]["category"]] += 1
        baskets[order].append(product)

    def mean(values: list) -> float:
        return sum(values) / len(values)

    assert mean(prices["bargain_hunter"]) < mean(prices["loyal_big_spender"])
    assert mean(on_sale["bargain_hunter"]) > 2 * mean(on_sale["loyal_big_spender"])

    customers = Counter(persona.values())
    views = Counter(
        persona[u]
        for u in Event.objects.filter(name="product_view", user__isnull=False).values_list(
            "user", flat=True
        )
    )
    orders = Counter(persona[u] for u in Order.objects.values_list("user", flat=True))

    def per_customer(counter: Counter, name: str) -> float:
        return counter[name] / customers[name]

    assert per_customer(views, "window_shopper") > 2 * per_customer(views, "occasional")
    assert per_customer(orders, "window_shopper") < per_customer(orders, "occasional")
    assert per_customer(orders, "loyal_big_spender") > 3 * per_customer(orders, "occasional")

    fans = [c for u, c in categories.items() if persona[u] == "category_fan"]
    top_share = [max(c.values()) / sum(c.values()) for c in fans]
    assert mean(top_share) >= 0.7

    # Products bought together share a category far more often than random pairs would.
    same = total = 0
    for basket in baskets.values():
        for a, b in itertools.combinations(basket, 2):
            total += 1
            same += products[a]["category"] == products[b]["category"]
    share = Counter(products[p]["category"] for basket in baskets.values() for p in basket)
    chance = sum((n / sum(share.values())) ** 2 for n in share.values())
    assert total > 20
    assert same / total > 3 * chance

    churned = [u for u, p in persona.items() if p == "churned"]
    recent = [u for u, p in persona.items() if p == "new_visitor"]
    cutoff = END - dt.timedelta(days=45)
    assert not Event.objects.filter(user__in=churned, occurred_at__gte=cutoff).exists()
    assert not Event.objects.filter(user__in=recent, occurred_at__lt=cutoff).exists()
