"""The demo shop end to end: browse, add to cart, log in at checkout, order, see the order."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from demo_shop.shop.models import Category, Order, Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def catalog() -> dict:
    kitchen = Category.objects.create(name="Kitchen", slug="kitchen")
    Category.objects.create(name="Garden", slug="garden")
    teapot = Product.objects.create(
        sku="TEA-1",
        name="Brown Betty Teapot",
        slug="brown-betty-teapot",
        category=kitchen,
        brand="Brewco",
        description="Holds four cups.",
        price=Decimal("24.00"),
        stock=5,
    )
    Product.objects.create(
        sku="KET-1",
        name="Stovetop Kettle",
        slug="stovetop-kettle",
        category=kitchen,
        price=Decimal("35.50"),
        stock=2,
    )
    ann = get_user_model().objects.create_user(
        "ann", "ann@example.com", PASSWORD, first_name="Ann", last_name="Smith"
    )
    return {"teapot": teapot, "ann": ann}


def test_browse_add_to_cart_check_out_and_see_the_order(page: Page, catalog: dict) -> None:
    page.goto("/")
    expect(page).to_have_title(re.compile("Demo Shop"))

    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Kitchen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen")
    page.get_by_role("main").get_by_role("link", name=re.compile("Brown Betty Teapot")).click()

    expect(page).to_have_url(re.compile(r"/products/brown-betty-teapot/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Brown Betty Teapot")
    page.get_by_role("button", name="Add to cart").click()

    # Added as an anonymous visitor; the cart must survive the log-in at checkout.
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.get_by_role("status")).to_contain_text("Added Brown Betty Teapot to your cart")
    expect(page.locator(".cart-link .badge")).to_have_text("1")
    page.get_by_role("main").get_by_role("link", name="Checkout").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/checkout/"))
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/checkout/$"))
    expect(page.get_by_role("complementary")).to_contain_text("1 × Brown Betty Teapot")
    page.get_by_label("Full name").fill("Ann Smith")
    page.get_by_label(re.compile(r"^Address")).fill("1 High Street")
    page.get_by_label("City").fill("York")
    page.get_by_label("Postcode").fill("YO1 7HH")
    page.get_by_label("Country").fill("United Kingdom")
    page.get_by_role("button", name=re.compile("Place order")).click()

    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    order = Order.objects.get(user=catalog["ann"])
    assert page.url.endswith(f"/orders/{order.number}/")
    assert order.total == Decimal("24.00")
    assert [(line.product_id, line.quantity) for line in order.lines.all()] == [
        (catalog["teapot"].pk, 1)
    ]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.number}")
    expect(page.locator("address")).to_contain_text("1 High Street")
    expect(page.locator(".cart-link .badge")).to_have_text("0")

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    orders = page.get_by_role("region", name="Your orders")
    expect(orders.get_by_role("link", name=order.number)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(
        page.get_by_role("navigation", name="Account").get_by_role("link", name="Log in")
    ).to_be_visible()
