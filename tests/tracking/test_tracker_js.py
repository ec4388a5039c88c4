"""tracker.js in headless Chromium, against the real ingest API of the live server.

The pages come from ``tests/tracking/tracker_site.py`` and load the minified tracker through the
template tag. Events are read from the event buffer the API feeds (the live server runs in this
process), so what is checked is what the server accepted. Beacons are sent by the browser process
and Playwright cannot intercept them; fetches can be, which the retry tests use.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, Route

from personalization.adapters import ProductData
from personalization.tracking.buffer import get_buffer
from personalization.tracking.server import product_path_cache_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCT_PAGE = "/tracker-test/product/"
# A page with the tracker and no markup: nothing is captured there unless a test asks.
PLAIN_PAGE = "/tracker-test/other/"
EVENTS_PATH = "**/personalization/api/events/"
CONSENT = "1:analytics+personalization"
PRODUCTS = [ProductData(id="mug-1", title="Test mug", url=PRODUCT_PAGE)]


@pytest.fixture
def site(settings: Any, live_server: Any) -> Iterator[str]:
    """The tracker test site, whose store knows the mug's page (so the server records its view).

    Yields the live server's URL.
    """
    settings.ROOT_URLCONF = "tests.tracking.tracker_site"
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": ("personalization.adapters.InMemoryStoreAdapter", {"products": PRODUCTS}),
    }
    cache.delete(product_path_cache_key(PRODUCT_PAGE))
    yield live_server.url
    cache.delete(product_path_cache_key(PRODUCT_PAGE))


@pytest.fixture
def tab(page: Page, site: str) -> Iterator[Page]:
    """``page`` for the tracker site, with the consent cookie granting analytics and
    personalization. At the end it leaves the site and waits for the beacons this sends, so that
    they reach this test's buffer and not a later test's."""
    set_cookie(page, site, "p13n_consent", CONSENT)
    yield page
    page.goto("about:blank")
    page.wait_for_timeout(500)


@pytest.fixture
def errors(page: Page) -> list[str]:
    """Script errors of the page: the tracker must never throw into it."""
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def set_cookie(page: Page, site: str, name: str, value: str) -> None:
    page.context.add_cookies([{"name": name, "value": value, "url": site}])


def buffered() -> list[dict[str, Any]]:
    buf = get_buffer()
    return buf.peek(len(buf))


def wait_for(
    page: Page, condition: Callable[[list[dict[str, Any]]], bool], seconds: float = 8.0
) -> list[dict[str, Any]]:
    """The buffered events once ``condition`` holds for them (beacons arrive asynchronously).

    Waits through the page, so that Playwright keeps serving routes and events meanwhile.
    """
    deadline = time.monotonic() + seconds
    while True:
        events = buffered()
        if condition(events) or time.monotonic() > deadline:
            return events
        page.wait_for_timeout(100)


def from_js(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["source"] == "js"]


def visitor_cookie(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "p13n_vid")


def test_a_visit_is_captured_and_views_are_not_counted_twice(tab: Page, errors: list[str]) -> None:
    tab.goto(PRODUCT_PAGE)
    tab.wait_for_timeout(1500)  # the main image stays in view for a second
    tab.click("#wish")
    tab.click("#add button")
    tab.fill("#search input", "blue mug")
    tab.click("#search button")
    tab.mouse.wheel(0, 4000)
    tab.wait_for_timeout(1500)  # the detail image, scrolled into view
    tab.evaluate(
        """() => window.dataLayer.push({event: "add_to_cart",
            ecommerce: {currency: "EUR", items: [{item_id: "x1"}, {item_id: "x2"}]}})"""
    )
    tab.click("#related")  # leaves the page: what is queued goes out by sendBeacon
    tab.wait_for_url("**" + PLAIN_PAGE)

    expected = Counter(
        {
            "recommendation_click": 1,  # replayed from the tag manager's dataLayer
            "image_view": 2,
            "wishlist_add": 1,
            "add_to_cart": 3,  # the form, and the two items of the dataLayer event
            "search": 1,
            "product_click": 1,
            "dwell": 1,
            "scroll_depth": 1,
        }
    )
    events = wait_for(tab, lambda evs: Counter(e["name"] for e in from_js(evs)) == expected)
    js = from_js(events)
    assert Counter(e["name"] for e in js) == expected
    assert errors == []

    # The server recorded the product view; the tracker sent no view of its own, not even for
    # the view_item that the tag manager had pushed.
    views = [e for e in events if e["name"] in ("page_view", "product_view")]
    assert [(e["name"], e["source"], e["path"]) for e in views] == [
        ("product_view", "server", PRODUCT_PAGE),
        ("page_view", "server", PLAIN_PAGE),
    ]
    vid = visitor_cookie(tab)
    assert {e["vid"] for e in events} == {vid}
    assert len({e["session_id"] for e in events}) == 1
    assert len({e["event_id"] for e in js}) == len(js)
    assert all(uuid.UUID(e["event_id"]).version == 4 for e in js)
    assert all(e["client_ts"] and e["path"] == PRODUCT_PAGE for e in js)
    assert all("HeadlessChrome" in e["ua"] for e in js)

    def one(name: str, **match: Any) -> dict[str, Any]:
        [found] = [e for e in js if e["name"] == name and all(e[k] == v for k, v in match.items())]
        return found

    assert one("wishlist_add")["product_id"] == "mug-1"
    assert one("add_to_cart", product_id="mug-1")["properties"] == {"quantity": 3}
    assert one("add_to_cart", product_id="x2")["properties"] == {
        "currency": "EUR",
        "items": [{"item_id": "x2"}],
    }
    assert one("product_click")["product_id"] == "teapot-2"
    assert one("product_click")["properties"] == {"list": "related"}
    assert one("search")["properties"] == {"query": "blue mug"}
    assert one("recommendation_click")["properties"] == {"promotion_id": "summer"}
    images = [e["properties"] for e in js if e["name"] == "image_view"]
    assert sorted((i["image"], i["trigger"]) for i in images) == [
        ("detail", "visible"),
        ("front", "visible"),
    ]
    assert one("dwell")["product_id"] == "mug-1"
    assert one("dwell")["properties"]["seconds"] >= 3
    assert one("scroll_depth")["properties"] == {"percent": 100}


def test_an_image_click_is_an_image_view(tab: Page) -> None:
    tab.goto(PRODUCT_PAGE)
    tab.click("#main-image")
    tab.evaluate("() => p13n.flush()")
    events = wait_for(tab, lambda evs: any(e["name"] == "image_view" for e in evs))
    [image] = [e for e in from_js(events) if e["name"] == "image_view"]
    assert image["product_id"] == "mug-1"
    assert image["properties"] == {"image": "front", "trigger": "click"}


@pytest.mark.parametrize("consent", ["", "1:", "1:marketing"], ids=["none", "refused", "other"])
def test_nothing_is_sent_without_consent(
    tab: Page, site: str, errors: list[str], consent: str
) -> None:
    tab.context.clear_cookies()
    if consent:
        set_cookie(tab, site, "p13n_consent", consent)
    posts: list[str] = []
    tab.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    tab.goto(PRODUCT_PAGE)
    tab.wait_for_timeout(1200)
    tab.click("#wish")
    tab.evaluate("() => { p13n.track('search', {query: 'x'}); p13n.flush(); }")
    tab.click("#related")
    tab.wait_for_url("**" + PLAIN_PAGE)
    tab.wait_for_timeout(1000)
    assert buffered() == []
    assert [url for url in posts if "/personalization/" in url] == []
    assert errors == []


def test_consent_given_after_the_page_loaded_fetches_a_token(tab: Page) -> None:
    tab.context.clear_cookies()
    tab.goto(PLAIN_PAGE)
    assert tab.get_attribute("script[data-endpoint]", "data-token") is None
    # What a consent banner does in the browser.
    tab.evaluate("() => { document.cookie = 'p13n_consent=1:analytics; path=/'; }")
    tab.evaluate("() => { p13n.track('wishlist_add', {product_id: 'mug-1'}); p13n.flush(); }")
    [wish] = wait_for(tab, lambda evs: len(evs) == 1)
    assert (wish["name"], wish["product_id"]) == ("wishlist_add", "mug-1")
    # The token endpoint gave the browser its visitor cookie along with the token.
    assert wish["vid"] == visitor_cookie(tab)


def test_withdrawn_consent_stops_what_is_queued(tab: Page) -> None:
    tab.goto(PRODUCT_PAGE)
    tab.click("#wish")
    tab.evaluate("() => { document.cookie = 'p13n_consent=1:; path=/'; p13n.flush(); }")
    tab.click("#related")
    tab.wait_for_url("**" + PLAIN_PAGE)
    tab.wait_for_timeout(1000)
    assert from_js(buffered()) == []


def test_server_errors_are_retried_and_client_errors_are_not(tab: Page) -> None:
    bodies: list[dict[str, Any]] = []
    answers = iter([503, None, 400])

    def handle(route: Route) -> None:
        bodies.append(route.request.post_data_json)
        status = next(answers, None)
        if status is None:
            route.continue_()
        else:
            route.fulfill(status=status, json={"detail": "test", "code": "test"})

    tab.route(EVENTS_PATH, handle)
    tab.goto(PLAIN_PAGE)
    tab.evaluate("() => { p13n.track('wishlist_add', {product_id: 'mug-1'}); p13n.flush(); }")
    [stored] = from_js(wait_for(tab, lambda evs: len(from_js(evs)) == 1))
    assert len(bodies) == 2  # refused with 503, then accepted after a backoff
    assert bodies[0]["events"] == bodies[1]["events"]
    assert stored["event_id"] == bodies[0]["events"][0]["event_id"]

    tab.evaluate("() => { p13n.track('search', {query: 'tea'}); p13n.flush(); }")
    tab.wait_for_timeout(3500)  # longer than the first two backoffs together
    assert len(bodies) == 3  # the 400 is final
    assert len(from_js(buffered())) == 1


def test_a_token_of_another_visitor_is_renewed(tab: Page, site: str) -> None:
    tab.goto(PLAIN_PAGE)
    # As if the page had come from a full-page cache filled for someone else: the browser's
    # visitor cookie no longer matches the embedded token.
    other = "AnotherVisitor-0123456789"
    set_cookie(tab, site, "p13n_vid", other)
    tab.evaluate("() => { p13n.track('wishlist_add', {product_id: 'mug-1'}); p13n.flush(); }")
    [wish] = from_js(wait_for(tab, lambda evs: len(from_js(evs)) == 1))
    assert (wish["name"], wish["vid"]) == ("wishlist_add", other)


def test_views_are_sent_after_a_client_side_navigation(tab: Page) -> None:
    tab.goto(PLAIN_PAGE)
    tab.evaluate(
        """() => {
            p13n.track("page_view");  // the server recorded this one
            history.pushState({}, "", "/tracker-test/spa/teapot/");
            dataLayer.push({event: "view_item", ecommerce: {items: [{item_id: "teapot-2"}]}});
            p13n.track("page_view");
            p13n.flush();
        }"""
    )
    events = from_js(wait_for(tab, lambda evs: len(from_js(evs)) == 2))
    assert sorted((e["name"], e["product_id"], e["path"]) for e in events) == [
        ("page_view", "", "/tracker-test/spa/teapot/"),
        ("product_view", "teapot-2", "/tracker-test/spa/teapot/"),
    ]


def test_the_tracker_never_throws_into_the_page(tab: Page, errors: list[str]) -> None:
    tab.goto(PRODUCT_PAGE)
    length = tab.evaluate(
        """() => {
            const length = dataLayer.push(null, 5, "x", ["event"], {event: "purchase",
                ecommerce: "not an object"}, {event: "add_to_cart", ecommerce: {items: [null]}});
            p13n.track();
            p13n.track(null, 5);
            p13n.track({}, {toJSON() { throw new Error("boom"); }});
            p13n.flush();
            return length;
        }"""
    )
    assert length == 3 + 6  # push still answers the array's new length
    tab.wait_for_timeout(1000)
    assert errors == []
