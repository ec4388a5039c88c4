"""The account page's "Download my data" and "Delete my data", and the API endpoints."""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from personalization.models import DataSubjectRequest, Event, Visitor
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

EXPORT_URL = reverse("personalization:privacy-export")
ERASE_URL = reverse("personalization:privacy-erase")
API_EXPORT_URL = reverse("personalization:api-me-export")
API_ERASE_URL = reverse("personalization:api-me-erase")


@pytest.fixture
def alice(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_the_account_page_links_to_both(alice) -> None:
    page = alice.get(reverse("shop:account")).content.decode()
    assert f'href="{EXPORT_URL}"' in page
    assert f'href="{ERASE_URL}?next=/account/"' in page


def test_download_my_data_is_a_json_attachment(alice, person) -> None:
    response = alice.get(EXPORT_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["username"] == "alice" and len(data["events"]) == 6
    assert DataSubjectRequest.objects.get().via == "account"


@pytest.mark.parametrize("url", [EXPORT_URL, ERASE_URL])
def test_anonymous_people_are_sent_to_log_in(db, url) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("shop:login"))


def test_delete_my_data_asks_first(alice, person) -> None:
    response = alice.get(ERASE_URL + "?next=/account/")
    assert response.status_code == 200
    assert b"Yes, delete my data" in response.content
    assert b'name="next" value="/account/"' in response.content
    assert Event.objects.filter(user=person.user).count() == 6


def test_delete_my_data_queues_the_erasure_and_logs_out(
    alice, person, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(ERASE_URL, {"next": "/account/"})
    assert response.status_code == 302 and response["Location"] == reverse("shop:home")
    assert [str(m) for m in get_messages(response.wsgi_request)][0].startswith(
        "Your data will be erased."
    )
    assert "_auth_user_id" not in alice.session
    request = DataSubjectRequest.objects.get()
    assert (request.via, request.status) == ("account", "done")
    assert not Visitor.objects.filter(user=person.user).exists()


def test_the_store_may_keep_the_person_logged_in(
    alice, person, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ERASURE_LOGS_OUT": False}
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(ERASE_URL, {"next": "/account/"})
    assert response["Location"] == "/account/"
    assert alice.session["_auth_user_id"] == str(person.user.pk)


def test_next_must_stay_on_the_site(alice, settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ERASURE_LOGS_OUT": False}
    response = alice.post(ERASE_URL, {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_erasure_form_needs_the_csrf_token(person) -> None:
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password=DEFAULT_PASSWORD)
    assert client.post(ERASE_URL).status_code == 403
    assert not DataSubjectRequest.objects.exists()


# --- API ----------------------------------------------------------------------------------------


def test_the_api_refuses_anonymous_requests(db) -> None:
    client = Client()
    assert client.get(API_EXPORT_URL).status_code == 403
    assert client.post(API_ERASE_URL).status_code == 403
    assert not DataSubjectRequest.objects.exists()


def test_the_api_exports_the_logged_in_persons_data(alice) -> None:
    response = alice.get(API_EXPORT_URL)
    assert response.status_code == 200
    assert response.json()["account"]["username"] == "alice"
    assert DataSubjectRequest.objects.get().via == "api"


def test_the_api_erasure_needs_csrf_and_answers_202(
    person, django_capture_on_commit_callbacks
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password=DEFAULT_PASSWORD)
    assert client.post(API_ERASE_URL).status_code == 403

    client.get(reverse("shop:account"))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(API_ERASE_URL, headers={"X-CSRFToken": token})
    assert response.status_code == 202
    request = DataSubjectRequest.objects.get()
    assert response.json() == {
        "request": request.pk,
        "status": "pending",
        "requested_at": response.json()["requested_at"],
    }
    request.refresh_from_db()
    assert request.status == "done"
    assert not Event.objects.filter(user=person.user).exists()
    # The API leaves the session open.
    assert client.session["_auth_user_id"] == str(person.user.pk)


def test_the_openapi_schema_describes_both_endpoints(db) -> None:
    schema = Client().get(reverse("personalization:api-schema")).content.decode()
    assert "/personalization/api/me/export/" in schema
    assert "/personalization/api/me/erase/" in schema
