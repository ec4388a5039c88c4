"""{% consent_banner %}, {% consent_preferences_link %}, {% do_not_sell_link %}, and the
policy version on the tracker's script."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory

from personalization.models import ConsentCategory, ConsentPolicy
from personalization.tracking.context import PersonalizationContext
from tests.factories import make_user

pytestmark = pytest.mark.django_db

BANNER = Template("{% load personalization_tags %}{% consent_banner %}")


class Elements(HTMLParser):
    """The start tags of an HTML fragment, as (tag, attributes)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def with_attr(self, name: str, value: str | None = None) -> list[dict[str, str | None]]:
        return [a for _t, a in self.found if name in a and (value is None or a[name] == value)]


def request_for(user: Any, consent: str | None = None, vid: str | None = None) -> Any:
    request = RequestFactory().get("/products/1/")
    request.user = user
    if consent:
        request.COOKIES["p13n_consent"] = consent
    if vid:
        request.COOKIES["p13n_vid"] = vid
    request.personalization = PersonalizationContext(request)
    return request


def render(template: Template = BANNER, **context: Any) -> str:
    return template.render(Context(context))


def test_the_banner_is_the_same_for_every_visitor() -> None:
    customer = request_for(make_user(), "1:analytics+personalization", "a" * 22)
    stranger = request_for(AnonymousUser())
    assert render(request=customer) == render(request=stranger)
    assert "csrfmiddlewaretoken" not in render(request=customer)


def test_the_banner_is_a_hidden_labelled_modal_dialog() -> None:
    html = render()
    elements = Elements(html)
    (dialog,) = elements.with_attr("role", "dialog")
    assert dialog["aria-modal"] == "true"
    assert "hidden" in dialog
    title = elements.with_attr("id", dialog["aria-labelledby"])
    text = elements.with_attr("id", dialog["aria-describedby"])
    assert title and text
    assert "Your privacy choices" in html


def test_accept_and_reject_are_equally_prominent() -> None:
    elements = Elements(render())
    found = {
        attrs["data-p13n-consent-action"]: (tag, attrs)
        for tag, attrs in elements.found
        if "data-p13n-consent-action" in attrs
    }
    (accept_tag, accept), (reject_tag, reject) = found["accept"], found["reject"]
    assert accept_tag == reject_tag == "button"
    assert accept["class"] == reject["class"] == "p13n-consent__button"
    assert "hidden" not in accept and "hidden" not in reject


def test_a_switch_per_category_with_necessary_on_and_locked() -> None:
    ConsentCategory.objects.filter(slug="analytics").update(
        name="Statistics", description="We count <visits>."
    )
    html = render()
    switches = {a["value"]: a for a in Elements(html).with_attr("role", "switch")}
    assert list(switches) == ["necessary", "analytics", "personalization", "marketing"]
    assert "checked" in switches["necessary"] and "disabled" in switches["necessary"]
    assert not {"checked", "disabled"} & set(switches["marketing"])
    assert all(a["type"] == "checkbox" for a in switches.values())
    assert "Statistics" in html and "We count &lt;visits&gt;." in html
    customize = Elements(html).with_attr("data-p13n-consent-action", "customize")[0]
    assert customize["aria-expanded"] == "false"
    assert customize["aria-controls"] == "p13n-consent-details"
    assert "hidden" in Elements(html).with_attr("data-p13n-consent-action", "save")[0]


def test_no_inline_script_or_style() -> None:
    html = render()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_the_script_carries_the_version_and_endpoint_and_the_stylesheet_is_linked() -> None:
    ConsentPolicy.objects.create(version=3)
    elements = Elements(render())
    (script,) = [a for t, a in elements.found if t == "script"]
    assert script["src"] == "/static/personalization/consent.min.js"
    assert "defer" in script
    assert script["data-version"] == "3"
    assert script["data-endpoint"] == "/personalization/api/consent/"
    assert script["data-cookie"] == "p13n_consent"
    assert script["data-source"] == "banner"
    assert script["data-opt-out"] == "marketing"
    assert "data-cmp-map" not in script
    (link,) = [a for t, a in elements.found if t == "link"]
    assert link == {"rel": "stylesheet", "href": "/static/personalization/consent.css"}


def test_with_a_cmp_only_the_script_is_rendered_with_its_map(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_SOURCE": "tcf"}
    elements = Elements(render())
    assert not elements.with_attr("role", "dialog")
    (script,) = [a for t, a in elements.found if t == "script"]
    assert script["data-source"] == "tcf"
    assert json.loads(script["data-cmp-map"]) == {
        "analytics": [1, 8, 9],
        "personalization": [1, 5, 6],
        "marketing": [1, 2, 3, 4, 7],
    }


def test_the_preferences_and_do_not_sell_links() -> None:
    template = Template(
        "{% load personalization_tags %}{% consent_preferences_link %}|{% do_not_sell_link %}"
        '|{% consent_preferences_link "Cookie settings" %}'
    )
    html = render(template, request=request_for(AnonymousUser()))
    preferences, do_not_sell, custom = html.split("|")
    (a,) = Elements(preferences).found
    assert a[1]["href"] == "/personalization/consent/?next=%2Fproducts%2F1%2F"
    assert "data-p13n-consent-open" in a[1]
    assert ">Privacy choices</a>" in preferences
    (b,) = Elements(do_not_sell).found
    assert b[1]["href"] == "/personalization/consent/do-not-sell/?next=%2Fproducts%2F1%2F"
    assert "data-p13n-do-not-sell" in b[1]
    assert ">Do Not Sell or Share My Personal Information</a>" in do_not_sell
    assert ">Cookie settings</a>" in custom


def test_with_a_cmp_the_links_are_left_to_it(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_SOURCE": "onetrust"}
    template = Template(
        "{% load personalization_tags %}{% consent_preferences_link %}{% do_not_sell_link %}"
    )
    assert render(template).strip() == ""


def test_the_tracker_knows_the_current_policy_version() -> None:
    ConsentPolicy.objects.create(version=2)
    template = Template("{% load personalization_tags %}{% personalization_tracker %}")
    html = render(template, request=request_for(AnonymousUser()))
    assert 'data-policy-version="2"' in html
