"""Data-subject rights in a real browser: a customer downloads everything held about them from the
account page, then erases it; afterwards nothing of theirs is left."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from personalization.models import DataSubjectRequest, Event, Session, Visitor
from personalization.privacy import pseudonymous_key
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user
from tests.playwright_fixtures import PageLog

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_tasks"),
]

CONSENT_ALL = "1:analytics+personalization"


@pytest.fixture
def customer():
    make_product(
        "Brown Betty Teapot", category=make_category("Kitchen"), slug="brown-betty-teapot", stock=5
    )
    return make_user("erin", email="erin@example.com", first_name="Erin")


def log_in(page: Page, live_server) -> None:
    page.context.add_cookies(
        [{"name": "p13n_consent", "value": CONSENT_ALL, "url": live_server.url}]
    )
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account/$"))


def test_a_customer_downloads_then_erases_their_data(
    page: Page, page_log: PageLog, live_server, customer
) -> None:
    log_in(page, live_server)
    page.goto("/products/brown-betty-teapot/")
    page.goto("/search/?q=teapot")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Account").click()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data").click()
    download = download_info.value
    assert re.fullmatch(r"my-data-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["account"]["username"] == "erin"
    assert "product_view" in {e["name"] for e in data["events"]}
    assert data["visitors"] and data["sessions"]
    vid = data["visitors"][0]["vid"]
    assert Event.objects.filter(user=customer).exists()

    page.get_by_role("link", name="Delete my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete my data")
    page.get_by_role("button", name="Yes, delete my data").click()

    expect(page.get_by_role("status")).to_contain_text("Your data will be erased")
    # Logged out: the account link is gone.
    expect(
        page.get_by_role("navigation", name="Account").get_by_role("link", name="Log in")
    ).to_be_visible()

    assert not Event.objects.filter(user=customer).exists()
    assert not Visitor.objects.filter(user=customer).exists()
    assert not Visitor.objects.filter(vid=vid).exists()
    assert not Session.objects.filter(user=customer).exists()
    erasure = DataSubjectRequest.objects.get(kind="erasure")
    assert (erasure.via, erasure.status) == ("account", "done")
    assert erasure.subject_key == pseudonymous_key(customer.pk)
    assert erasure.counts["events"] >= 3
    assert page_log.errors == [] and page_log.failed_responses == []
