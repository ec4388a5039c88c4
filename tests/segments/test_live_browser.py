"""The demo shop in a real browser: two dear items put in the cart make the shopper a high-intent
shopper, and the cart page then shows the segment's banner."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from personalization.models import Event
from personalization.segments import live
from personalization.tasks import flush_events
from tests.factories import make_category, make_product
from tests.playwright_fixtures import PageLog
from tests.segments.seglive_support import high_intent_segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONSENT_ALL = "1:analytics+personalization"


def test_two_dear_cart_adds_show_the_high_intent_banner(
    page: Page, page_log: PageLog, live_server
) -> None:
    high_intent_segment()
    category = make_category("Audio")
    for n in range(8):
        make_product(category=category, price=20 + n)
    dear = [
        make_product(f"Studio Monitor {n}", category=category, slug=f"monitor-{n}", price=900_000)
        for n in range(2)
    ]
    live._forget_products(setting="PERSONALIZATION")
    page.context.add_cookies(
        [{"name": "p13n_consent", "value": CONSENT_ALL, "url": live_server.url}]
    )
    banner = page.locator('[data-segment="high-intent-shoppers"]')
    for product in dear:
        page.goto(f"/products/{product.slug}/")
        page.get_by_role("button", name="Add to cart").click()
        expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(banner).to_have_count(0)

    deadline = time.monotonic() + 10
    while Event.objects.filter(name="add_to_cart").count() < 2 and time.monotonic() < deadline:
        flush_events()  # the flush evaluates the dynamic segments of the people it stores
        time.sleep(0.2)

    page.reload()
    expect(banner).to_be_visible()
    assert not page_log.errors and not page_log.failed_responses
