"""``GET /personalization/api/segments/me/``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from personalization.models import Segment, Visitor
from personalization.models.tracking import new_visitor_id
from personalization.segments.membership import enter, leave
from tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/personalization/api/segments/me/"
GRANTED = "1:analytics+personalization"


def browser(client, vid: str, consent: str | None = GRANTED):
    client.cookies["p13n_vid"] = vid
    if consent is not None:
        client.cookies["p13n_consent"] = consent
    return client


def test_lists_the_visitors_current_segments_oldest_first(client) -> None:
    visitor = Visitor.objects.create(vid=new_visitor_id())
    person = ("visitor", visitor.pk)
    start = timezone.now() - dt.timedelta(hours=2)
    enter(Segment.objects.get(slug="cart-abandoners"), person, now=start)
    enter(Segment.objects.get(slug="bargain-hunters"), person, now=start + dt.timedelta(hours=1))
    enter(Segment.objects.get(slug="new-visitors"), person)
    leave(Segment.objects.get(slug="new-visitors"), person)
    response = browser(client, visitor.vid).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["personalization_allowed"] is True
    assert [s["slug"] for s in body["segments"]] == ["cart-abandoners", "bargain-hunters"]
    first = body["segments"][0]
    assert first["name"] == "Cart abandoners"
    assert (first["kind"], first["mode"]) == ("rule", "static")
    assert dt.datetime.fromisoformat(first["entered_at"].replace("Z", "+00:00")) == start


def test_without_consent_the_list_is_empty(client) -> None:
    visitor = Visitor.objects.create(vid=new_visitor_id())
    enter(Segment.objects.get(slug="new-visitors"), ("visitor", visitor.pk))
    body = browser(client, visitor.vid, consent="1:analytics").get(URL).json()
    assert body == {"personalization_allowed": False, "segments": []}


def test_an_unknown_browser_has_no_segments(client) -> None:
    body = browser(client, new_visitor_id()).get(URL).json()
    assert body == {"personalization_allowed": True, "segments": []}


def test_a_logged_in_user_gets_their_segments_once(client) -> None:
    user = make_user()
    visitor = Visitor.objects.create(vid=new_visitor_id())
    # Before the log-in merge has run both the user and the visitor can be in a segment.
    enter(Segment.objects.get(slug="window-shoppers"), ("user", user.pk))
    enter(Segment.objects.get(slug="window-shoppers"), ("visitor", visitor.pk))
    client.force_login(user)
    body = browser(client, visitor.vid).get(URL).json()
    assert [s["slug"] for s in body["segments"]] == ["window-shoppers"]


def test_the_endpoint_is_in_the_schema(client) -> None:
    schema = client.get("/personalization/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/personalization/api/segments/me/"]["get"]
    assert operation["operationId"] == "segments_me"
    assert "MySegments" in schema["components"]["schemas"]
