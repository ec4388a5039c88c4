"""The consent admin: policies, categories, and the read-only consent log with its CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from personalization.models import ConsentCategory, ConsentPolicy, ConsentRecord
from personalization.models.tracking import new_visitor_id
from tests.factories import make_user

pytestmark = pytest.mark.django_db

RECORDS = reverse("admin:personalization_consentrecord_changelist")


@pytest.fixture
def admin_browser() -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def records() -> list[ConsentRecord]:
    user = make_user("carol", email="carol@example.com")
    return [
        ConsentRecord.objects.create(
            vid=new_visitor_id(),
            policy_version=1,
            granted=["analytics", "personalization"],
            denied=["marketing"],
            method="banner",
            ip_prefix="203.0.113.0/24",
            ua_hash="ab" * 32,
        ),
        ConsentRecord.objects.create(
            vid=new_visitor_id(),
            user=user,
            policy_version=2,
            granted=[],
            denied=["analytics", "personalization", "marketing"],
            method="gpc",
        ),
        ConsentRecord.objects.create(
            policy_version=2, granted=["marketing"], denied=[], method="cmp"
        ),
    ]


def listed(client: Client, query: str = "") -> set[int]:
    response = client.get(RECORDS + query)
    assert response.status_code == 200
    return {r.pk for r in response.context["cl"].result_list}


def test_the_log_cannot_be_added_changed_or_deleted(
    admin_browser: Client, records: list[ConsentRecord]
) -> None:
    record = records[0]
    change = reverse("admin:personalization_consentrecord_change", args=[record.pk])
    page = admin_browser.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view-only page
    admin_browser.post(change, {"method": "admin", "granted": "[]"})
    record.refresh_from_db()
    assert record.method == "banner"
    add = reverse("admin:personalization_consentrecord_add")
    assert admin_browser.get(add).status_code == 403
    delete = reverse("admin:personalization_consentrecord_delete", args=[record.pk])
    assert admin_browser.post(delete, {"post": "yes"}).status_code == 403
    assert ConsentRecord.objects.count() == 3
    actions = admin_browser.get(RECORDS).context["action_form"].fields["action"].choices
    assert [name for name, _label in actions if name] == ["export_csv"]


def test_the_filters(admin_browser: Client, records: list[ConsentRecord]) -> None:
    banner, gpc, cmp = (r.pk for r in records)
    assert listed(admin_browser) == {banner, gpc, cmp}
    assert listed(admin_browser, "?method=gpc") == {gpc}
    assert listed(admin_browser, "?policy_version=2") == {gpc, cmp}
    assert listed(admin_browser, "?granted=analytics") == {banner}
    assert listed(admin_browser, "?granted=marketing") == {cmp}
    assert listed(admin_browser, "?granted=none") == {gpc}
    day = records[0].created_at
    query = f"?created_at__year={day.year}&created_at__month={day.month}&created_at__day={day.day}"
    assert listed(admin_browser, query) == {banner, gpc, cmp}


def test_search_by_visitor_id_or_customer(
    admin_browser: Client, records: list[ConsentRecord]
) -> None:
    assert listed(admin_browser, f"?q={records[0].vid}") == {records[0].pk}
    assert listed(admin_browser, "?q=carol@example.com") == {records[1].pk}


def export(client: Client, ids: list[int]) -> StreamingHttpResponse:
    return client.post(RECORDS, {"action": "export_csv", "_selected_action": [str(i) for i in ids]})


def test_the_csv_export_streams_the_selection(
    admin_browser: Client, records: list[ConsentRecord]
) -> None:
    response = export(admin_browser, [records[0].pk, records[1].pk])
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="consent-records-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["method"] for r in rows] == ["banner", "gpc"]
    first, second = rows
    assert first["vid"] == records[0].vid and first["user_id"] == ""
    assert (first["granted"], first["denied"]) == ("analytics+personalization", "marketing")
    assert (first["ip_prefix"], first["ua_hash"]) == ("203.0.113.0/24", "ab" * 32)
    assert second["user_id"] == str(records[1].user_id) and second["policy_version"] == "2"
    assert first["created_at"] == records[0].created_at.isoformat()


def test_the_export_reads_in_chunks(
    admin_browser: Client, records: list[ConsentRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    from personalization.admin import consent as consent_admin

    monkeypatch.setattr(consent_admin, "CSV_CHUNK", 1)
    response = export(admin_browser, [r.pk for r in records])
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 4


def test_a_merchant_with_view_permission_may_export(records: list[ConsentRecord]) -> None:
    merchant = make_user(is_staff=True)
    view = Permission.objects.get(
        codename="view_consentrecord", content_type__app_label="personalization"
    )
    merchant.user_permissions.add(view)
    client = Client()
    client.force_login(merchant)
    assert listed(client) == {r.pk for r in records}
    assert export(client, [records[0].pk]).status_code == 200


def test_adding_a_policy_proposes_the_next_version(admin_browser: Client) -> None:
    ConsentPolicy.objects.create(version=4)
    add = reverse("admin:personalization_consentpolicy_add")
    form = admin_browser.get(add).context["adminform"].form
    assert form.initial["version"] == 5
    policy = ConsentPolicy.objects.get(version=4)
    change = reverse("admin:personalization_consentpolicy_change", args=[policy.pk])
    fields = admin_browser.get(change).context["adminform"].form.fields
    assert "version" not in fields and "notes" in fields


def test_a_new_policy_saved_in_the_admin_asks_everybody_again(
    admin_browser: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from personalization.consent.policy import current_policy_version

    assert current_policy_version() == 1
    add = reverse("admin:personalization_consentpolicy_add")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_browser.post(
            add,
            {
                "version": "2",
                "published_at_0": "2020-01-01",
                "published_at_1": "00:00:00",
                "notes": "New partners",
            },
        )
    assert response.status_code == 302
    assert current_policy_version() == 2


def test_the_merchant_edits_category_descriptions_but_not_the_set(admin_browser: Client) -> None:
    category = ConsentCategory.objects.get(slug="marketing")
    change = reverse("admin:personalization_consentcategory_change", args=[category.pk])
    response = admin_browser.post(
        change, {"name": "Advertising", "description": "Offers by e-mail.", "order": "3"}
    )
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.slug, category.name, category.description) == (
        "marketing",
        "Advertising",
        "Offers by e-mail.",
    )
    add = reverse("admin:personalization_consentcategory_add")
    assert admin_browser.get(add).status_code == 403
    delete = reverse("admin:personalization_consentcategory_delete", args=[category.pk])
    assert admin_browser.post(delete, {"post": "yes"}).status_code == 403
    category.delete()
    assert admin_browser.get(add).status_code == 200  # a missing category may be added back
