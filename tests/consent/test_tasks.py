"""The consent tasks: the GPC record, erasure on withdrawal, and the consent log's retention."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from personalization import consent
from personalization.consent.records import user_agent_hash
from personalization.consent.tasks import (
    purge_consent_log,
    record_gpc_opt_out,
)
from personalization.models import ConsentRecord, Visitor
from personalization.models.tracking import new_visitor_id
from tests.consent.conftest import CHROME
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def gpc_browser(consent_value: str) -> tuple[Client, str]:
    vid = new_visitor_id()
    client = Client(headers={"user-agent": CHROME, "sec-gpc": "1"}, REMOTE_ADDR="198.51.100.9")
    client.cookies["p13n_consent"] = consent_value
    client.cookies["p13n_vid"] = vid
    return client, vid


def test_gpc_over_a_consent_that_grants_marketing_is_recorded_once() -> None:
    Visitor.objects.create(vid=(vid := new_visitor_id()))
    client, _ = gpc_browser("1:analytics+marketing")
    client.cookies["p13n_vid"] = vid
    for _ in range(3):
        client.get("/personalization/api/consent/")  # any request that asks the gate
    record = ConsentRecord.objects.get()
    assert record.method == "gpc"
    assert (record.vid, record.visitor.vid) == (vid, vid)
    assert record.granted == ["analytics"]
    assert record.denied == ["personalization", "marketing"]
    assert record.policy_version == 1
    assert record.ip_prefix == "198.51.100.0/24" and len(record.ua_hash) == 64


def test_gpc_is_not_recorded_when_the_consent_grants_no_marketing() -> None:
    client, _ = gpc_browser("1:analytics")
    client.get("/personalization/api/consent/")
    assert not ConsentRecord.objects.exists()


def test_gpc_is_not_recorded_without_a_current_choice() -> None:
    for value in ("", "0:marketing"):
        client, _ = gpc_browser(value)
        client.get("/personalization/api/consent/")
    assert not ConsentRecord.objects.exists()


def test_dnt_withdraws_marketing_but_is_not_logged() -> None:
    client = Client(headers={"dnt": "1"})
    client.cookies["p13n_consent"] = "1:analytics+marketing"
    assert client.get("/personalization/api/consent/").json()["granted"] == ["analytics"]
    assert not ConsentRecord.objects.exists()


def test_gpc_is_recorded_through_a_task_not_on_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(record_gpc_opt_out, "delay", lambda **kwargs: queued.append(kwargs))
    user = make_user()
    # A user agent of its own: the once-only key outlives the test in a shared cache.
    agent = f"Test browser {uuid.uuid4()}"
    request = RequestFactory().get(
        "/", headers={"sec-gpc": "1", "user-agent": agent}, REMOTE_ADDR="192.0.2.5"
    )
    request.COOKIES["p13n_consent"] = "1:personalization+marketing"
    request.user = user
    assert not consent.allowed(request, "marketing")
    assert not ConsentRecord.objects.exists()
    assert queued == [
        {
            "vid": "",
            "user_id": user.pk,
            "policy_version": 1,
            "granted": ["personalization"],
            "ip_prefix": "192.0.2.0/24",
            "ua_hash": user_agent_hash(agent),
        }
    ]


def test_the_gpc_task_is_idempotent() -> None:
    vid = new_visitor_id()
    arguments = {"vid": vid, "user_id": None, "policy_version": 1, "granted": ["analytics"]}
    assert record_gpc_opt_out(**arguments) is True
    assert record_gpc_opt_out(**arguments) is False
    assert ConsentRecord.objects.filter(vid=vid).count() == 1
    # A later choice, then GPC again over a new consent: recorded again.
    ConsentRecord.objects.create(vid=vid, policy_version=1, granted=["marketing"], method="banner")
    assert record_gpc_opt_out(**{**arguments, "granted": []}) is True


def test_the_gpc_task_records_a_user_that_was_deleted_meanwhile_as_none() -> None:
    record_gpc_opt_out(vid="", user_id=987654, policy_version=1, granted=[])
    assert ConsentRecord.objects.get().user is None


def record(age_days: float, **fields: Any) -> ConsentRecord:
    fields.setdefault("policy_version", 1)
    fields.setdefault("method", "banner")
    return ConsentRecord.objects.create(
        created_at=timezone.now() - dt.timedelta(days=age_days), **fields
    )


def test_retention_keeps_each_subjects_latest_record(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_LOG_RETENTION_DAYS": 365}
    user = make_user()
    a, b = new_visitor_id(), new_visitor_id()
    old_a = record(900, vid=a, granted=["analytics"])
    latest_a = record(800, vid=a, granted=[])  # past retention, but a's proof of consent
    old_b = record(700, vid=b)
    recent_b = record(10, vid=b)
    old_user = record(600, user=user)
    latest_user = record(500, vid=new_visitor_id(), user=user)  # latest for the user and its vid
    anonymous_old = record(400)
    anonymous_new = record(5)
    assert purge_consent_log() == 4
    kept = set(ConsentRecord.objects.values_list("id", flat=True))
    assert kept == {latest_a.id, recent_b.id, latest_user.id, anonymous_new.id}
    assert {old_a.id, old_b.id, old_user.id, anonymous_old.id}.isdisjoint(kept)
    assert purge_consent_log() == 0


def test_retention_deletes_in_batches(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from personalization.consent import tasks

    monkeypatch.setattr(tasks, "PURGE_BATCH", 2)
    for _ in range(5):
        record(4000)
    kept = record(4000, vid=new_visitor_id())
    assert purge_consent_log() == 5
    assert list(ConsentRecord.objects.values_list("id", flat=True)) == [kept.id]


def test_the_demo_purges_the_consent_log_daily(settings: Any) -> None:
    from demo_shop.celery import app

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "personalization.purge_consent_log" in names
    app.loader.import_default_modules()  # what a worker does at start
    assert "personalization.purge_consent_log" in app.tasks
