"""POST /personalization/api/events/: validation, limits, identity, consent and rate limits."""

from __future__ import annotations

import json
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import signing
from django.test import override_settings

from personalization.tracking import tokens
from tests.api.support import Visitor, buffered, make_visitor
from tests.factories import make_user


def event(name: str = "add_to_cart", **fields: Any) -> dict[str, Any]:
    fields.setdefault("event_id", str(uuid.uuid4()))
    if name in {"add_to_cart", "product_view", "image_view"}:
        fields.setdefault("product_id", "42")
    return {"name": name, **fields}


def settings_with(**values: Any) -> override_settings:
    from django.conf import settings

    return override_settings(PERSONALIZATION={**settings.PERSONALIZATION, **values})


def test_a_single_event_is_queued_with_the_identity_of_the_request(visitor: Visitor) -> None:
    sent = event(
        "add_to_cart",
        properties={"quantity": 2},
        url="https://shop.example/products/42/?utm_source=news&utm_medium=email",
        referrer="https://search.example/results?q=secret",
        timestamp=int(time.time() * 1000) - 5000,
    )
    response = visitor.post({"token": visitor.token, **sent}, HTTP_USER_AGENT="TestBrowser/1.0")

    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    [queued] = buffered()
    assert queued["event_id"] == sent["event_id"]
    assert queued["name"] == "add_to_cart"
    assert queued["vid"] == visitor.vid
    assert queued["user_id"] is None
    assert uuid.UUID(queued["session_id"])
    assert queued["product_id"] == "42"
    assert queued["properties"] == {"quantity": 2}
    assert queued["path"] == "/products/42/"
    assert queued["utm"] == {"source": "news", "medium": "email", "campaign": ""}
    assert queued["referrer"] == "https://search.example/results"
    assert queued["referrer_host"] == "search.example"
    assert queued["ua"] == "TestBrowser/1.0"
    assert queued["source"] == "api"
    assert queued["occurred_at"] == queued["client_ts"] != queued["received_at"]


def test_identity_in_the_payload_is_ignored(visitor: Visitor) -> None:
    sent = event(vid="someone-else", user_id=1, session_id=str(uuid.uuid4()), ua="Forged/1")
    assert visitor.post({"token": visitor.token, **sent}).status_code == 202
    [queued] = buffered()
    assert (queued["vid"], queued["user_id"], queued["ua"]) == (visitor.vid, None, "")
    assert queued["session_id"] != sent["session_id"]


def test_a_batch_shares_the_visitor_and_the_session(visitor: Visitor) -> None:
    events = [event("product_view"), event("add_to_cart"), event("search", properties={"q": "x"})]
    response = visitor.post({"token": visitor.token, "source": "js", "events": events})

    assert response.status_code == 202
    assert response.json()["accepted"] == 3
    queued = buffered()
    assert [e["event_id"] for e in queued] == [e["event_id"] for e in events]
    assert {e["vid"] for e in queued} == {visitor.vid}
    assert len({e["session_id"] for e in queued}) == 1
    assert {e["source"] for e in queued} == {"js"}


def test_a_later_batch_continues_the_session(visitor: Visitor) -> None:
    visitor.post({"token": visitor.token, "events": [event()]})
    visitor.post({"token": visitor.token, "events": [event()]})
    first, second = buffered()
    assert first["session_id"] == second["session_id"]


def test_the_token_may_come_in_a_header(visitor: Visitor) -> None:
    response = visitor.post({"events": [event()]}, HTTP_X_P13N_TOKEN=visitor.token)
    assert response.status_code == 202
    assert buffered()[0]["vid"] == visitor.vid


def test_a_text_plain_body_is_read_as_json(visitor: Visitor) -> None:
    # navigator.sendBeacon sends a string body as text/plain.
    body = json.dumps({"token": visitor.token, "events": [event()]})
    response = visitor.post(body, content_type="text/plain;charset=UTF-8")
    assert response.status_code == 202
    assert len(buffered()) == 1


def test_invalid_events_are_rejected_by_index_and_the_valid_ones_kept(visitor: Visitor) -> None:
    events = [
        event("product_view"),
        event("teleport"),
        {"name": "add_to_cart", "event_id": str(uuid.uuid4())},
        "not an object",
        event("search", event_id="not-a-uuid"),
        event("search", properties=["a", "list"]),
        event("search", timestamp="yesterday"),
        event("search"),
    ]
    response = visitor.post({"token": visitor.token, "events": events})

    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    reasons = {item["index"]: item["reason"] for item in body["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6]
    assert "unknown event name 'teleport'" in reasons[1]
    assert "needs a product_id" in reasons[2]
    assert "JSON object" in reasons[3]
    assert "UUID" in reasons[4]
    assert "properties" in reasons[5]
    assert "timestamp" in reasons[6]
    assert [e["event_id"] for e in buffered()] == [
        events[0]["event_id"],
        events[7]["event_id"],
    ]


def test_segment_and_ga4_aliases_are_accepted(visitor: Visitor) -> None:
    events = [
        {"name": "Product Added", "properties": {"product_id": "7", "quantity": 1}},
        {"event": "view_item", "properties": {"items": [{"item_id": "8", "price": 3}]}},
        {"name": "Order Completed", "properties": {"order_id": "A1", "revenue": 10}},
    ]
    response = visitor.post({"token": visitor.token, "events": events})
    assert response.json()["accepted"] == 3
    assert [(e["name"], e["product_id"]) for e in buffered()] == [
        ("add_to_cart", "7"),
        ("product_view", "8"),
        ("purchase", ""),
    ]


def test_a_repeated_event_id_within_a_batch_is_dropped(visitor: Visitor) -> None:
    first = event()
    events = [first, event(), {**first, "properties": {"again": True}}]
    response = visitor.post({"token": visitor.token, "events": events})
    assert response.json() == {"accepted": 2, "duplicates": 1, "rejected": []}
    queued = buffered()
    assert [e["event_id"] for e in queued] == [first["event_id"], events[1]["event_id"]]
    assert queued[0]["properties"] == {}


@pytest.mark.django_db(transaction=True)
def test_a_retried_batch_is_stored_once(visitor: Visitor) -> None:
    from personalization.models.tracking import Event
    from personalization.tracking.collect import flush_buffer

    events = [event("product_view"), event("add_to_cart")]
    for _attempt in range(2):
        assert visitor.post({"token": visitor.token, "events": events}).status_code == 202
    flush_buffer()
    ids = [e["event_id"] for e in events]
    assert Event.objects.filter(event_id__in=ids).count() == 2


def test_events_without_an_id_get_one(visitor: Visitor) -> None:
    visitor.post({"token": visitor.token, "events": [{"name": "search"}, {"name": "search"}]})
    first, second = buffered()
    assert uuid.UUID(first["event_id"]) != uuid.UUID(second["event_id"])


# --- limits ---------------------------------------------------------------------------------


def test_too_many_events_are_refused_whole(visitor: Visitor) -> None:
    with settings_with(INGEST_MAX_EVENTS=3):
        response = visitor.post({"token": visitor.token, "events": [event() for _ in range(4)]})
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
        assert "4 events; the limit is 3" in response.json()["detail"]
        assert len(buffered()) == 0
        ok = visitor.post({"token": visitor.token, "events": [event() for _ in range(3)]})
        assert ok.status_code == 202


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(visitor: Visitor) -> None:
    with settings_with(INGEST_MAX_BATCH_BYTES=1000):
        # Not even JSON: had it been parsed, the answer would be 400.
        response = visitor.post("{" * 1001)
        assert response.status_code == 413
        assert response.json() == {
            "detail": "The body is 1001 bytes; the limit is 1000 bytes.",
            "code": "too_large",
        }
        body = {"token": visitor.token, "events": [event(properties={"x": "y" * 1000})]}
        assert visitor.post(body).status_code == 413
        assert len(buffered()) == 0


def test_an_event_over_the_limit_is_rejected_alone(visitor: Visitor) -> None:
    with settings_with(INGEST_MAX_EVENT_BYTES=300):
        events = [event(), event(properties={"note": "x" * 300}), event()]
        response = visitor.post({"token": visitor.token, "events": events})
        assert len(buffered()) == 2
    body = response.json()
    assert response.status_code == 202
    assert body["accepted"] == 2
    [rejection] = body["rejected"]
    assert rejection["index"] == 1
    assert "the limit is 300" in rejection["reason"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("{not json", "JSON parse error"),
        # Refused by orjson and by DRF's strict parser alike.
        ('{"events": [{"name": "dwell", "properties": {"seconds": NaN}}]}', "JSON parse error"),
        ("[]", "must be a JSON object"),
        (json.dumps({"events": {"name": "search"}}), "events must be a list"),
        (json.dumps({"events": [], "source": "server"}), "source must be one of js, api"),
    ],
)
def test_a_malformed_body_is_a_400(visitor: Visitor, body: str, detail: str) -> None:
    response = visitor.post(body, HTTP_X_P13N_TOKEN=visitor.token)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


@pytest.mark.django_db
def test_the_event_size_limit_counts_utf8_bytes(visitor: Visitor) -> None:
    # 100 three-byte characters: 300 bytes of UTF-8, where the 6-byte \uXXXX escapes of an ASCII
    # encoding would make 600 and push the event over the limit.
    with settings_with(INGEST_MAX_EVENT_BYTES=500):
        small = event(properties={"note": "漢" * 100})
        large = event(properties={"note": "漢" * 140})
        response = visitor.post({"token": visitor.token, "events": [small, large]})
    assert response.json()["accepted"] == 1
    [rejection] = response.json()["rejected"]
    assert rejection["index"] == 1
    assert "the limit is 500" in rejection["reason"]


def test_an_unsupported_content_type_is_a_415(visitor: Visitor) -> None:
    response = visitor.post("events=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


# --- token and identity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [None, "", "garbage", signing.dumps({"vid": "x" * 22}), tokens.issue("v" * 22) + "x"],
    ids=["missing", "empty", "garbage", "other-salt", "tampered"],
)
def test_a_bad_token_is_refused(token: str | None) -> None:
    visitor = make_visitor(cookie=False)
    body: dict[str, Any] = {"events": [event()]}
    if token is not None:
        body["token"] = token
    response = visitor.post(body)
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_token"
    assert "valid visitor token is required" in response.json()["detail"]
    assert len(buffered()) == 0


def test_an_expired_token_is_refused(visitor: Visitor, monkeypatch) -> None:
    later = time.time() + 3600
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    with settings_with(VISITOR_TOKEN_MAX_AGE=60):
        response = visitor.post({"token": visitor.token, "events": [event()]})
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_token"
    assert "expired" in response.json()["detail"]


def test_a_token_of_another_visitor_than_the_cookie_is_stale() -> None:
    visitor = make_visitor()
    other = make_visitor()
    response = visitor.post({"token": other.token, "events": [event()]})
    assert response.status_code == 403
    assert response.json()["code"] == "stale_token"
    assert len(buffered()) == 0


def test_without_the_visitor_cookie_the_token_alone_names_the_visitor() -> None:
    visitor = make_visitor(cookie=False)
    assert visitor.post({"token": visitor.token, "events": [event()]}).status_code == 202
    assert buffered()[0]["vid"] == visitor.vid


@pytest.mark.django_db
def test_the_logged_in_user_is_attached_when_the_cookie_vouches_for_the_token() -> None:
    user = make_user()
    visitor = make_visitor()
    visitor.client.force_login(user)
    visitor.post({"token": visitor.token, "events": [event()]})
    assert buffered()[0]["user_id"] == user.pk


@pytest.mark.django_db
def test_no_user_is_attached_without_the_visitor_cookie() -> None:
    # A cross-site post (or any post without our cookie) cannot speak for the logged-in user.
    visitor = make_visitor(cookie=False)
    visitor.client.force_login(make_user())
    visitor.post({"token": visitor.token, "events": [event()]})
    assert buffered()[0]["user_id"] is None


# --- consent ---------------------------------------------------------------------------------


@pytest.mark.parametrize("consent", [None, "1:", "1:marketing", "garbage"])
def test_without_consent_nothing_is_stored(consent: str | None) -> None:
    visitor = make_visitor(consent=consent)
    response = visitor.post({"token": visitor.token, "events": [event()]})
    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"
    assert "not consented" in response.json()["detail"]
    assert len(buffered()) == 0


@pytest.mark.parametrize("consent", ["1:analytics", "1:personalization"])
def test_either_tracking_category_is_enough(consent: str) -> None:
    visitor = make_visitor(consent=consent)
    assert visitor.post({"token": visitor.token, "events": [event()]}).status_code == 202


def test_without_a_consent_requirement_no_cookie_is_needed() -> None:
    visitor = make_visitor(consent=None)
    with settings_with(CONSENT_REQUIRED=False):
        response = visitor.post({"token": visitor.token, "events": [event()]})
        assert len(buffered()) == 1
    assert response.status_code == 202


def test_when_tracking_is_disabled_nothing_is_stored(visitor: Visitor) -> None:
    with settings_with(TRACKING_ENABLED=False):
        response = visitor.post({"token": visitor.token, "events": [event()]})
        assert len(buffered()) == 0
    assert response.status_code == 403
    assert response.json()["code"] == "tracking_disabled"


# --- rate limits -----------------------------------------------------------------------------


def test_the_per_visitor_rate_limit_answers_429_with_retry_after() -> None:
    visitor = make_visitor()
    body = {"token": visitor.token, "events": [event()]}
    with settings_with(INGEST_RATE_PER_VISITOR="2/min"):
        assert [visitor.post(body).status_code for _ in range(2)] == [202, 202]
        response = visitor.post(body)
        assert response.status_code == 429
        assert response.json()["code"] == "throttled"
        assert 0 < int(response["Retry-After"]) <= 60
        # Another visitor behind the same address is not held back.
        other = make_visitor()
        other.address = visitor.address
        assert other.post({"token": other.token, "events": [event()]}).status_code == 202
        assert len(buffered()) == 3


def test_the_per_ip_rate_limit_answers_429_with_retry_after() -> None:
    first = make_visitor()
    with settings_with(INGEST_RATE_PER_IP="2/hour"):
        for _ in range(2):
            assert first.post({"token": first.token, "events": [event()]}).status_code == 202
        other = make_visitor()
        other.address = first.address
        response = other.post({"token": other.token, "events": [event()]})
        assert response.status_code == 429
        assert 60 < int(response["Retry-After"]) <= 3600
        assert len(buffered()) == 2


def test_rates_are_read_when_the_request_comes() -> None:
    visitor = make_visitor()
    body = {"token": visitor.token, "events": [event()]}
    assert visitor.post(body).status_code == 202
    with settings_with(INGEST_RATE_PER_VISITOR="1/min"):
        assert visitor.post(body).status_code == 429
    assert visitor.post(body).status_code == 202
