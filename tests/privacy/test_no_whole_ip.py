"""Whole client IP addresses are never stored: after a realistic visit to the demo shop (consent,
browsing, search, cart, sign-up, checkout, tracker events, log-out), no text field of any model
holds the client's address."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from personalization.tasks import flush_events
from personalization.tracking import tokens
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db

CLIENT_IP = "203.0.113.197"
FORWARDED_IP = "198.51.100.231"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField)


def visit_the_shop(client: Client) -> None:
    teapot = make_product("Teapot", category=make_category("Kitchen"), price="24.00", stock=5)

    client.get("/")
    answer = client.get("/personalization/api/consent/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/personalization/api/consent/",
        data=json.dumps({"granted": ["analytics", "personalization"], "method": "banner"}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert answer.status_code == 200 and response.status_code in (200, 201), response.content

    client.get(teapot.get_absolute_url())
    client.get("/search/", {"q": "teapot"})
    client.post(f"/cart/add/{teapot.pk}/", {"quantity": 1})
    client.post(
        "/accounts/signup/",
        {
            "username": "dora",
            "email": "dora@example.com",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )
    checkout = client.post(
        "/checkout/",
        {
            "name": "Dora Explorer",
            "address": "1 High Street",
            "city": "Bath",
            "postcode": "BA1 1AA",
            "country": "United Kingdom",
            "remember": "on",
        },
    )
    assert checkout.status_code == 302, checkout.content[:500]

    vid = client.cookies["p13n_vid"].value
    events = [
        {"name": "search", "properties": {"query": "blue teapot"}, "url": "/search/?q=teapot"},
        {"name": "dwell", "properties": {"seconds": 12}, "url": "/"},
    ]
    ingest = client.post(
        "/personalization/api/events/",
        data=json.dumps({"events": events}),
        content_type="application/json",
        headers={"X-P13N-Token": tokens.issue(vid)},
    )
    assert ingest.status_code in (200, 202), ingest.content
    client.post("/accounts/logout/")
    flush_events()


def stored_values() -> dict[str, list[str]]:
    """Every text value of every model, as strings, by ``app_label.Model.field``."""
    found = {}
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        fields += [
            f for f in model._meta.concrete_fields if type(f).__name__.startswith("Encrypted")
        ]
        for field in fields:
            values = model._default_manager.values_list(field.name, flat=True)
            found[f"{model._meta.label}.{field.name}"] = [
                json.dumps(v) if not isinstance(v, str) else v for v in values if v
            ]
    return found


def test_no_model_stores_the_whole_client_address() -> None:
    client = Client(
        REMOTE_ADDR=CLIENT_IP,
        HTTP_X_FORWARDED_FOR=f"{FORWARDED_IP}, {CLIENT_IP}",
        headers={"user-agent": CHROME},
    )
    visit_the_shop(client)

    values = stored_values()
    # The visit was stored: the scan looks at real rows.
    assert values["personalization.Event.name"]
    assert values["personalization.ConsentRecord.ip_prefix"] == ["203.0.113.0/24"]
    assert any("blue teapot" in v for v in values["personalization.Event.sensitive"])
    leaks = {
        label: [v for v in found if CLIENT_IP in v or FORWARDED_IP in v]
        for label, found in values.items()
    }
    assert {label: hits for label, hits in leaks.items() if hits} == {}
