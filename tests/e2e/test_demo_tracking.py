"""Tracking on the demo shop in a real browser: view a product, click its picture, add it to the
cart, leave the page — the expected events are stored once each, with their context."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from personalization.models import Event, Visitor
from personalization.tasks import flush_events
from tests.factories import make_category, make_product
from tests.playwright_fixtures import PageLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONSENT_ALL = "1:analytics+personalization"


def stored_events(expected: set[str], timeout: float = 10.0) -> list[Event]:
    """Flush the buffer until events with all ``expected`` names are stored (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        flush_events()
        events = list(Event.objects.order_by("occurred_at", "pk"))
        if expected <= {e.name for e in events} or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


@pytest.fixture
def teapot():
    kitchen = make_category("Kitchen")
    return make_product(
        "Brown Betty Teapot", category=kitchen, slug="brown-betty-teapot", price="24.00", stock=5
    )


def test_product_page_actions_are_stored_with_their_context(
    page: Page, page_log: PageLog, live_server, teapot
) -> None:
    page.context.add_cookies(
        [{"name": "p13n_consent", "value": CONSENT_ALL, "url": live_server.url}]
    )
    page.goto("/products/brown-betty-teapot/?utm_source=newsletter&utm_medium=email")
    page.locator("[data-p13n-image]").first.click()
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    page.goto("/")  # leave the cart page too: its dwell and scroll go out by beacon

    expected = {"product_view", "image_view", "add_to_cart", "dwell", "page_view"}
    events = stored_events(expected)
    names = [e.name for e in events]
    assert expected <= set(names), names
    assert not page_log.errors and not page_log.failed_responses

    product_id = str(teapot.pk)
    # The form posted the tracker's event id, so the server's and the browser's copies are one.
    assert names.count("add_to_cart") == 1
    add = next(e for e in events if e.name == "add_to_cart")
    assert add.product_id == product_id and add.properties["quantity"] == 1

    view = next(e for e in events if e.name == "product_view")
    assert (view.product_id, view.source, view.path) == (
        product_id,
        "server",
        "/products/brown-betty-teapot/",
    )
    image = next(e for e in events if e.name == "image_view")
    assert (image.product_id, image.source, image.properties["image"]) == (product_id, "js", "1")
    dwell = next(e for e in events if e.name == "dwell" and e.path.startswith("/products/"))
    assert dwell.properties["seconds"] >= 0

    # One browser: one visitor (from the HttpOnly first-party cookie) and one session with the
    # campaign of the landing page; device fields parsed from the user agent, which is not stored.
    visitor = Visitor.objects.get()
    cookie = {c["name"]: c for c in page.context.cookies()}["p13n_vid"]
    assert cookie["value"] == visitor.vid and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert {e.visitor_id for e in events} == {visitor.pk}
    sessions = {e.session_id for e in events}
    assert len(sessions) == 1
    session = view.session
    assert (session.utm_source, session.utm_medium) == ("newsletter", "email")
    assert session.landing_path == "/products/brown-betty-teapot/"
    assert {e.device_type for e in events} == {"desktop"}
    assert all(e.browser for e in events)
