"""Admin: the audit trail (read-only, searchable by user id), the "erase a user" form, and the
export and erase actions of the Visitor list."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from personalization.models import DataSubjectRequest, Event, Visitor
from personalization.privacy import erase_user
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

REQUESTS_URL = reverse("admin:personalization_datasubjectrequest_changelist")
ERASE_FORM_URL = reverse("admin:personalization_datasubjectrequest_erase")
VISITORS_URL = reverse("admin:personalization_visitor_changelist")


@pytest.fixture
def merchant() -> Client:
    client = Client()
    client.force_login(make_user("merchant", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def clerk() -> Client:
    """Staff who may view visitors but not export or erase anybody's data."""
    user = make_user("clerk", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_visitor"))
    user.user_permissions.add(Permission.objects.get(codename="view_datasubjectrequest"))
    client = Client()
    client.force_login(user)
    return client


def test_the_audit_trail_is_read_only_and_found_by_user_id(merchant, person) -> None:
    erase_user(person.other_user.pk)
    mine = erase_user(person.user.pk)
    page = merchant.get(REQUESTS_URL, {"q": str(person.user.pk)})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [mine]
    assert merchant.get(reverse("admin:personalization_datasubjectrequest_add")).status_code == 403
    change = merchant.get(
        reverse("admin:personalization_datasubjectrequest_change", args=[mine.pk])
    )
    assert change.status_code == 200 and b'name="_save"' not in change.content
    delete = reverse("admin:personalization_datasubjectrequest_delete", args=[mine.pk])
    assert merchant.post(delete, {"post": "yes"}).status_code == 403
    assert ERASE_FORM_URL.encode() in merchant.get(REQUESTS_URL).content


def test_the_erase_form_queues_the_erasure_of_a_user(
    merchant, person, django_capture_on_commit_callbacks
) -> None:
    assert merchant.get(ERASE_FORM_URL).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(ERASE_FORM_URL, {"user_id": str(person.user.pk), "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == REQUESTS_URL
    request = DataSubjectRequest.objects.get()
    assert (request.kind, request.via, request.status) == ("erasure", "admin", "done")
    assert not Event.objects.filter(user=person.user).exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"user_id": "123456", "confirm": "on"}, "There is no user with this id."),
        ({"user_id": "abc", "confirm": "on"}, "This is not a user id."),
        ({"user_id": "1"}, "This field is required."),
    ],
)
def test_the_erase_form_refuses_what_it_cannot_do(merchant, person, data, error) -> None:
    response = merchant.post(ERASE_FORM_URL, data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_staff_without_the_permission_cannot_erase(clerk, person) -> None:
    assert clerk.get(REQUESTS_URL).status_code == 200
    assert ERASE_FORM_URL.encode() not in clerk.get(REQUESTS_URL).content
    assert (
        clerk.post(ERASE_FORM_URL, {"user_id": str(person.user.pk), "confirm": "on"}).status_code
        == 403
    )
    request = clerk.get(VISITORS_URL).wsgi_request
    actions = admin.site.get_model_admin(Visitor).get_actions(request)
    assert "export_personal_data" not in actions and "erase_personal_data" not in actions


def test_the_export_action_downloads_the_people_behind_the_visitors(merchant, person) -> None:
    anonymous = Visitor.objects.create(vid="vid-anonymous-0000001")
    selected = [person.phone.pk, person.laptop.pk, anonymous.pk]
    response = merchant.post(
        VISITORS_URL, {"action": "export_personal_data", ACTION_CHECKBOX_NAME: selected}
    )
    assert response["Content-Disposition"] == 'attachment; filename="personal-data.json"'
    exports = json.loads(response.content)["exports"]
    # Two visitors of one user are one person.
    assert [e["export"]["subject"] for e in exports] == ["user", "visitor"]
    assert exports[0]["account"]["username"] == "alice"
    assert [v["vid"] for v in exports[1]["visitors"]] == [anonymous.vid]


def test_the_export_of_one_person_is_that_export(merchant, person) -> None:
    response = merchant.post(
        VISITORS_URL, {"action": "export_personal_data", ACTION_CHECKBOX_NAME: [person.phone.pk]}
    )
    assert json.loads(response.content)["account"]["username"] == "alice"


def test_the_erase_action_asks_then_queues(
    merchant, person, django_capture_on_commit_callbacks
) -> None:
    anonymous = Visitor.objects.create(vid="vid-anonymous-0000001")
    form = {"action": "erase_personal_data", ACTION_CHECKBOX_NAME: [person.phone.pk, anonymous.pk]}
    confirmation = merchant.post(VISITORS_URL, form)
    assert confirmation.status_code == 200
    assert b"Yes, erase" in confirmation.content
    assert Visitor.objects.filter(pk=anonymous.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(VISITORS_URL, {**form, "confirm": "yes"}, follow=True)
    assert "The erasure of 2 people&#x27;s data was queued." in response.content.decode()
    assert not Visitor.objects.filter(pk__in=[person.phone.pk, person.laptop.pk, anonymous.pk])
    assert sorted(DataSubjectRequest.objects.values_list("via", "status")) == [
        ("admin", "done"),
        ("admin", "done"),
    ]
