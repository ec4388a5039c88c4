"""{% personalization_tracker %}: the script tag of tracker.js and its data attributes."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import RequestFactory, override_settings

from personalization.conf import app_settings
from personalization.models.tracking import new_visitor_id
from personalization.tracking import tokens
from personalization.tracking.context import PersonalizationContext
from tests.api.support import CONSENT

# The consent gate reads the current policy version from the database (through a cache).
pytestmark = pytest.mark.django_db

TEMPLATE = Template("{% load personalization_tags %}{% personalization_tracker %}")


def render(consent: str | None = CONSENT, vid: str | None = None) -> str:
    request = RequestFactory().get("/products/1/")
    if consent is not None:
        request.COOKIES[app_settings.CONSENT_COOKIE_NAME] = consent
    if vid is not None:
        request.COOKIES[app_settings.VISITOR_COOKIE_NAME] = vid
    request.personalization = PersonalizationContext(request)
    return TEMPLATE.render(Context({"request": request})).strip()


def attributes(html: str) -> dict[str, str]:
    assert re.fullmatch(r"<script [^<>]*></script>", html), html
    return dict(re.findall(r'([a-z-]+)="([^"]*)"', html))


def test_a_tracked_visitor_gets_the_script_with_a_token_for_it() -> None:
    vid = new_visitor_id()
    html = render(vid=vid)
    attrs = attributes(html)
    assert attrs["src"] == "/static/personalization/tracker.min.js"
    assert " defer " in html
    assert attrs["data-endpoint"] == "/personalization/api/events/"
    assert attrs["data-token-url"] == "/personalization/api/token/"
    assert attrs["data-consent-cookie"] == "p13n_consent"
    assert tokens.read(attrs["data-token"]) == vid
    assert "data-consent-required" not in attrs


def test_a_new_visitor_gets_a_token_for_the_id_made_for_it() -> None:
    assert tokens.read(attributes(render())["data-token"])


@pytest.mark.parametrize("consent", [None, "1:", "1:marketing"])
def test_without_consent_the_script_comes_without_a_token(consent: str | None) -> None:
    # The script waits for consent and then fetches a token from data-token-url.
    attrs = attributes(render(consent=consent, vid=new_visitor_id()))
    assert "data-token" not in attrs
    assert attrs["data-token-url"] == "/personalization/api/token/"


def test_without_the_middleware_the_script_comes_without_a_token() -> None:
    html = TEMPLATE.render(Context({"request": RequestFactory().get("/")}))
    assert "data-token=" not in html
    assert "tracker.min.js" in html


def test_nothing_at_all_when_tracking_is_disabled() -> None:
    with override_settings(PERSONALIZATION={**settings.PERSONALIZATION, "TRACKING_ENABLED": False}):
        assert render(vid=new_visitor_id()) == ""


def test_settings_reach_the_script() -> None:
    values = {"CONSENT_REQUIRED": False, "CONSENT_COOKIE_NAME": "shop_consent"}
    with override_settings(PERSONALIZATION={**settings.PERSONALIZATION, **values}):
        attrs = attributes(render(consent=None))
    assert attrs["data-consent-cookie"] == "shop_consent"
    assert attrs["data-consent-required"] == "false"
    assert tokens.read(attrs["data-token"])


def test_values_are_escaped() -> None:
    with override_settings(STATIC_URL='/st"atic/'):
        html = render()
    assert "/st&quot;atic/personalization/tracker.min.js" in html
