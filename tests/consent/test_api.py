"""GET and POST /personalization/api/consent/: the record, the cookies, CSRF, withdrawal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from personalization.consent.records import ip_prefix, user_agent_hash
from personalization.models import ConsentPolicy, ConsentRecord, Visitor
from personalization.tasks import erase_visitor_data
from tests.consent.conftest import CHROME, CONSENT_URL
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def post(client: Client, body: Any, **extra: Any) -> Any:
    return client.post(CONSENT_URL, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def browser() -> Client:
    return Client(headers={"user-agent": CHROME}, REMOTE_ADDR="203.0.113.77")


def test_get_tells_the_state_and_the_csrf_token(browser: Client) -> None:
    response = browser.get(CONSENT_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["policy_version"] == 1
    assert body["choice"] is None
    assert body["granted"] == []
    assert body["gpc"] is False
    assert body["opt_out_categories"] == ["marketing"]
    assert body["source"] == "banner"
    assert body["csrf_token"]
    assert "csrftoken" in response.cookies
    assert "no-store" in response["Cache-Control"]
    # Reading the state records nothing and gives the browser no visitor id.
    assert "p13n_vid" not in response.cookies
    assert not ConsentRecord.objects.exists()


def test_get_reads_a_current_choice_and_ignores_an_old_one(browser: Client) -> None:
    browser.cookies["p13n_consent"] = "1:analytics"
    assert browser.get(CONSENT_URL).json()["choice"] == {"version": 1, "granted": ["analytics"]}
    ConsentPolicy.objects.create(version=2)
    body = browser.get(CONSENT_URL).json()
    assert (body["policy_version"], body["choice"], body["granted"]) == (2, None, [])


def test_accepting_records_the_choice_with_its_evidence(browser: Client) -> None:
    user = make_user()
    browser.force_login(user)
    response = post(browser, {"granted": ["personalization", "analytics"], "method": "banner"})
    assert response.status_code == 200, response.content
    record = ConsentRecord.objects.get()
    vid = response.cookies["p13n_vid"].value
    assert record.vid == vid and record.visitor == Visitor.objects.get(vid=vid)
    assert record.user == user
    assert record.policy_version == 1
    assert record.granted == ["analytics", "personalization"]
    assert record.denied == ["marketing"]
    assert record.method == "banner"
    assert record.ip_prefix == "203.0.113.0/24"
    assert record.ua_hash == user_agent_hash(CHROME) and len(record.ua_hash) == 64
    assert CHROME not in record.ua_hash and "203.0.113.77" not in str(vars(record))
    body = response.json()
    assert body["choice"] == {"version": 1, "granted": ["analytics", "personalization"]}
    assert body["granted"] == ["analytics", "personalization"]


def test_the_consent_cookie_is_first_party_lax_and_readable_by_scripts(browser: Client) -> None:
    response = post(browser, {"granted": ["analytics", "marketing"]})
    cookie = response.cookies["p13n_consent"]
    assert cookie.value == "1:analytics+marketing"
    assert cookie["samesite"] == "Lax"
    assert not cookie["httponly"]
    assert not cookie["secure"]
    assert cookie["max-age"] == 60 * 60 * 24 * 180
    assert cookie["path"] == "/"
    assert not cookie["domain"]
    assert ConsentRecord.objects.get().method == "api"  # the default method


def test_the_cookies_are_secure_on_https(browser: Client) -> None:
    response = post(browser, {"granted": ["analytics"]}, secure=True)
    assert response.cookies["p13n_consent"]["secure"]
    assert response.cookies["p13n_vid"]["secure"]


def test_rejecting_all_sets_no_visitor_cookie_and_makes_no_visitor(browser: Client) -> None:
    response = post(browser, {"granted": [], "method": "banner"})
    assert response.status_code == 200
    assert response.cookies["p13n_consent"].value == "1:"
    assert "p13n_vid" not in response.cookies
    assert not Visitor.objects.exists()
    record = ConsentRecord.objects.get()
    assert (record.vid, record.visitor, record.granted) == ("", None, [])
    assert record.denied == ["analytics", "personalization", "marketing"]


def test_marketing_alone_makes_no_visitor(browser: Client) -> None:
    response = post(browser, {"granted": ["marketing"]})
    assert "p13n_vid" not in response.cookies
    assert not Visitor.objects.exists()


def test_necessary_may_be_listed_and_is_implicit(browser: Client) -> None:
    response = post(browser, {"granted": ["necessary", "analytics"]})
    assert response.status_code == 200
    assert ConsentRecord.objects.get().granted == ["analytics"]


@pytest.mark.parametrize(
    "body",
    [
        {"granted": ["analytics", "advertising"]},
        {"granted": "analytics"},
        {},
        {"granted": [], "method": "gpc"},
        {"granted": [], "method": "admin"},
    ],
    ids=["unknown-category", "not-a-list", "missing", "gpc-method", "admin-method"],
)
def test_an_invalid_choice_is_refused_and_nothing_is_recorded(browser: Client, body: Any) -> None:
    response = post(browser, body)
    assert response.status_code == 400
    assert "p13n_consent" not in response.cookies
    assert not ConsentRecord.objects.exists()


def test_a_post_needs_the_csrf_token_for_anonymous_visitors_too() -> None:
    browser = Client(enforce_csrf_checks=True)
    refused = post(browser, {"granted": ["analytics"]})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert not ConsentRecord.objects.exists()
    token = browser.get(CONSENT_URL).json()["csrf_token"]
    accepted = post(browser, {"granted": ["analytics"]}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200
    assert ConsentRecord.objects.count() == 1


def test_a_forged_cross_site_post_without_the_csrf_cookie_is_refused() -> None:
    victim = Client(enforce_csrf_checks=True)
    token = victim.get(CONSENT_URL).json()["csrf_token"]
    attacker = Client(enforce_csrf_checks=True)  # SameSite=Lax: no CSRF cookie cross-site
    response = post(attacker, {"granted": ["marketing"]}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 403
    assert not ConsentRecord.objects.exists()


def test_gpc_takes_marketing_out_of_an_accept_all(browser: Client) -> None:
    response = post(
        browser,
        {"granted": ["analytics", "personalization", "marketing"], "method": "banner"},
        HTTP_SEC_GPC="1",
    )
    assert response.cookies["p13n_consent"].value == "1:analytics+personalization"
    record = ConsentRecord.objects.get()
    assert record.denied == ["marketing"] and record.method == "banner"
    body = response.json()
    assert body["gpc"] is True and "marketing" not in body["granted"]


def test_a_choice_is_recorded_under_the_current_version(browser: Client) -> None:
    ConsentPolicy.objects.create(version=4)
    response = post(browser, {"granted": ["analytics"]})
    assert response.cookies["p13n_consent"].value == "4:analytics"
    assert ConsentRecord.objects.get().policy_version == 4


def test_the_ip_is_kept_as_a_network_only() -> None:
    assert ip_prefix("203.0.113.77") == "203.0.113.0/24"
    assert ip_prefix("2001:db8:85a3:8d3:1319:8a2e:370:7348") == "2001:db8:85a3::/48"
    assert ip_prefix("::ffff:198.51.100.23") == "198.51.100.0/24"
    assert ip_prefix("fe80::1%eth0") == "fe80::/48"
    assert ip_prefix("") == "" and ip_prefix("unknown") == ""


def test_an_ipv6_client_is_recorded_as_its_48_network() -> None:
    browser = Client(REMOTE_ADDR="2001:db8:85a3:8d3:1319:8a2e:370:7348")
    post(browser, {"granted": []})
    assert ConsentRecord.objects.get().ip_prefix == "2001:db8:85a3::/48"


def test_the_user_agent_hash_is_keyed(settings: Any) -> None:
    first = user_agent_hash(CHROME)
    assert first == user_agent_hash(CHROME) and first != user_agent_hash(CHROME + " x")
    settings.SECRET_KEY = "another secret key for the hash test, long enough to be used"
    assert user_agent_hash(CHROME) != first
    assert user_agent_hash("") == ""


@pytest.fixture
def erasures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """The erasures queued (the erase_visitor_data task is tested with the privacy package)."""
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(
        erase_visitor_data, "delay", lambda vid, categories: calls.append((vid, categories))
    )
    return calls


def test_withdrawing_tracking_deletes_the_visitor_cookie_and_the_data(
    browser: Client, erasures: list, django_capture_on_commit_callbacks: Any
) -> None:
    vid = post(browser, {"granted": ["analytics", "personalization"]}).cookies["p13n_vid"].value
    with django_capture_on_commit_callbacks(execute=True):
        response = post(browser, {"granted": [], "method": "banner"})
    deleted = response.cookies["p13n_vid"]
    assert deleted.value == "" and deleted["max-age"] == 0
    assert response.cookies["p13n_consent"].value == "1:"
    assert erasures == [(vid, ["analytics", "personalization", "marketing"])]
    withdrawal = ConsentRecord.objects.order_by("id").last()
    assert withdrawal.vid == vid and withdrawal.granted == []


def test_withdrawing_one_category_passes_every_denied_category(
    browser: Client, erasures: list, django_capture_on_commit_callbacks: Any
) -> None:
    vid = post(browser, {"granted": ["analytics", "personalization"]}).cookies["p13n_vid"].value
    with django_capture_on_commit_callbacks(execute=True):
        response = post(browser, {"granted": ["analytics"]})
    assert "p13n_vid" not in response.cookies  # analytics still allows tracking
    assert erasures == [(vid, ["personalization", "marketing"])]


def test_no_erasure_when_the_setting_is_off(
    browser: Client, erasures: list, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DELETE_ON_WITHDRAWAL": False}
    post(browser, {"granted": ["analytics"]})
    with django_capture_on_commit_callbacks(execute=True):
        response = post(browser, {"granted": []})
    assert response.cookies["p13n_vid"]["max-age"] == 0
    assert erasures == []


def test_granting_more_erases_nothing(
    browser: Client, erasures: list, django_capture_on_commit_callbacks: Any
) -> None:
    post(browser, {"granted": ["analytics"]})
    with django_capture_on_commit_callbacks(execute=True):
        post(browser, {"granted": ["analytics", "marketing"]})
    assert erasures == []


def test_a_choice_made_under_an_older_policy_is_withdrawn_too(
    browser: Client, erasures: list, django_capture_on_commit_callbacks: Any
) -> None:
    vid = post(browser, {"granted": ["personalization"]}).cookies["p13n_vid"].value
    ConsentPolicy.objects.create(version=2)
    with django_capture_on_commit_callbacks(execute=True):
        post(browser, {"granted": []})
    assert erasures == [(vid, ["analytics", "personalization", "marketing"])]


def test_accepting_again_keeps_the_visitor(browser: Client) -> None:
    vid = post(browser, {"granted": ["analytics"]}).cookies["p13n_vid"].value
    post(browser, {"granted": ["analytics", "personalization"]})
    assert Visitor.objects.get().vid == vid
    assert list(ConsentRecord.objects.values_list("vid", flat=True)) == [vid, vid]


def test_the_choice_is_rate_limited_per_address(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_RATE_PER_IP": "2/min"}
    browser = Client(REMOTE_ADDR="192.0.2.201")
    statuses = [post(browser, {"granted": []}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert browser.get(CONSENT_URL).status_code == 200  # reading is not limited
    assert ConsentRecord.objects.count() == 2


def test_the_schema_describes_the_consent_endpoint() -> None:
    import yaml

    document = yaml.safe_load(Client().get("/personalization/api/schema/").content)
    operations = document["paths"]["/personalization/api/consent/"]
    assert {"get", "post"} <= set(operations)
    assert operations["post"]["operationId"] == "consent_record"
