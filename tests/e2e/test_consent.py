"""The consent banner on the demo shop in a real browser.

Before a choice and after "Reject all" nothing is collected, ever: no request reaches the events
endpoint (seen by the browser and by the server), no visitor cookie, no visitor row, no event.
Accepting personalization makes events flow; withdrawing stops them and erases what was stored.
A GPC browser gets marketing off, a new policy version brings the banner back, the banner works
with the keyboard alone, and a TCF consent-management platform replaces it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import BrowserContext, Page, expect

from personalization.api.views import EventIngestView
from personalization.consent.policy import clear_policy_cache
from personalization.models import ConsentPolicy, ConsentRecord, Event, Visitor
from personalization.tasks import flush_events
from personalization.tracking.buffer import get_buffer
from personalization.tracking.server import product_path_cache_key
from tests.factories import make_category, make_product
from tests.playwright_fixtures import TIMEOUT_MS, PageLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVENTS_PATH = "/personalization/api/events/"
PRODUCT_PAGES = ["/products/brown-betty-teapot/", "/products/stovetop-kettle/"]


def _empty_buffer() -> None:
    buffer = get_buffer()
    buffer.ack(len(buffer))


@pytest.fixture(autouse=True)
def isolated() -> Iterator[None]:
    """Nothing of this test outlives it: not the events still buffered (a beacon sent as the page
    closed), nor the cached policy version and path → product answers (the database is emptied
    without the signals that clear those caches)."""
    _empty_buffer()
    clear_policy_cache()
    yield
    time.sleep(0.5)  # the last beacons of the closed page
    _empty_buffer()
    clear_policy_cache()
    cache.delete_many([product_path_cache_key(path) for path in PRODUCT_PAGES])


@pytest.fixture
def catalog() -> None:
    kitchen = make_category("Kitchen")
    make_product(
        "Brown Betty Teapot", category=kitchen, slug="brown-betty-teapot", price="24.00", stock=5
    )
    make_product("Stovetop Kettle", category=kitchen, slug="stovetop-kettle", price="35.50")
    ConsentPolicy.objects.get_or_create(version=1)


@dataclass
class EventTraffic:
    """Requests to the events endpoint, as the browser sent them and as the server received them
    (Playwright does not see the beacons; the server does)."""

    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return max(len(self.sent), len(self.received))


@pytest.fixture
def traffic(page: Page, monkeypatch: pytest.MonkeyPatch) -> EventTraffic:
    log = EventTraffic()
    page.on("request", lambda r: EVENTS_PATH in r.url and log.sent.append(r.method))
    real_dispatch = EventIngestView.dispatch

    def dispatch(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        log.received.append(request.method)
        return real_dispatch(self, request, *args, **kwargs)

    # The live server runs in a thread of this process, so it sees the spy.
    monkeypatch.setattr(EventIngestView, "dispatch", dispatch)
    return log


def banner(page: Page) -> Any:
    return page.get_by_role("dialog", name="Your privacy choices")


def cookies(context: BrowserContext) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies()}


def stored_events(at_least: int = 0, timeout: float = 10.0) -> list[Event]:
    """Flush the buffer until at least ``at_least`` events are stored (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        flush_events()
        events = list(Event.objects.order_by("pk"))
        if len(events) >= at_least or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def browse(page: Page) -> None:
    """Visit a few pages and do what shoppers do: look at pictures, add to cart, search."""
    page.goto("/products/brown-betty-teapot/")
    page.locator("[data-p13n-image]").first.click()
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    page.goto("/search/?q=kettle")
    page.goto("/products/stovetop-kettle/")
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(300)
    page.goto("/")  # leaving a page sends its dwell and scroll by beacon, if allowed
    page.wait_for_timeout(500)


def assert_nothing_collected(page: Page, traffic: EventTraffic) -> None:
    assert len(traffic) == 0, traffic
    assert "p13n_vid" not in cookies(page.context)
    assert stored_events() == []
    assert not Visitor.objects.exists()


def test_before_a_choice_the_banner_asks_and_nothing_is_collected(
    page: Page, page_log: PageLog, traffic: EventTraffic, catalog: None
) -> None:
    page.goto("/")
    expect(banner(page)).to_be_visible()
    assert page.evaluate("document.getElementById('p13n-consent').contains(document.activeElement)")
    for path in ("/products/brown-betty-teapot/", "/search/?q=teapot", "/cart/"):
        page.goto(path)
        expect(banner(page)).to_be_visible()
    page.goto("/")
    page.wait_for_timeout(500)
    assert_nothing_collected(page, traffic)
    assert "p13n_consent" not in cookies(page.context)
    assert not ConsentRecord.objects.exists()
    assert not page_log.errors and not page_log.failed_responses


def test_reject_all_means_nothing_ever(
    page: Page, page_log: PageLog, traffic: EventTraffic, catalog: None
) -> None:
    page.goto("/")
    banner(page).get_by_role("button", name="Reject all").click()
    expect(banner(page)).to_be_hidden()
    assert cookies(page.context)["p13n_consent"] == "1:"
    record = ConsentRecord.objects.get()
    assert (record.granted, record.method, record.vid) == ([], "banner", "")
    browse(page)
    expect(banner(page)).to_be_hidden()
    browse(page)
    assert_nothing_collected(page, traffic)
    assert not page_log.errors and not page_log.failed_responses


def test_accepting_personalization_makes_events_flow_and_withdrawing_stops_them(
    page: Page, page_log: PageLog, traffic: EventTraffic, catalog: None
) -> None:
    page.goto("/products/brown-betty-teapot/")
    dialog = banner(page)
    dialog.get_by_role("button", name="Customize").click()
    dialog.get_by_role("switch", name="Personalization").check()
    dialog.get_by_role("button", name="Save choices").click()
    expect(dialog).to_be_hidden()
    jar = cookies(page.context)
    assert jar["p13n_consent"] == "1:personalization"
    visitor = Visitor.objects.get(vid=jar["p13n_vid"])
    record = ConsentRecord.objects.get()
    assert record.visitor == visitor and record.granted == ["personalization"]

    # The page where consent was given is recorded by the tracker, the next ones by the server.
    events = stored_events(at_least=1)
    assert ("product_view", "js") in [(e.name, e.source) for e in events]
    browse(page)
    names = {e.name for e in stored_events(at_least=6)}
    assert {"product_view", "image_view", "add_to_cart", "page_view"} <= names
    assert {e.visitor_id for e in Event.objects.all()} == {visitor.pk}

    # Withdrawal from the footer link: collection stops at once and the data goes.
    page.get_by_role("link", name="Privacy choices").click()
    expect(dialog).to_be_visible()
    switch = dialog.get_by_role("switch", name="Personalization")
    expect(switch).to_be_checked()
    switch.uncheck()
    dialog.get_by_role("button", name="Save choices").click()
    expect(dialog).to_be_hidden()
    assert cookies(page.context)["p13n_consent"] == "1:"
    assert "p13n_vid" not in cookies(page.context)
    requests_before = len(traffic)
    browse(page)
    assert len(traffic) == requests_before
    assert stored_events() == []  # DELETE_ON_WITHDRAWAL erased what was collected
    assert not Visitor.objects.exists()
    assert [r.granted for r in ConsentRecord.objects.order_by("pk")] == [["personalization"], []]
    assert not page_log.errors and not page_log.failed_responses


@pytest.fixture
def gpc_page(browser: Any, live_server: Any) -> Iterator[Page]:
    """A browser that sends ``Sec-GPC: 1`` with every request."""
    context = browser.new_context(base_url=live_server.url, extra_http_headers={"Sec-GPC": "1"})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_a_gpc_browser_gets_marketing_off(gpc_page: Page, catalog: None) -> None:
    gpc_page.goto("/")
    dialog = banner(gpc_page)
    dialog.get_by_role("button", name="Accept all").click()
    expect(dialog).to_be_hidden()
    assert cookies(gpc_page.context)["p13n_consent"] == "1:analytics+personalization"
    record = ConsentRecord.objects.get()
    assert record.granted == ["analytics", "personalization"] and record.denied == ["marketing"]

    gpc_page.get_by_role("link", name="Do Not Sell or Share My Personal Information").click()
    marketing = dialog.get_by_role("switch", name="Marketing")
    expect(marketing).not_to_be_checked()
    expect(marketing).to_be_disabled()
    expect(dialog.get_by_text("Global Privacy Control")).to_be_visible()
    expect(dialog.get_by_role("switch", name="Analytics")).to_be_checked()
    expect(dialog.get_by_role("button", name="Save choices")).to_be_focused()


def test_a_new_policy_version_brings_the_banner_back(
    page: Page, page_log: PageLog, traffic: EventTraffic, catalog: None
) -> None:
    page.goto("/")
    banner(page).get_by_role("button", name="Accept all").click()
    expect(banner(page)).to_be_hidden()
    page.goto("/cart/")
    expect(banner(page)).to_be_hidden()

    ConsentPolicy.objects.create(version=2, notes="New advertising partners")
    page.goto("/products/brown-betty-teapot/")
    expect(banner(page)).to_be_visible()
    # The old choice no longer counts: nothing is sent until the visitor chooses again.
    requests_before = len(traffic)
    page.locator("[data-p13n-image]").first.click(force=True)
    page.goto("/")
    page.wait_for_timeout(500)
    assert len(traffic) == requests_before
    banner(page).get_by_role("button", name="Reject all").click()
    expect(banner(page)).to_be_hidden()
    assert cookies(page.context)["p13n_consent"] == "2:"
    assert [r.policy_version for r in ConsentRecord.objects.order_by("pk")] == [1, 2]
    assert not page_log.errors and not page_log.failed_responses


def focused(page: Page) -> str:
    """The focused element: its accessible role-ish description for the assertions."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            if (el.id === 'p13n-consent') return 'banner';
            return (el.getAttribute('data-p13n-consent-action') || el.value || el.textContent)
              .trim();
        }"""
    )


def test_the_banner_works_with_the_keyboard_alone(
    page: Page, page_log: PageLog, catalog: None
) -> None:
    page.goto("/")
    dialog = banner(page)
    expect(dialog).to_be_visible()
    assert focused(page) == "banner"
    page.keyboard.press("Escape")  # never dismisses the banner without a choice
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    assert focused(page) == "accept"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus ring
    page.keyboard.press("Tab")
    assert focused(page) == "reject"
    page.keyboard.press("Tab")
    assert focused(page) == "customize"
    page.keyboard.press("Tab")  # Tab stays inside the modal banner
    assert focused(page) == "accept"
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "customize"

    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Save choices")).to_be_visible()
    assert focused(page) == "analytics"
    page.keyboard.press("Space")
    expect(dialog.get_by_role("switch", name="Analytics")).to_be_checked()
    page.keyboard.press("Escape")  # folds the details away, the banner stays
    expect(dialog.get_by_role("button", name="Save choices")).to_be_hidden()
    expect(dialog).to_be_visible()
    assert focused(page) == "customize"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page) == "personalization"
    page.keyboard.press("Space")
    for _ in range(20):
        if focused(page) == "save":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert cookies(page.context)["p13n_consent"] == "1:analytics+personalization"

    # Reopened from the footer link with the keyboard: focus goes in, and back to the link.
    link = page.get_by_role("link", name="Privacy choices")
    link.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    assert focused(page) == "analytics"
    expect(dialog.get_by_role("switch", name="Personalization")).to_be_checked()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")  # a choice exists, so the second Escape closes
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Privacy choices"
    assert not page_log.errors and not page_log.failed_responses


def test_reject_all_by_keyboard(page: Page, catalog: None) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "reject"
    page.keyboard.press("Enter")
    expect(banner(page)).to_be_hidden()
    assert cookies(page.context)["p13n_consent"] == "1:"


def test_an_error_keeps_the_banner_and_says_so(page: Page, catalog: None) -> None:
    page.route("**/personalization/api/consent/", lambda route: route.fulfill(status=500))
    page.goto("/")
    banner(page).get_by_role("button", name="Accept all").click()
    expect(banner(page).get_by_role("alert")).to_have_text(re.compile("could not be saved"))
    expect(banner(page)).to_be_visible()
    assert "p13n_consent" not in cookies(page.context)
    page.unroute("**/personalization/api/consent/")
    banner(page).get_by_role("button", name="Accept all").click()
    expect(banner(page)).to_be_hidden()
    assert cookies(page.context)["p13n_consent"] == "1:analytics+personalization+marketing"


# A stand-in for an IAB TCF v2.2 CMP: __tcfapi("addEventListener", 2, cb) calls back with the
# stored TC data; window.fakeCmpChoose(consents) plays a visitor's new choice in the CMP's UI.
FAKE_TCF = """
(() => {
  const listeners = [];
  let data = {eventStatus: "cmpuishown", gdprApplies: true, purpose: {consents: {}}};
  window.__tcfapi = (command, version, callback) => {
    if (command !== "addEventListener" || version !== 2) return;
    listeners.push(callback);
    callback(data, true);
  };
  window.fakeCmpChoose = (consents) => {
    data = {eventStatus: "useractioncomplete", gdprApplies: true, purpose: {consents: consents}};
    listeners.forEach((callback) => callback(data, true));
  };
  const stored = localStorage.getItem("fake-tc");
  if (stored) {
    data = {eventStatus: "tcloaded", gdprApplies: true, purpose: {consents: JSON.parse(stored)}};
  }
})();
"""


def test_a_tcf_cmp_replaces_the_banner(
    page: Page, page_log: PageLog, settings: Any, catalog: None
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_SOURCE": "tcf"}
    page.add_init_script(FAKE_TCF)
    page.goto("/")
    page.wait_for_timeout(500)
    assert page.locator("#p13n-consent").count() == 0  # no banner of ours
    assert page.get_by_role("link", name="Privacy choices").count() == 0  # the CMP's own links
    assert not ConsentRecord.objects.exists()  # the CMP's UI is showing: no choice yet

    # Purposes 1, 8, 9 make analytics; 1, 5, 6 personalization; marketing needs 2, 3, 4, 7 too.
    page.evaluate("window.fakeCmpChoose({1: true, 5: true, 6: true, 8: true, 9: true})")
    wait_for_cookie(page, "p13n_consent", "1:analytics+personalization")
    record = ConsentRecord.objects.get()
    assert (record.method, record.granted) == ("cmp", ["analytics", "personalization"])
    assert record.vid == cookies(page.context)["p13n_vid"]

    # A later visit: the CMP loads a choice the visitor changed elsewhere (analytics only).
    page.evaluate("localStorage.setItem('fake-tc', JSON.stringify({1: true, 8: true, 9: true}))")
    page.goto("/cart/")
    wait_for_cookie(page, "p13n_consent", "1:analytics")
    assert [r.granted for r in ConsentRecord.objects.order_by("pk")] == [
        ["analytics", "personalization"],
        ["analytics"],
    ]
    # The same choice again: our cookie already says it, so nothing is posted.
    page.goto("/")
    page.wait_for_timeout(1000)
    assert ConsentRecord.objects.count() == 2
    # Collection follows the CMP's answer: the server recorded the home page's view.
    assert any(e.name == "page_view" and e.path == "/" for e in stored_events(at_least=1))
    assert not page_log.errors and not page_log.failed_responses


def wait_for_cookie(page: Page, name: str, value: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while cookies(page.context).get(name) != value:
        assert time.monotonic() < deadline, cookies(page.context)
        page.wait_for_timeout(100)


# OneTrust after the visitor answered its banner with performance cookies only.
FAKE_ONETRUST = """
document.cookie = "OptanonAlertBoxClosed=2026-01-01T00:00:00.000Z; path=/";
window.OnetrustActiveGroups = ",C0001,C0002,";
window.shopWrapperCalls = 0;
window.OptanonWrapper = () => { window.shopWrapperCalls += 1; };
"""


def test_onetrust_groups_are_mirrored(page: Page, page_log: PageLog, settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_SOURCE": "onetrust"}
    page.add_init_script(FAKE_ONETRUST)
    page.goto("/")
    wait_for_cookie(page, "p13n_consent", "1:analytics")
    assert page.locator("#p13n-consent").count() == 0
    # The visitor opens OneTrust's preferences and allows targeting cookies too.
    page.evaluate(
        """() => {
            window.OnetrustActiveGroups = ",C0001,C0002,C0004,";
            window.OptanonWrapper();
        }"""
    )
    wait_for_cookie(page, "p13n_consent", "1:analytics+marketing")
    assert page.evaluate("window.shopWrapperCalls") == 1  # the shop's own callback still runs
    assert [(r.method, r.granted) for r in ConsentRecord.objects.order_by("pk")] == [
        ("cmp", ["analytics"]),
        ("cmp", ["analytics", "marketing"]),
    ]
    assert not page_log.errors and not page_log.failed_responses
