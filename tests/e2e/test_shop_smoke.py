"""The demo shop end to end: browse, add to cart, log in at checkout, order, see the order."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from demo_shop.shop.models import Order
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user
from tests.playwright_fixtures import PageLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalog() -> dict:
    kitchen = make_category("Kitchen")
    make_category("Garden")
    teapot = make_product(
        "Brown Betty Teapot",
        category=kitchen,
        slug="brown-betty-teapot",
        price="24.00",
        stock=5,
        brand="Brewco",
    )
    make_product("Stovetop Kettle", category=kitchen, price="35.50", stock=2)
    ann = make_user("ann", first_name="Ann", last_name="Smith")
    return {"teapot": teapot, "ann": ann}


def test_browse_add_to_cart_check_out_and_see_the_order(
    page: Page, page_log: PageLog, catalog: dict, live_server
) -> None:
    # A visitor who has answered the consent banner (tests/e2e/test_consent.py covers it).
    page.context.add_cookies([{"name": "p13n_consent", "value": "1:", "url": live_server.url}])
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
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
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

    assert page_log.failed_responses == []
    assert page_log.errors == []
