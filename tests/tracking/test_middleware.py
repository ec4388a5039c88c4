"""TrackingMiddleware: consent first, the visitor cookie, and server-side page and product views."""

from __future__ import annotations

from http.cookies import Morsel
from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpResponse
from django.test import AsyncClient, Client

from personalization.adapters import InMemoryStoreAdapter
from personalization.consent.policy import current_policy_version
from personalization.middleware import TrackingMiddleware
from personalization.models.tracking import Event, Session, Visitor
from personalization.tracking.buffer import get_buffer
from personalization.tracking.sessions import end_session

from .conftest import BROWSER, CHROME

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site")]

VID = "p13n_vid"


def buffered() -> list[dict[str, Any]]:
    buffer = get_buffer()
    return buffer.peek(len(buffer))


def vid_cookie(response: HttpResponse) -> Morsel | None:
    return response.cookies.get(VID)


def test_before_consent_there_is_no_cookie_no_visitor_and_no_event(flush: Any) -> None:
    client = Client(headers={"user-agent": CHROME})
    response = client.get("/page/")
    assert response.status_code == 200
    assert vid_cookie(response) is None
    assert buffered() == []
    flush()
    assert not Visitor.objects.exists()
    assert not Event.objects.exists()


def test_rejected_consent_records_nothing() -> None:
    client = Client(headers={"user-agent": CHROME})
    client.cookies["p13n_consent"] = "1:"
    assert vid_cookie(client.get("/page/")) is None
    assert buffered() == []


def test_marketing_consent_alone_records_nothing(consenting_client: Client) -> None:
    consenting_client.cookies["p13n_consent"] = "1:marketing"
    assert vid_cookie(consenting_client.get("/page/")) is None
    assert buffered() == []


def test_the_visitor_cookie_is_first_party_http_only_and_lax(consenting_client: Client) -> None:
    cookie = vid_cookie(consenting_client.get("/page/"))
    assert cookie is not None
    assert len(cookie.value) == 22
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 60 * 60 * 24 * 365
    assert cookie["path"] == "/"
    assert not cookie["secure"]
    assert not cookie["domain"]


def test_the_cookie_is_secure_on_https(consenting_client: Client) -> None:
    assert vid_cookie(consenting_client.get("/page/", secure=True))["secure"] is True


def test_the_cookie_age_is_configurable(
    consenting_client: Client, site: dict[str, Any], settings: Any
) -> None:
    settings.PERSONALIZATION = {**site, "VISITOR_COOKIE_AGE": 3600}
    assert vid_cookie(consenting_client.get("/page/"))["max-age"] == 3600


def test_an_html_get_records_a_page_view(consenting_client: Client, flush: Any) -> None:
    response = consenting_client.get(
        "/page/?utm_source=news&utm_campaign=spring",
        headers={"referer": "https://search.example.com/?q=mugs"},
    )
    vid = vid_cookie(response).value
    assert flush() == 1
    view = Event.objects.get()
    assert view.name == "page_view"
    assert view.product_id == ""
    assert view.path == "/page/"
    assert view.referrer_host == "search.example.com"
    assert view.visitor.vid == vid
    assert (view.device_type, view.browser, view.os) == ("desktop", "Chrome", "Windows")
    assert view.source == "server"
    session = view.session
    assert session.landing_path == "/page/"
    assert (session.utm_source, session.utm_campaign) == ("news", "spring")
    assert session.referrer == "https://search.example.com/"


def test_a_product_page_records_one_product_view(consenting_client: Client, flush: Any) -> None:
    consenting_client.get("/products/p13n-test-mug/")
    flush()
    view = Event.objects.get()
    assert (view.name, view.product_id, view.path) == (
        "product_view",
        "p13n-1",
        "/products/p13n-test-mug/",
    )


def test_the_request_does_no_database_work(
    consenting_client: Client, django_assert_num_queries: Any
) -> None:
    # The consent gate reads the policy version from the cache (one query per cache lifetime).
    current_policy_version()
    with django_assert_num_queries(0):
        consenting_client.get("/page/")
        consenting_client.get("/products/p13n-test-mug/")
    assert [e["name"] for e in buffered()] == ["page_view", "product_view"]


def test_the_product_lookup_is_cached(
    consenting_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = InMemoryStoreAdapter.product_id_for_path

    def counting(self: InMemoryStoreAdapter, path: str) -> str | None:
        calls.append(path)
        return real(self, path)

    monkeypatch.setattr(InMemoryStoreAdapter, "product_id_for_path", counting)
    for _ in range(3):
        consenting_client.get("/products/p13n-test-teapot/")
        consenting_client.get("/page/")
    assert sorted(calls) == ["/page/", "/products/p13n-test-teapot/"]
    assert [e["product_id"] for e in buffered()].count("p13n-2") == 3


def test_a_returning_visitor_keeps_its_id_and_session(
    consenting_client: Client, flush: Any
) -> None:
    first = consenting_client.get("/page/")
    vid = vid_cookie(first).value
    second = consenting_client.get("/products/p13n-test-mug/")
    # No Set-Cookie while the visit goes on.
    assert vid_cookie(second) is None
    flush()
    assert Visitor.objects.get().vid == vid
    session = Session.objects.get()
    assert session.event_count == 2


def test_a_new_session_renews_the_cookie(consenting_client: Client) -> None:
    vid = vid_cookie(consenting_client.get("/page/")).value
    end_session(vid)
    renewed = vid_cookie(consenting_client.get("/page/"))
    assert renewed is not None
    assert renewed.value == vid
    first, second = buffered()
    assert first["session_id"] != second["session_id"]


def test_a_malformed_visitor_cookie_is_replaced(consenting_client: Client) -> None:
    consenting_client.cookies[VID] = "<script>"
    cookie = vid_cookie(consenting_client.get("/page/"))
    assert cookie.value != "<script>"
    assert buffered()[0]["vid"] == cookie.value


def test_withdrawn_consent_deletes_the_visitor_cookie(consenting_client: Client) -> None:
    consenting_client.get("/page/")
    consenting_client.cookies["p13n_consent"] = "1:"
    cookie = vid_cookie(consenting_client.get("/page/"))
    assert cookie.value == ""
    assert cookie["max-age"] == 0
    assert len(buffered()) == 1


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("post", "/form/", {}),
        ("get", "/data/", {}),
        ("get", "/missing/", {}),
        ("get", "/redirect/", {}),
        ("head", "/page/", {}),
        ("get", "/static/page/", {}),
        ("get", "/media/page/", {}),
        ("get", "/admin/page/", {}),
        ("get", "/excluded/page/", {}),
        ("get", "/page/", {"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}),
        ("get", "/page/", {"user-agent": "curl/8.5.0"}),
        ("get", "/page/", {"user-agent": ""}),
        ("get", "/page/", {"sec-purpose": "prefetch"}),
        ("get", "/page/", {"x-requested-with": "XMLHttpRequest"}),
        ("get", "/page/", {"hx-request": "true"}),
    ],
)
def test_no_view_is_recorded_for(
    consenting_client: Client, method: str, path: str, headers: dict
) -> None:
    response = getattr(consenting_client, method)(path, headers=headers)
    assert response.status_code in (200, 302, 404)
    assert buffered() == []
    # Nothing used the visitor id, so no cookie is set either.
    assert vid_cookie(response) is None


def test_a_view_that_uses_the_visitor_id_gets_the_cookie_set_on_an_excluded_path(
    consenting_client: Client,
) -> None:
    response = consenting_client.get("/excluded/vid/")
    assert vid_cookie(response).value == response.json()["vid"]
    assert buffered() == []


def test_disabled_tracking_records_nothing(
    consenting_client: Client, site: dict, settings: Any
) -> None:
    settings.PERSONALIZATION = {**site, "TRACKING_ENABLED": False}
    response = consenting_client.get("/page/")
    assert vid_cookie(response) is None
    assert buffered() == []


def test_without_required_consent_visitors_are_tracked_by_default(
    site: dict, settings: Any
) -> None:
    settings.PERSONALIZATION = {**site, "CONSENT_REQUIRED": False}
    response = Client(headers={"user-agent": CHROME}).get("/page/")
    assert vid_cookie(response) is not None
    assert len(buffered()) == 1


def test_gpc_withdraws_marketing_only_so_views_are_still_recorded(
    consenting_client: Client,
) -> None:
    consenting_client.get("/page/", headers={"sec-gpc": "1"})
    assert len(buffered()) == 1


def test_a_failing_buffer_never_breaks_the_page(
    consenting_client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(events: list[dict[str, Any]]) -> None:
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr("personalization.middleware.enqueue", down)
    response = consenting_client.get("/page/")
    assert response.status_code == 200
    assert "Could not record the page view" in caplog.text


def test_the_logged_in_user_is_recorded(
    consenting_client: Client, django_user_model: Any, flush: Any
) -> None:
    user = django_user_model.objects.create_user("ada", password="x")
    consenting_client.force_login(user)
    consenting_client.get("/page/")
    flush()
    assert Event.objects.get().user == user


def test_the_middleware_is_async_capable() -> None:
    async def get_response(request: Any) -> HttpResponse:
        return HttpResponse()

    def get_response_sync(request: Any) -> HttpResponse:
        return HttpResponse()

    assert iscoroutinefunction(TrackingMiddleware(get_response)) is True
    assert iscoroutinefunction(TrackingMiddleware(get_response_sync)) is False
    assert TrackingMiddleware.sync_capable and TrackingMiddleware.async_capable


def test_the_async_path_records_views_and_sets_the_cookie(
    async_browser: Any, flush: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async_calls: list[str] = []
    real_acall = TrackingMiddleware.__acall__

    async def spy(self: TrackingMiddleware, request: Any) -> HttpResponse:
        async_calls.append(request.path)
        return await real_acall(self, request)

    monkeypatch.setattr(TrackingMiddleware, "__acall__", spy)

    async def visit() -> tuple[HttpResponse, HttpResponse, HttpResponse]:
        first = await async_browser.get("/async/", headers=BROWSER)
        second = await async_browser.get("/products/p13n-test-mug/", headers=BROWSER)
        json = await async_browser.get("/data/", headers=BROWSER)
        return first, second, json

    first, second, json = async_to_sync(visit)()
    assert async_calls == ["/async/", "/products/p13n-test-mug/", "/data/"]
    assert first.status_code == second.status_code == 200
    vid = vid_cookie(first).value
    assert vid_cookie(second) is None
    assert vid_cookie(json) is None
    assert [(e["name"], e["vid"]) for e in buffered()] == [
        ("page_view", vid),
        ("product_view", vid),
    ]
    flush()
    assert Session.objects.get().event_count == 2


def test_the_async_path_respects_consent() -> None:
    response = async_to_sync(AsyncClient().get)("/async/", headers=BROWSER)
    assert response.status_code == 200
    assert vid_cookie(response) is None
    assert buffered() == []
