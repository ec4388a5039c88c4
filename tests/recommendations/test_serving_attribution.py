"""The recommendations API, feedback, impressions → clicks → conversions, placements admin."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from personalization.adapters import OrderData, OrderLineData, get_adapter
from personalization.admin.serving import placement_stats
from personalization.models import (
    NotInterested,
    Placement,
    RecommendationClick,
    RecommendationConversion,
    RecommendationImpression,
)
from personalization.recommendations.attribution import (
    attribute_conversions,
    flush_impressions,
    impression_buffer,
    write_impressions,
)
from tests.recommendations import test_serving as serving_tests
from tests.recommendations.test_serving import CONSENT_ALL, CONSENT_ANALYTICS, FakeStore, ranking

# The stub store and the in-memory catalogue of the serving tests.
fake_store = serving_tests.fake_store
catalogue = serving_tests.catalogue

pytestmark = pytest.mark.django_db

API = "/personalization/api/recommendations/"
FEEDBACK = "/personalization/api/recommendations/feedback/"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def empty_impressions() -> Any:
    buffer = impression_buffer()
    buffer.ack(len(buffer))
    yield
    buffer.ack(len(buffer))


def browser(consent: str | None = CONSENT_ALL) -> Client:
    client = Client(headers={"user-agent": CHROME})
    if consent:
        client.cookies["p13n_consent"] = consent
    return client


def place(*orders: OrderData) -> None:
    """Orders the store adapter (in memory) reports from now on."""
    get_adapter().orders.extend(orders)


@pytest.fixture
def shopper(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ann", password="x")


# --- the API ----------------------------------------------------------------------------------


def test_api_serves_a_list(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("m1", "t1", "x1")
    response = browser().get(API, {"placement": "home", "source": "trending", "limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["placement"] == "home" and body["source"] == "trending"
    assert (body["kind"], body["version"], body["reason"]) == ("trending", 15, "")
    assert [item["id"] for item in body["items"]] == ["m1", "t1"]
    first = body["items"][0]
    assert first["url"] == f"/personalization/api/recommendations/click/{body['id']}/m1/"
    assert first["product_url"] == "/products/m1/" and first["position"] == 1
    assert response["Cache-Control"] == "private, no-store"


def test_api_placement_names_the_source(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.products[("m1", "similar")] = ranking("m2")
    body = browser().get(API, {"placement": "similar", "product": "m1"}).json()
    assert (body["source"], [i["id"] for i in body["items"]]) == ("similar", ["m2"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "placement"),
        ({"placement": "home"}, "source"),
        ({"placement": "similar", "source": "nope"}, "source"),
        ({"placement": "bad place!", "source": "trending"}, "placement"),
        ({"placement": "trending", "limit": "ten"}, "limit"),
    ],
)
def test_api_rejects_bad_parameters(
    fake_store: FakeStore, catalogue: Any, params: dict, field: str
) -> None:
    response = browser().get(API, params)
    assert response.status_code == 400
    assert field in response.json()


def test_api_is_consent_aware(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("m1")
    body = browser(CONSENT_ANALYTICS).get(API, {"placement": "for_you"}).json()
    assert (body["items"], body["reason"]) == ([], "consent")
    body = browser(None).get(API, {"placement": "trending"}).json()
    assert [i["id"] for i in body["items"]] == ["m1"]


def test_api_is_in_the_schema() -> None:
    schema = Client().get("/personalization/api/schema/", {"format": "json"}).json()
    assert "/personalization/api/recommendations/" in schema["paths"]
    assert "/personalization/api/recommendations/feedback/" in schema["paths"]


# --- feedback ---------------------------------------------------------------------------------


def test_not_interested_through_the_api(fake_store: FakeStore, catalogue: Any) -> None:
    client = browser()
    client.get("/")  # the visitor gets its id
    vid = client.cookies["p13n_vid"].value
    fake_store.persons[(f"v:{vid}", "default")] = ranking("m1", "m2")
    assert [i["id"] for i in client.get(API, {"placement": "for_you"}).json()["items"]] == [
        "m1",
        "m2",
    ]
    response = client.post(FEEDBACK, {"product": "m1"}, content_type="application/json")
    assert response.status_code == 201
    again = client.post(FEEDBACK, {"product": "m1"}, content_type="application/json")
    assert again.status_code == 201
    assert NotInterested.objects.filter(vid=vid, product_id="m1").count() == 1
    assert [i["id"] for i in client.get(API, {"placement": "for_you"}).json()["items"]] == ["m2"]


def test_not_interested_of_a_user(fake_store: FakeStore, catalogue: Any, shopper: Any) -> None:
    client = browser()
    client.force_login(shopper)
    fake_store.persons[(f"u:{shopper.pk}", "default")] = ranking("m1", "m2")
    client.post(FEEDBACK, {"product": "m2", "placement": "home"}, content_type="application/json")
    row = NotInterested.objects.get()
    assert (row.user_id, row.product_id, row.placement) == (shopper.pk, "m2", "home")
    assert [i["id"] for i in client.get(API, {"placement": "for_you"}).json()["items"]] == ["m1"]


def test_feedback_needs_consent_and_a_body(fake_store: FakeStore, catalogue: Any) -> None:
    refused = browser(CONSENT_ANALYTICS).post(
        FEEDBACK, {"product": "m1"}, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    bad = browser().post(FEEDBACK, {"rec": "not-a-uuid"}, content_type="application/json")
    assert bad.status_code == 400 and {"product", "rec"} <= set(bad.json())
    form = browser().post(FEEDBACK, {"product": "m1"})  # a form post is not accepted
    assert form.status_code == 415
    assert not NotInterested.objects.exists()


# --- impressions, clicks, conversions ---------------------------------------------------------


def _serve_and_click(client: Client, product_id: str = "m1") -> tuple[dict, Any]:
    body = client.get(API, {"placement": "home", "source": "for_you"}).json()
    item = next(i for i in body["items"] if i["id"] == product_id)
    return body, client.get(item["url"])


def test_impression_click_purchase_is_attributed(
    fake_store: FakeStore, catalogue: Any, shopper: Any
) -> None:
    client = browser()
    client.force_login(shopper)
    fake_store.persons[(f"u:{shopper.pk}", "default")] = ranking("m1", "t1")
    body, response = _serve_and_click(client)
    # The click arrives before the buffered impression is written: it is linked on the flush.
    assert response.status_code == 302 and response["Location"] == "/products/m1/"
    click = RecommendationClick.objects.get()
    assert (click.product_id, click.user_id, click.impression_id) == ("m1", shopper.pk, None)
    assert flush_impressions() == 1
    impression = RecommendationImpression.objects.get()
    assert str(impression.rec_id) == body["id"]
    assert (impression.placement.name, impression.source, impression.kind) == (
        "home",
        "for_you",
        "default",
    )
    assert (impression.version_id, impression.product_ids) == (11, ["m1", "t1"])
    click.refresh_from_db()
    assert click.impression_id == impression.pk
    # A second click on the same item of the same list counts once.
    client.get(body["items"][0]["url"])
    assert RecommendationClick.objects.count() == 1

    bought = click.clicked_at + dt.timedelta(days=2)
    place(
        OrderData(
            "N-1",
            str(shopper.pk),
            bought,
            (OrderLineData("m1", 2, Decimal("20.00")), OrderLineData("t2", 1, Decimal("5"))),
        )
    )
    now = bought + dt.timedelta(minutes=5)
    assert attribute_conversions(since=bought - dt.timedelta(hours=1), now=now) == 1
    assert attribute_conversions(since=bought - dt.timedelta(hours=1), now=now) == 0
    conversion = RecommendationConversion.objects.get()
    assert (conversion.order_id, conversion.product_id, conversion.quantity) == ("N-1", "m1", 2)
    assert conversion.amount == Decimal("20.00") and conversion.click_id == click.pk


def test_purchase_outside_the_window_or_by_someone_else_is_not_attributed(
    fake_store: FakeStore, catalogue: Any, shopper: Any, django_user_model: Any
) -> None:
    client = browser()
    client.force_login(shopper)
    fake_store.persons[(f"u:{shopper.pk}", "default")] = ranking("m1", "t1")
    _serve_and_click(client)
    clicked = RecommendationClick.objects.get().clicked_at
    other = django_user_model.objects.create_user("bob", password="x")
    late = clicked + dt.timedelta(days=7, minutes=1)
    soon = clicked + dt.timedelta(hours=1)
    place(
        *[
            OrderData("N-late", str(shopper.pk), late, (OrderLineData("m1", 1, Decimal("10")),)),
            OrderData("N-bob", str(other.pk), soon, (OrderLineData("m1", 1, Decimal("10")),)),
            OrderData("N-t1", str(shopper.pk), soon, (OrderLineData("t1", 1, Decimal("10")),)),
            OrderData("N-anon", None, soon, (OrderLineData("m1", 1, Decimal("10")),)),
            # Bought before the click: the click did not cause it.
            OrderData(
                "N-early",
                str(shopper.pk),
                clicked - dt.timedelta(hours=1),
                (OrderLineData("m1", 1, Decimal("10")),),
            ),
        ]
    )
    since = clicked - dt.timedelta(days=1)
    assert attribute_conversions(since=since, now=late + dt.timedelta(hours=1)) == 0


def test_click_as_a_visitor_then_purchase_after_log_in(
    fake_store: FakeStore, catalogue: Any, shopper: Any
) -> None:
    from personalization.models import Visitor

    client = browser()
    client.get("/")
    vid = client.cookies["p13n_vid"].value
    fake_store.persons[(f"v:{vid}", "default")] = ranking("m1")
    _serve_and_click(client)
    click = RecommendationClick.objects.get()
    assert (click.vid, click.user_id) == (vid, None)
    # Log-in links the browser's visitor to the user (the identity merge).
    Visitor.objects.update_or_create(vid=vid, defaults={"user": shopper})
    bought = click.clicked_at + dt.timedelta(hours=3)
    place(OrderData("N-9", str(shopper.pk), bought, (OrderLineData("m1", 1, Decimal("10")),)))
    assert attribute_conversions(since=bought - dt.timedelta(hours=1), now=bought) == 1


def test_click_redirect_without_consent_or_by_a_robot_records_nothing(
    fake_store: FakeStore, catalogue: Any
) -> None:
    url = f"/personalization/api/recommendations/click/{uuid.uuid4()}/m1/"
    assert browser(None).get(url)["Location"] == "/products/m1/"
    robot = Client(headers={"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    robot.cookies["p13n_consent"] = CONSENT_ALL
    assert robot.get(url).status_code == 302
    assert browser().get(url, headers={"sec-purpose": "prefetch"}).status_code == 302
    assert not RecommendationClick.objects.exists()
    assert (
        browser().get(f"/personalization/api/recommendations/click/{uuid.uuid4()}/zz/").status_code
        == 404
    )


def test_impressions_need_tracking_consent(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("m1")
    browser(None).get(API, {"placement": "trending"})
    assert flush_impressions() == 0
    browser(CONSENT_ANALYTICS).get(API, {"placement": "trending"})
    assert flush_impressions() == 1


def test_malformed_buffered_impressions_are_skipped(catalogue: Any) -> None:
    good = {
        "rec_id": str(uuid.uuid4()),
        "placement": "home",
        "source": "trending",
        "kind": "trending",
        "version_id": None,
        "product_ids": ["m1"],
        "user_id": None,
        "vid": "v",
        "served_at": timezone.now().timestamp(),
    }
    rows = [good, None, {**good, "rec_id": "nope"}, {**good, "product_ids": "m1"}, {}]
    assert write_impressions(rows) == 1
    assert RecommendationImpression.objects.count() == 1


# --- the admin --------------------------------------------------------------------------------


def test_placements_admin_shows_live_ctr_and_conversion_rate(
    fake_store: FakeStore, catalogue: Any, shopper: Any, admin_client: Client
) -> None:
    client = browser()
    client.force_login(shopper)
    fake_store.persons[(f"u:{shopper.pk}", "default")] = ranking("m1", "t1")
    fake_store.trending = ranking("t3")
    for _ in range(3):
        client.get(API, {"placement": "home", "source": "for_you"})
    _serve_and_click(client)  # 4 impressions of "home", 1 click
    client.get(API, {"placement": "sidebar", "source": "trending"})
    flush_impressions()
    clicked = RecommendationClick.objects.get().clicked_at
    place(OrderData("N-1", str(shopper.pk), clicked, (OrderLineData("m1", 1, Decimal("12.50")),)))
    attribute_conversions(since=clicked - dt.timedelta(hours=1), now=clicked)

    stats = {p.name: p for p in placement_stats(Placement.objects.all())}
    home, sidebar = stats["home"], stats["sidebar"]
    assert (home.n_impressions, home.n_clicks, home.n_conversions) == (4, 1, 1)
    assert home.revenue == Decimal("12.50")
    assert (sidebar.n_impressions, sidebar.n_clicks, sidebar.n_conversions) == (1, 0, 0)

    page = admin_client.get("/admin/personalization/placement/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "25.0%" in html  # home: 1 click / 4 impressions
    assert "100.0%" in html  # home: 1 conversion / 1 click


# --- privacy ----------------------------------------------------------------------------------


def test_export_and_erasure_of_a_user(fake_store: FakeStore, catalogue: Any, shopper: Any) -> None:
    from personalization.privacy.erasure import erase_user
    from personalization.privacy.export import export_user

    client = browser()
    client.force_login(shopper)
    fake_store.persons[(f"u:{shopper.pk}", "default")] = ranking("m1", "t1")
    _serve_and_click(client)
    flush_impressions()
    client.post(FEEDBACK, {"product": "t1"}, content_type="application/json")
    exported = export_user(shopper.pk)["recommendations"]
    assert [row["product"] for row in exported["not_interested"]] == ["t1"]
    assert [row["product"] for row in exported["clicks"]] == ["m1"]

    record = erase_user(shopper.pk)
    assert record.counts["recommendation_feedback"] == 1
    assert not NotInterested.objects.exists()
    click = RecommendationClick.objects.get()
    assert (click.user_id, click.vid) == (None, "")
    impression = RecommendationImpression.objects.get()
    assert (impression.user_id, impression.vid) == (None, "")
    # The placement's figures stay whole.
    assert placement_stats(Placement.objects.filter(name="home")).get().n_clicks == 1
