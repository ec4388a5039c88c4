"""The consent pages for browsers without script: preferences and "Do Not Sell or Share"."""

from __future__ import annotations

import pytest
from django.test import Client

from personalization.models import ConsentRecord

pytestmark = pytest.mark.django_db

PREFERENCES = "/personalization/consent/"
DO_NOT_SELL = "/personalization/consent/do-not-sell/"


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    return response.cookies["csrftoken"].value if "csrftoken" in response.cookies else ""


def test_the_preferences_page_shows_the_current_choice(browser: Client) -> None:
    browser.cookies["p13n_consent"] = "1:personalization"
    html = browser.get(PREFERENCES + "?next=/cart/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'value="/cart/"' in html
    assert 'id="p13n-page-personalization" value="personalization" ' in html
    personalization = html.split('id="p13n-page-personalization"', 1)[1].split(">", 1)[0]
    analytics = html.split('id="p13n-page-analytics"', 1)[1].split(">", 1)[0]
    assert " checked" in personalization and " checked" not in analytics


@pytest.mark.parametrize(
    ("data", "granted"),
    [
        ({"action": "accept"}, ["analytics", "personalization", "marketing"]),
        ({"action": "reject", "granted": ["analytics"]}, []),
        ({"action": "save", "granted": ["marketing", "analytics"]}, ["analytics", "marketing"]),
        ({"action": "save", "granted": ["analytics", "nonsense"]}, ["analytics"]),
    ],
    ids=["accept", "reject", "save", "unknown-ignored"],
)
def test_the_preferences_form_records_the_choice(
    browser: Client, data: dict, granted: list[str]
) -> None:
    token = csrf(browser, PREFERENCES)
    response = browser.post(PREFERENCES, {**data, "next": "/cart/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    record = ConsentRecord.objects.get()
    assert (record.granted, record.method) == (granted, "banner")
    assert response.cookies["p13n_consent"].value == "1:" + "+".join(granted)


def test_the_form_needs_its_csrf_token(browser: Client) -> None:
    assert browser.post(PREFERENCES, {"action": "accept"}).status_code == 403
    assert not ConsentRecord.objects.exists()


def test_an_outside_next_is_not_followed(browser: Client) -> None:
    token = csrf(browser, PREFERENCES)
    response = browser.post(
        PREFERENCES,
        {"action": "reject", "next": "https://evil.example/", "csrfmiddlewaretoken": token},
    )
    assert response["Location"] == "/"


def test_do_not_sell_keeps_the_other_choices(browser: Client) -> None:
    browser.cookies["p13n_consent"] = "1:analytics+marketing"
    page = browser.get(DO_NOT_SELL).content.decode()
    assert "Do Not Sell or Share My Personal Information" in page
    assert "You have opted out." not in page
    token = browser.cookies["csrftoken"].value
    response = browser.post(DO_NOT_SELL, {"csrfmiddlewaretoken": token, "next": "/"})
    assert response.cookies["p13n_consent"].value == "1:analytics"
    record = ConsentRecord.objects.get()
    assert record.granted == ["analytics"] and record.denied == ["personalization", "marketing"]
    assert "You have opted out." in browser.get(DO_NOT_SELL).content.decode()


def test_do_not_sell_without_a_choice_grants_nothing(browser: Client) -> None:
    token = csrf(browser, DO_NOT_SELL)
    response = browser.post(DO_NOT_SELL, {"csrfmiddlewaretoken": token})
    assert response.cookies["p13n_consent"].value == "1:"
    assert ConsentRecord.objects.get().granted == []
