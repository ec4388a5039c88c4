"""``personalization.track()``: server-side events from a request or for a user."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

import personalization
from personalization.models.tracking import Event
from personalization.tracking import server
from personalization.tracking.buffer import get_buffer
from personalization.tracking.events import EventValidationError

from .conftest import CHROME, CONSENT_ALL

pytestmark = pytest.mark.django_db


def buffered() -> list[dict[str, Any]]:
    buffer = get_buffer()
    return buffer.peek(len(buffer))


def consenting_request(path: str = "/cart/add/") -> Any:
    request = RequestFactory().post(path, headers={"user-agent": CHROME})
    request.COOKIES["p13n_consent"] = CONSENT_ALL
    request.user = AnonymousUser()
    return request


def test_track_is_exported_lazily() -> None:
    assert personalization.track is server.track
    code = (
        "import sys, personalization; "
        "assert 'personalization.tracking.server' not in sys.modules; "
        "assert 'django.db.models' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.usefixtures("site")
def test_an_event_from_a_request_joins_the_visitor_and_session(
    consenting_client: Client, flush: Any
) -> None:
    consenting_client.get("/page/")
    response = consenting_client.post("/cart/add/", {"product": "p13n-1"})
    event_id = response.json()["event_id"]
    page_view, add = buffered()
    assert add["event_id"] == event_id
    assert (add["vid"], add["session_id"]) == (page_view["vid"], page_view["session_id"])
    flush()
    stored = Event.objects.get(event_id=event_id)
    assert (stored.name, stored.product_id, stored.properties) == (
        "add_to_cart",
        "p13n-1",
        {"quantity": 2},
    )
    assert stored.source == "server"
    assert stored.path == "/cart/add/"
    assert stored.device_type == "desktop"
    assert stored.session.event_count == 2


@pytest.mark.usefixtures("site")
def test_without_consent_nothing_is_collected() -> None:
    client = Client(headers={"user-agent": CHROME})
    response = client.post("/cart/add/", {"product": "p13n-1"})
    assert response.json()["event_id"] is None
    assert "p13n_vid" not in response.cookies
    assert buffered() == []


def test_a_request_without_the_middleware_gets_a_context() -> None:
    request = consenting_request()
    event_id = personalization.track(request, "search", query="mugs")
    assert event_id is not None
    (event,) = buffered()
    assert event["vid"] == request.personalization.vid
    assert event["properties"] == {"query": "mugs"}


def test_the_product_may_be_an_object_with_a_pk() -> None:
    personalization.track(consenting_request(), "wishlist_add", product=SimpleNamespace(pk=17))
    assert buffered()[0]["product_id"] == "17"


def test_aliases_are_accepted() -> None:
    personalization.track(consenting_request(), "Product Added", product=3)
    assert buffered()[0]["name"] == "add_to_cart"


def test_properties_are_made_json_safe(flush: Any) -> None:
    personalization.track(
        consenting_request(),
        "purchase",
        revenue=Decimal("19.90"),
        currency="EUR",
        paid_at=dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC),
        lines=[{"product_id": "3", "quantity": 1}],
    )
    flush()
    assert Event.objects.get().properties == {
        "revenue": "19.90",
        "currency": "EUR",
        "paid_at": "2026-03-01T12:00:00Z",
        "lines": [{"product_id": "3", "quantity": 1}],
    }


def test_the_logged_in_user_is_recorded(django_user_model: Any) -> None:
    request = consenting_request()
    request.user = django_user_model.objects.create_user("ada", password="x")
    personalization.track(request, "checkout_start")
    assert buffered()[0]["user_id"] == request.user.pk


def test_for_a_user_nothing_is_collected_while_consent_is_required(
    django_user_model: Any,
) -> None:
    user = django_user_model.objects.create_user("ada", password="x")
    assert personalization.track(user, "purchase", revenue="5") is None
    assert buffered() == []


def test_for_a_user_events_are_collected_when_consent_is_not_required(
    django_user_model: Any, settings: Any, flush: Any
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_REQUIRED": False}
    user = django_user_model.objects.create_user("ada", password="x")
    event_id = personalization.track(user, "purchase", product=None, revenue="5")
    assert event_id is not None
    flush()
    stored = Event.objects.get()
    assert (str(stored.event_id), stored.user, stored.visitor, stored.session) == (
        event_id,
        user,
        None,
        None,
    )


def test_an_anonymous_user_is_not_tracked(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_REQUIRED": False}
    assert personalization.track(AnonymousUser(), "search") is None


def test_disabled_tracking_collects_nothing(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "TRACKING_ENABLED": False}
    assert personalization.track(consenting_request(), "search") is None
    assert buffered() == []


@pytest.mark.parametrize(("name", "product"), [("teleport", None), ("add_to_cart", None)])
def test_programming_errors_are_raised(name: str, product: Any) -> None:
    with pytest.raises(EventValidationError):
        personalization.track(consenting_request(), name, product=product)


def test_an_unreachable_buffer_is_logged_and_nothing_is_returned(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(events: list[dict[str, Any]]) -> None:
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(server, "enqueue", down)
    assert personalization.track(consenting_request(), "search") is None
    assert "Could not buffer the search event" in caplog.text
