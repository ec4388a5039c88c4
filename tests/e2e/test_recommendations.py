"""Recommendations in the demo shop, in a real browser: widgets after consent, a click attributed,
"not interested" honoured.

The shop is seeded small and the recommenders trained in the test; the live server runs in this
process, so it reads the lists the training wrote to the (in-memory) cache.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import Page, expect

from demo_shop.shop.models import Product
from personalization.models import NotInterested, RecommendationClick, RecommendationImpression
from personalization.recommendations import serving, store
from personalization.recommendations.attribution import flush_impressions, impression_buffer
from tests.playwright_fixtures import PageLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDGET = "[data-p13n-rec-placement='{}']"


@pytest.fixture
def trained_shop() -> Any:
    cache.clear()
    serving.product_memo.clear()
    store.forget_active_versions()
    store.forget_models()
    buffer = impression_buffer()
    buffer.ack(len(buffer))
    call_command("seed_demo", products=60, customers=40, months=2, verbosity=0)
    call_command("train_recommenders", verbosity=0)
    yield
    store.forget_active_versions()
    store.forget_models()
    serving.product_memo.clear()
    cache.clear()


def banner(page: Page) -> Any:
    return page.get_by_role("dialog", name="Your privacy choices")


def stored_click(timeout: float = 10.0) -> RecommendationClick | None:
    deadline = time.monotonic() + timeout
    while True:
        click = RecommendationClick.objects.first()
        if click is not None or time.monotonic() > deadline:
            return click
        time.sleep(0.2)


def test_widgets_after_consent_and_a_click_is_attributed(
    page: Page, page_log: PageLog, trained_shop: None
) -> None:
    page.goto("/")
    # Before a choice only the list that is the same for everyone is shown.
    expect(page.locator(WIDGET.format("home_trending"))).to_be_visible()
    expect(page.locator(WIDGET.format("home"))).to_have_count(0)
    banner(page).get_by_role("button", name="Accept all").click()
    expect(banner(page)).to_be_hidden()

    page.goto("/")
    for_you = page.locator(WIDGET.format("home"))
    expect(for_you).to_be_visible()
    expect(for_you.locator(".product-card").first).to_be_visible()
    # No product twice across the widgets of the page.
    shown = page.locator("[data-p13n-rec] article[data-p13n-product]").evaluate_all(
        "cards => cards.map(c => c.dataset.p13nProduct)"
    )
    assert shown and len(shown) == len(set(shown))

    product = Product.objects.filter(is_published=True, stock__gt=0).order_by("pk").first()
    page.goto(product.get_absolute_url())
    similar = page.locator(WIDGET.format("product_similar"))
    expect(similar).to_be_visible()
    first = similar.locator("a.card-link").first
    clicked_id = first.get_attribute("data-p13n-product")
    rec_id = similar.get_attribute("data-p13n-rec")
    assert str(product.pk) not in similar.locator("article").evaluate_all(
        "cards => cards.map(c => c.dataset.p13nProduct)"
    )
    first.click()
    expect(page).to_have_url(re.compile(r"/products/[^/]+/$"))
    assert page.url.endswith(Product.objects.get(pk=clicked_id).get_absolute_url())

    click = stored_click()
    assert click is not None
    assert (str(click.rec_id), click.product_id) == (rec_id, clicked_id)
    flush_impressions()
    click.refresh_from_db()
    impression = RecommendationImpression.objects.get(rec_id=rec_id)
    assert click.impression_id == impression.pk
    assert (impression.placement.name, impression.kind) == ("product_similar", "similar")
    assert impression.version_id == store.active_version("similar").pk

    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(
        page.locator("section[data-p13n-placement='cart'] [data-p13n-rec]").first
    ).to_be_visible()
    assert not page_log.errors and not page_log.failed_responses


def test_not_interested_removes_the_item_and_it_stays_away(
    page: Page, page_log: PageLog, live_server: Any, trained_shop: None
) -> None:
    page.context.add_cookies(
        [
            {
                "name": "p13n_consent",
                "value": "1:analytics+personalization",
                "url": live_server.url,
            }
        ]
    )
    page.goto("/")
    card = page.locator(WIDGET.format("home")).locator("article.product-card").first
    product_id = card.get_attribute("data-p13n-product")
    card.get_by_role("button", name=re.compile("^Not interested")).click()
    expect(
        page.locator(f"{WIDGET.format('home')} article[data-p13n-product='{product_id}']")
    ).to_have_count(0)
    row = NotInterested.objects.get()
    assert row.product_id == product_id and row.placement == "home"
    page.goto("/")
    assert product_id not in page.locator("[data-p13n-rec] article").evaluate_all(
        "cards => cards.map(c => c.dataset.p13nProduct)"
    )
    assert not page_log.errors and not page_log.failed_responses
