"""Store adapters: the in-memory one of the app and the demo shop's ORM one obey one contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from demo_shop.shop.adapter import ShopAdapter
from demo_shop.shop.models import Order, OrderLine, Product
from personalization.adapters import (
    InMemoryStoreAdapter,
    OrderData,
    OrderLineData,
    ProductData,
)
from tests.factories import make_category, make_product, make_user

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


# --- InMemoryStoreAdapter -------------------------------------------------------------------


@pytest.fixture
def memory() -> InMemoryStoreAdapter:
    products = [
        ProductData(id="1", title="Teapot", price=Decimal("20"), url="/p/teapot/"),
        ProductData(id="2", title="Cup", price=Decimal("4.50"), url="/p/cup/"),
        ProductData(id="3", title="Saucer", published=False),
    ]
    orders = [
        OrderData(
            id="B",
            customer_id="7",
            timestamp=T0 + dt.timedelta(days=2),
            lines=(OrderLineData("2", 4, Decimal("18.00")),),
        ),
        OrderData(
            id="A",
            customer_id="7",
            timestamp=T0,
            lines=(
                OrderLineData("1", 1, Decimal("20.00")),
                OrderLineData("2", 2, Decimal("9.00")),
            ),
        ),
        OrderData(id="C", customer_id=None, timestamp=T0 + dt.timedelta(days=5)),
    ]
    return InMemoryStoreAdapter(products, orders)


def test_memory_product_by_id(memory: InMemoryStoreAdapter) -> None:
    assert memory.get_product("2").title == "Cup"
    assert memory.get_product(2).title == "Cup"  # type: ignore[arg-type]
    assert memory.get_product("404") is None


def test_memory_products_in_a_batch_leave_unknown_ids_out(memory: InMemoryStoreAdapter) -> None:
    found = memory.get_products(["3", "404", "1"])
    assert sorted(found) == ["1", "3"]
    assert found["1"].title == "Teapot"


def test_memory_iterates_every_product(memory: InMemoryStoreAdapter) -> None:
    assert [p.id for p in memory.iter_products()] == ["1", "2", "3"]


def test_memory_orders_come_oldest_first(memory: InMemoryStoreAdapter) -> None:
    assert [o.id for o in memory.iter_orders()] == ["A", "B", "C"]


def test_memory_orders_since_include_the_boundary(memory: InMemoryStoreAdapter) -> None:
    since = T0 + dt.timedelta(days=2)
    assert [o.id for o in memory.iter_orders(since=since)] == ["B", "C"]


def test_memory_orders_of_one_customer(memory: InMemoryStoreAdapter) -> None:
    assert [o.id for o in memory.iter_orders(customer_id="7")] == ["A", "B"]
    assert [o.id for o in memory.iter_orders(customer_id=7)] == ["A", "B"]  # type: ignore[arg-type]
    assert list(memory.iter_orders(customer_id="8")) == []
    since = T0 + dt.timedelta(days=1)
    assert [o.id for o in memory.iter_orders(since=since, customer_id="7")] == ["B"]


def test_order_amount_is_the_sum_of_its_lines(memory: InMemoryStoreAdapter) -> None:
    amounts = {o.id: o.amount for o in memory.iter_orders()}
    assert amounts == {"A": Decimal("29.00"), "B": Decimal("18.00"), "C": Decimal("0")}


def test_memory_product_for_path(memory: InMemoryStoreAdapter) -> None:
    assert memory.product_id_for_path("/p/cup/") == "2"
    assert memory.product_id_for_path("/basket/") is None


# --- the demo shop's ShopAdapter ------------------------------------------------------------


@pytest.fixture
def shop(db) -> dict:
    kitchen = make_category("Kitchen")
    teapot = make_product(
        "Teapot",
        category=kitchen,
        slug="teapot",
        brand="Brewco",
        description="Holds four cups.",
        price="24.00",
        stock=3,
        tags="tea, ceramic ,",
    )
    kettle = make_product("Kettle", category=kitchen, price="35.50", stock=0, is_published=False)
    ann = make_user("ann")
    bob = make_user("bob")

    def order(number: str, user, days: int, lines: list[tuple[Product, int]]) -> Order:
        placed = Order.objects.create(
            number=number, user=user, created_at=T0 + dt.timedelta(days=days), currency="GBP"
        )
        for product, quantity in lines:
            OrderLine.objects.create(
                order=placed,
                product=product,
                quantity=quantity,
                unit_price=product.price,
                line_total=product.price * quantity,
            )
        return placed

    # Created out of date order on purpose: the adapter must sort them.
    order("N-3", None, 9, [(kettle, 1)])
    order("N-2", bob, 4, [(teapot, 1)])
    order("N-1", ann, 0, [(teapot, 2), (kettle, 1)])
    order("N-4", ann, 12, [])
    return {"teapot": teapot, "kettle": kettle, "ann": ann, "bob": bob}


def test_shop_product_by_id(shop: dict) -> None:
    teapot = shop["teapot"]
    product = ShopAdapter().get_product(str(teapot.pk))
    assert product == ProductData(
        id=str(teapot.pk),
        title="Teapot",
        description="Holds four cups.",
        category="Kitchen",
        brand="Brewco",
        price=Decimal("24.00"),
        tags=("tea", "ceramic"),
        in_stock=True,
        published=True,
        url="/products/teapot/",
        image_url="/products/teapot/images/1.svg",
    )


def test_shop_unpublished_product_is_still_found(shop: dict) -> None:
    kettle = ShopAdapter().get_product(str(shop["kettle"].pk))
    assert kettle.published is False
    assert kettle.in_stock is False


@pytest.mark.parametrize("unknown", ["999999", "abc", "", "1.5"])
def test_shop_unknown_product_is_none(shop: dict, unknown: str) -> None:
    assert ShopAdapter().get_product(unknown) is None


def test_shop_products_in_one_query(shop: dict, django_assert_num_queries) -> None:
    teapot, kettle = str(shop["teapot"].pk), str(shop["kettle"].pk)
    with django_assert_num_queries(1):
        found = ShopAdapter().get_products([teapot, "999999", "nope", kettle])
    assert sorted(found) == sorted([teapot, kettle])
    assert found[kettle].category == "Kitchen"


def test_shop_iterates_every_product(shop: dict) -> None:
    titles = {p.title for p in ShopAdapter().iter_products()}
    assert titles == {"Teapot", "Kettle"}


def test_shop_orders_oldest_first_with_lines_and_amounts(shop: dict) -> None:
    orders = list(ShopAdapter().iter_orders())
    assert [o.id for o in orders] == ["N-1", "N-2", "N-3", "N-4"]
    first = orders[0]
    assert first.customer_id == str(shop["ann"].pk)
    assert first.timestamp == T0
    assert first.currency == "GBP"
    assert sorted((line.product_id, line.quantity) for line in first.lines) == sorted(
        [(str(shop["teapot"].pk), 2), (str(shop["kettle"].pk), 1)]
    )
    assert first.amount == Decimal("83.50")
    assert orders[2].customer_id is None
    assert orders[3].amount == Decimal("0")


def test_shop_orders_since_include_the_boundary(shop: dict) -> None:
    since = T0 + dt.timedelta(days=4)
    assert [o.id for o in ShopAdapter().iter_orders(since=since)] == ["N-2", "N-3", "N-4"]


def test_shop_orders_of_one_customer(shop: dict) -> None:
    ann = str(shop["ann"].pk)
    adapter = ShopAdapter()
    assert [o.id for o in adapter.iter_orders(customer_id=ann)] == ["N-1", "N-4"]
    since = T0 + dt.timedelta(days=1)
    assert [o.id for o in adapter.iter_orders(since=since, customer_id=ann)] == ["N-4"]


def test_shop_product_for_path(shop: dict) -> None:
    adapter = ShopAdapter()
    assert adapter.product_id_for_path(shop["teapot"].get_absolute_url()) == str(shop["teapot"].pk)
    assert adapter.product_id_for_path("/products/no-such-thing/") is None
    assert adapter.product_id_for_path("/categories/kitchen/") is None
    assert adapter.product_id_for_path("/") is None
    assert adapter.product_id_for_path("/not/a/page/") is None
