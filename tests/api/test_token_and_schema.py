"""GET /personalization/api/token/ and the OpenAPI schema."""

from __future__ import annotations

import pytest
import yaml
from django.test import Client
from drf_spectacular.validation import validate_schema

from personalization.conf import app_settings
from personalization.tracking import tokens
from tests.api.support import CONSENT, SCHEMA_URL, TOKEN_URL, make_visitor

# The consent gate reads the current policy version from the database (through a cache).
pytestmark = pytest.mark.django_db


def test_the_token_names_the_browsers_visitor() -> None:
    visitor = make_visitor()
    response = visitor.get(TOKEN_URL)
    assert response.status_code == 200
    body = response.json()
    assert tokens.read(body["token"]) == visitor.vid
    assert body["max_age"] == app_settings.VISITOR_TOKEN_MAX_AGE
    assert "no-store" in response["Cache-Control"]


def test_a_new_visitor_gets_a_cookie_and_a_token_for_it() -> None:
    client = Client()
    client.cookies[app_settings.CONSENT_COOKIE_NAME] = CONSENT
    response = client.get(TOKEN_URL)
    assert response.status_code == 200
    cookie = response.cookies[app_settings.VISITOR_COOKIE_NAME]
    assert tokens.read(response.json()["token"]) == cookie.value


@pytest.mark.parametrize("consent", [None, "1:", "1:marketing"])
def test_no_token_without_consent(consent: str | None) -> None:
    visitor = make_visitor(consent=consent)
    response = visitor.get(TOKEN_URL)
    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"
    assert "token" not in response.json()


def test_the_token_endpoint_takes_no_post() -> None:
    visitor = make_visitor()
    assert visitor.client.post(TOKEN_URL).status_code == 405


def schema() -> dict:
    response = Client().get(SCHEMA_URL)
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_valid_openapi_3() -> None:
    document = schema()
    assert document["openapi"].startswith("3.")
    validate_schema(document)


def test_the_schema_describes_the_ingest_endpoint() -> None:
    document = schema()
    post = document["paths"]["/personalization/api/events/"]["post"]
    request_schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert request_schema == {"$ref": "#/components/schemas/IngestRequest"}
    one_of = document["components"]["schemas"]["IngestRequest"]["oneOf"]
    assert {"$ref": "#/components/schemas/Batch"} in one_of
    assert {"$ref": "#/components/schemas/SingleEvent"} in one_of
    assert "text/plain" in post["requestBody"]["content"]
    assert {"202", "400", "403", "413", "429"} <= set(post["responses"])
    result = document["components"]["schemas"]["IngestResult"]["properties"]
    assert {"accepted", "duplicates", "rejected"} <= set(result)
    assert [p["name"] for p in post["parameters"]] == ["X-P13N-Token"]
    event = document["components"]["schemas"]["Event"]
    assert event["required"] == ["name"]
    assert "Product Added" in event["properties"]["name"]["description"]
    token = document["paths"]["/personalization/api/token/"]["get"]
    assert token["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Token"
    }
