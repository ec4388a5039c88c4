"""Sessions: new, continued, and ended by SESSION_IDLE_TIMEOUT of inactivity."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.test import RequestFactory

from personalization.models.tracking import new_visitor_id
from personalization.tracking.context import PersonalizationContext
from personalization.tracking.sessions import end_session, resolve_session

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def test_a_new_visitor_starts_a_session() -> None:
    session_id, is_new = resolve_session(new_visitor_id(), T0)
    assert is_new is True
    assert uuid.UUID(session_id)


def test_requests_within_the_idle_timeout_continue_the_session() -> None:
    vid = new_visitor_id()
    first, _ = resolve_session(vid, T0)
    # Each gap is under 30 minutes, though the visit lasts longer than that.
    for offset in (10, 35, 60):
        session_id, is_new = resolve_session(vid, T0 + minutes(offset))
        assert (session_id, is_new) == (first, False)


def test_an_idle_gap_longer_than_the_timeout_starts_a_new_session() -> None:
    vid = new_visitor_id()
    first, _ = resolve_session(vid, T0)
    assert resolve_session(vid, T0 + minutes(30)) == (first, False)
    second, is_new = resolve_session(vid, T0 + minutes(60) + dt.timedelta(seconds=1))
    assert is_new is True
    assert second != first
    assert resolve_session(vid, T0 + minutes(61)) == (second, False)


def test_the_timeout_is_configurable(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SESSION_IDLE_TIMEOUT": 60}
    vid = new_visitor_id()
    first, _ = resolve_session(vid, T0)
    assert resolve_session(vid, T0 + dt.timedelta(seconds=59)) == (first, False)
    assert resolve_session(vid, T0 + dt.timedelta(seconds=121))[1] is True


def test_an_earlier_timestamp_does_not_move_the_last_activity_back() -> None:
    vid = new_visitor_id()
    first, _ = resolve_session(vid, T0)
    resolve_session(vid, T0 + minutes(20))
    assert resolve_session(vid, T0 + minutes(5)) == (first, False)
    # Still measured from T0 + 20 min.
    assert resolve_session(vid, T0 + minutes(45)) == (first, False)


def test_visitors_have_sessions_of_their_own() -> None:
    a, _ = resolve_session(new_visitor_id(), T0)
    b, _ = resolve_session(new_visitor_id(), T0)
    assert a != b


def test_ending_a_session_makes_the_next_request_start_one() -> None:
    vid = new_visitor_id()
    first, _ = resolve_session(vid, T0)
    end_session(vid)
    second, is_new = resolve_session(vid, T0 + minutes(1))
    assert is_new is True
    assert second != first


@pytest.mark.django_db  # the consent gate reads the current policy version
def test_the_request_context_resolves_the_session_once() -> None:
    request = RequestFactory().get("/")
    request.COOKIES["p13n_consent"] = "1:analytics"
    context = PersonalizationContext(request)
    session_id = context.session_id
    assert context.session_is_new is True
    assert context.session_id == session_id
    # A second request of the same visitor continues the session.
    again = RequestFactory().get("/")
    again.COOKIES.update({"p13n_consent": "1:analytics", "p13n_vid": context.vid})
    later = PersonalizationContext(again)
    assert later.session_id == session_id
    assert later.session_is_new is False


def test_without_consent_there_is_no_visitor_and_no_session() -> None:
    request = RequestFactory().get("/")
    request.COOKIES["p13n_vid"] = new_visitor_id()
    context = PersonalizationContext(request)
    assert context.tracking is False
    assert context.vid is None
    assert context.session_id is None
    assert context.cookie_update_needed is False


def test_activity_is_written_at_most_once_per_touch_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from personalization.tracking import sessions

    vid = new_visitor_id()
    first, _ = resolve_session(vid, T0)
    writes: list[Any] = []
    real_set = sessions.cache.set
    monkeypatch.setattr(
        sessions.cache, "set", lambda *args, **kwargs: writes.append(args) or real_set(*args)
    )
    for second in range(1, 30):  # a request every second for half a minute
        assert resolve_session(vid, T0 + dt.timedelta(seconds=second)) == (first, False)
    assert writes == []
    assert resolve_session(vid, T0 + dt.timedelta(seconds=30)) == (first, False)
    assert len(writes) == 1
    assert resolve_session(vid, T0 + dt.timedelta(seconds=45)) == (first, False)
    assert len(writes) == 1
    # The timeout counts from the last written activity (T0 + 30 s), so the session ends up to
    # 30 s before the timeout after the last request (T0 + 45 s), never after it.
    assert resolve_session(vid, T0 + dt.timedelta(seconds=30) + minutes(30)) == (first, False)
    assert resolve_session(vid, T0 + dt.timedelta(seconds=31) + minutes(60))[1] is True
