"""The demo shop records its actions through personalization.track()."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from personalization.models import Event
from personalization.tasks import flush_events
from personalization.tracking.buffer import get_buffer
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user

pytestmark = pytest.mark.django_db

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def empty_buffer():
    get_buffer().ack(len(get_buffer()))
    yield
    get_buffer().ack(len(get_buffer()))


@pytest.fixture
def shopper() -> Client:
    client = Client(headers={"user-agent": CHROME})
    client.cookies["p13n_consent"] = "1:analytics+personalization"
    return client


@pytest.fixture
def teapot():
    return make_product("Teapot", category=make_category("Kitchen"), price="24.00", stock=5)


def stored(name: str) -> list[Event]:
    flush_events()
    return list(Event.objects.filter(name=name))


def test_add_to_cart_reuses_the_trackers_event_id(shopper, teapot):
    event_id = str(uuid.uuid4())
    shopper.post(f"/cart/add/{teapot.pk}/", {"quantity": 2, "p13n_event_id": event_id})
    [event] = stored("add_to_cart")
    assert str(event.event_id) == event_id
    assert (event.product_id, event.source) == (str(teapot.pk), "server")
    assert event.properties == {"quantity": 2, "price": "24.00"}


def test_a_malformed_tracker_event_id_is_replaced(shopper, teapot):
    shopper.post(f"/cart/add/{teapot.pk}/", {"p13n_event_id": "not-a-uuid"})
    [event] = stored("add_to_cart")
    assert str(event.event_id) != "not-a-uuid"


def test_checkout_and_purchase_are_recorded_with_lines_and_revenue(shopper, teapot):
    user = make_user("ann")
    shopper.post(f"/cart/add/{teapot.pk}/", {"quantity": 2})
    shopper.login(username="ann", password=DEFAULT_PASSWORD)
    shopper.get("/checkout/")
    response = shopper.post(
        "/checkout/",
        {
            "name": "Ann Smith",
            "address": "1 High Street",
            "city": "York",
            "postcode": "YO1 7HH",
            "country": "United Kingdom",
        },
    )
    assert response.status_code == 302, response.content
    [start] = stored("checkout_start")
    assert Decimal(start.properties["value"]) == Decimal("48.00")
    [purchase] = stored("purchase")
    assert purchase.user_id == user.pk
    assert Decimal(purchase.properties["revenue"]) == Decimal("48.00")
    assert purchase.properties["currency"] == "GBP"
    assert purchase.properties["lines"] == [
        {"product_id": str(teapot.pk), "quantity": 2, "amount": "48.00"}
    ]


def test_wishlist_and_cart_removal_are_recorded(shopper, teapot):
    make_user("bob")
    shopper.login(username="bob", password=DEFAULT_PASSWORD)
    shopper.post(f"/wishlist/toggle/{teapot.pk}/")
    shopper.post(f"/wishlist/toggle/{teapot.pk}/")
    shopper.post(f"/cart/add/{teapot.pk}/")
    shopper.post(f"/cart/remove/{teapot.pk}/")
    assert [e.product_id for e in stored("wishlist_add")] == [str(teapot.pk)]
    assert [e.product_id for e in stored("wishlist_remove")] == [str(teapot.pk)]
    assert [e.product_id for e in stored("remove_from_cart")] == [str(teapot.pk)]


def test_nothing_is_recorded_without_consent(teapot):
    client = Client(headers={"user-agent": CHROME})
    client.get(teapot.get_absolute_url())
    client.post(f"/cart/add/{teapot.pk}/")
    flush_events()
    assert not Event.objects.exists()
    assert "p13n_vid" not in client.cookies
