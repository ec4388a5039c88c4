"""erase_user() and erase_visitor_data(): rows gone, consent pseudonymised, an audit record with
no personal data, registered handlers, caches, the task and the signal."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.forms.models import model_to_dict

from personalization.models import (
    ConsentRecord,
    DailyActivity,
    DataSubjectRequest,
    Event,
    IdentityMerge,
    Session,
    Visitor,
)
from personalization.privacy import (
    erase_user,
    erase_visitor_data,
    pseudonymous_key,
    request_erasure,
    visitor_pseudonym,
)
from personalization.privacy.pseudonyms import erased_subject
from personalization.privacy.signals import data_erased
from personalization.tasks import erase_user_data
from personalization.tracking.collect import enqueue
from personalization.tracking.events import make_event
from personalization.tracking.sessions import resolve_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def assert_counts(counts: dict[str, int], builtin: dict[str, int]) -> None:
    """The built-in data types' counts are ``builtin``; the handlers features registered
    (segments, recommendations) found nothing of theirs in these fixtures."""
    assert {key: counts.get(key) for key in builtin} == builtin
    assert {key: counts[key] for key in counts.keys() - builtin.keys()} == dict.fromkeys(
        counts.keys() - builtin.keys(), 0
    )


def rows_of(person) -> dict[str, int]:
    visitors = [person.phone.pk, person.laptop.pk]
    return {
        "events": Event.objects.filter(visitor_id__in=visitors).count()
        + Event.objects.filter(user=person.user).count(),
        "sessions": Session.objects.filter(visitor_id__in=visitors).count(),
        "visitors": Visitor.objects.filter(user=person.user).count(),
        "merges": IdentityMerge.objects.filter(user=person.user).count(),
        "activity": DailyActivity.objects.filter(
            subject_key__in=[pseudonymous_key(person.user.pk), visitor_pseudonym(person.phone.vid)]
        ).count(),
    }


def test_erasure_removes_the_persons_tracking_data_and_nobody_elses(person) -> None:
    bob_before = (
        Event.objects.filter(visitor=person.other).count(),
        Session.objects.filter(visitor=person.other).count(),
    )
    request = erase_user(person.user.pk)
    assert rows_of(person) == dict.fromkeys(rows_of(person), 0)
    assert (
        Event.objects.filter(visitor=person.other).count(),
        Session.objects.filter(visitor=person.other).count(),
    ) == bob_before
    assert Visitor.objects.filter(pk=person.other.pk).exists()
    assert DailyActivity.objects.filter(subject_key=pseudonymous_key(person.other_user.pk)).exists()
    assert_counts(
        request.counts,
        {
            "events": 6,
            "sessions": 2,
            "identity_merges": 1,
            "activity": 2,
            "visitors": 2,
            "consent_records_anonymised": 2,
        },
    )
    # The account is the store's business.
    person.user.refresh_from_db()


def test_consent_records_are_kept_under_a_pseudonym(person) -> None:
    erase_user(person.user.pk)
    records = ConsentRecord.objects.exclude(vid=person.other.vid)
    assert records.count() == 2
    for record in records:
        assert record.user_id is None and record.visitor_id is None
        assert record.vid == erased_subject(person.user.pk)
        assert record.ip_prefix == "" and record.ua_hash == ""
        assert record.granted == ["analytics"] and record.policy_version == 1
    bob = ConsentRecord.objects.get(vid=person.other.vid)
    assert bob.user_id == person.other_user.pk


def test_the_audit_record_holds_no_personal_data(person) -> None:
    request = erase_user(person.user.pk, via="command")
    request.refresh_from_db()
    assert (request.kind, request.via, request.status) == ("erasure", "command", "done")
    assert request.subject_key == pseudonymous_key(person.user.pk)
    assert request.completed_at >= request.requested_at
    text = json.dumps(model_to_dict(request), default=str)
    for personal in (
        "alice",
        "alice@example.com",
        "Alice",
        person.phone.vid,
        person.laptop.vid,
        str(person.user.pk),
    ):
        assert personal not in text


def test_events_waiting_in_the_buffer_are_erased_too(person) -> None:
    enqueue([make_event("page_view", source="server", vid=person.phone.vid, path="/late/")])
    erase_user(person.user.pk)
    assert not Event.objects.filter(path="/late/").exists()
    assert not Visitor.objects.filter(vid=person.phone.vid).exists()


def test_the_browsers_sessions_and_per_person_cache_keys_are_forgotten(
    person, clean_cache, monkeypatch
) -> None:
    session_id, _ = resolve_session(person.phone.vid, person.events[0].occurred_at)
    patterns = []
    monkeypatch.setattr(cache, "delete_pattern", patterns.append, raising=False)
    erase_user(person.user.pk)
    assert resolve_session(person.phone.vid, person.events[0].occurred_at)[0] != session_id
    assert sorted(patterns) == sorted(
        [
            f"p13n:user:{person.user.pk}:*",
            f"p13n:visitor:{person.phone.vid}:*",
            f"p13n:visitor:{person.laptop.vid}:*",
        ]
    )


def test_registered_handlers_run_and_their_counts_are_audited(person, registry) -> None:
    seen = []

    def erase_recommendations(subject):
        seen.append(subject)
        return {"recommendations": 4}

    registry.register_erasure_handler(erase_recommendations)
    request = erase_user(person.user.pk)
    assert request.counts["recommendations"] == 4
    assert seen[0].user_id == person.user.pk and seen[0].categories is None
    assert set(seen[0].vids) == {person.phone.vid, person.laptop.vid}


def test_a_failing_erasure_changes_nothing_and_is_recorded_as_failed(person, registry) -> None:
    def broken(subject):
        raise RuntimeError(f"cannot erase {subject.user_id}")

    registry.register_erasure_handler(broken)
    before = rows_of(person)
    with pytest.raises(RuntimeError):
        erase_user(person.user.pk)
    assert rows_of(person) == before
    request = DataSubjectRequest.objects.get()
    assert (request.status, request.error) == ("failed", "RuntimeError")
    assert str(person.user.pk) not in request.error


def test_data_erased_is_sent_once_the_erasure_is_committed(
    person, django_capture_on_commit_callbacks
) -> None:
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    data_erased.connect(receiver)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            request = erase_user(person.user.pk)
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        data_erased.disconnect(receiver)
    assert len(received) == 1
    assert received[0]["user_id"] == person.user.pk
    assert received[0]["vid"] is None and received[0]["categories"] is None
    assert received[0]["request"] == request
    assert received[0]["counts"]["events"] == 6


def test_request_erasure_queues_the_task_which_runs_once(
    person, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = request_erasure(person.user.pk, via="api")
        assert request.status == "pending"
    request.refresh_from_db()
    assert request.status == "done"
    assert rows_of(person)["events"] == 0
    # A repeated delivery of the task finds the request done and changes nothing.
    counts = erase_user_data.apply(args=[person.user.pk, request.pk]).get()
    assert counts == request.counts
    assert DataSubjectRequest.objects.count() == 1


def test_the_task_without_a_request_records_one(person) -> None:
    counts = erase_user_data.delay(person.user.pk).get()
    assert counts["events"] == 6
    assert DataSubjectRequest.objects.get().status == "done"


# --- withdrawal ---------------------------------------------------------------------------------


def test_withdrawing_every_tracking_category_erases_the_browser(person) -> None:
    counts = erase_visitor_data(person.phone.vid, ["analytics", "personalization", "marketing"])
    assert_counts(
        counts, {"events": 3, "sessions": 1, "identity_merges": 0, "activity": 1, "visitors": 1}
    )
    assert not Visitor.objects.filter(vid=person.phone.vid).exists()
    # The user's other browser and the user's own aggregates are not this browser's.
    assert Event.objects.filter(visitor=person.laptop).count() == 3
    assert DailyActivity.objects.filter(subject_key=pseudonymous_key(person.user.pk)).exists()
    # The consent log proves the withdrawal: untouched.
    record = ConsentRecord.objects.get(vid=person.phone.vid)
    assert record.ip_prefix == "203.0.113.0/24"
    request = DataSubjectRequest.objects.get()
    assert (request.kind, request.via, request.status) == ("withdrawal", "consent", "done")
    assert request.subject_key == visitor_pseudonym(person.phone.vid)


def test_events_stay_while_another_tracking_category_is_allowed(person, registry) -> None:
    erased = []

    def erase_personalized(subject):
        if not subject.covers("personalization"):
            return {}
        erased.append(subject.vids)
        return {"recommendations": 1}

    registry.register_erasure_handler(erase_personalized)
    counts = erase_visitor_data(person.phone.vid, ["personalization"])
    assert counts == {"recommendations": 1}
    assert erased == [(person.phone.vid,)]
    assert Event.objects.filter(visitor=person.phone).count() == 3


def test_erasing_a_browser_without_categories_erases_everything(person) -> None:
    counts = erase_visitor_data(person.phone.vid, via="admin")
    assert counts["events"] == 3
    request = DataSubjectRequest.objects.get()
    assert (request.kind, request.via) == ("erasure", "admin")


def test_an_unknown_browser_is_erased_without_error(db) -> None:
    assert erase_visitor_data("never-seen-0000000001")["events"] == 0


def test_an_unreachable_buffer_fails_the_request_instead_of_leaving_it_running(
    person, monkeypatch
) -> None:
    def unreachable():
        raise ConnectionError("buffer down")

    monkeypatch.setattr("personalization.privacy.subjects.flush_buffer", unreachable)
    with pytest.raises(ConnectionError):
        erase_user(person.user.pk)
    request = DataSubjectRequest.objects.get()
    assert (request.status, request.error) == ("failed", "ConnectionError")
    assert Event.objects.filter(user=person.user).count() == 6
