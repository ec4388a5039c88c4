"""Identity: a visitor's history joins the user at log-in; log-out starts a new visitor."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.test import Client

from personalization.models.tracking import Event, IdentityMerge, Session, Visitor, new_visitor_id
from personalization.tracking.buffer import get_buffer
from personalization.tracking.events import make_event
from personalization.tracking.identity import link_visitor
from personalization.tracking.writer import write_events

from .conftest import CHROME, CONSENT_ALL

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ada", password="x")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="x")


@pytest.fixture
def login(django_capture_on_commit_callbacks: Any, eager_tasks: None) -> Any:
    """Log ``client`` in as ``username`` through a view, running the merge queued on commit."""

    def log_in(client: Client, username: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/login/", {"username": username})

    return log_in


def history(vid: str, sessions: int = 2, per_session: int = 3) -> None:
    events = [
        make_event("page_view", source="server", vid=vid, session_id=session_id)
        for session_id in (str(uuid.uuid4()) for _ in range(sessions))
        for _ in range(per_session)
    ]
    write_events(events)


def new_browser() -> Client:
    client = Client(headers={"user-agent": CHROME})
    client.cookies["p13n_consent"] = CONSENT_ALL
    return client


def test_a_merge_moves_the_visitors_events_and_sessions(ada: Any) -> None:
    vid = new_visitor_id()
    history(vid)
    merge = link_visitor(vid, ada.pk)
    assert (merge.visitor.vid, merge.user, merge.method) == (vid, ada, "login")
    assert (merge.events_moved, merge.sessions_moved) == (6, 2)
    assert Visitor.objects.get(vid=vid).user == ada
    assert set(Event.objects.values_list("user", flat=True)) == {ada.pk}
    assert set(Session.objects.values_list("user", flat=True)) == {ada.pk}


def test_a_repeated_merge_changes_and_records_nothing(ada: Any) -> None:
    vid = new_visitor_id()
    history(vid)
    link_visitor(vid, ada.pk)
    assert link_visitor(vid, ada.pk) is None
    assert IdentityMerge.objects.count() == 1


def test_events_still_buffered_join_the_user_when_written(ada: Any) -> None:
    vid = new_visitor_id()
    pending = [make_event("page_view", source="server", vid=vid, session_id=str(uuid.uuid4()))]
    merge = link_visitor(vid, ada.pk)
    assert (merge.events_moved, merge.sessions_moved) == (0, 0)
    assert Visitor.objects.get(vid=vid).user == ada
    write_events(pending)
    assert Event.objects.get().user == ada
    assert Session.objects.get().user == ada


def test_another_users_visitor_is_not_handed_over(ada: Any, bob: Any) -> None:
    vid = new_visitor_id()
    history(vid)
    link_visitor(vid, bob.pk)
    assert link_visitor(vid, ada.pk) is None
    assert set(Event.objects.values_list("user", flat=True)) == {bob.pk}
    assert Visitor.objects.get(vid=vid).user == bob


def test_a_missing_user_merges_nothing() -> None:
    vid = new_visitor_id()
    history(vid)
    assert link_visitor(vid, 987654) is None
    assert Visitor.objects.get(vid=vid).user is None
    assert not IdentityMerge.objects.exists()


@pytest.mark.usefixtures("site")
def test_logging_in_merges_the_browsers_history(ada: Any, login: Any, flush: Any) -> None:
    browser = new_browser()
    vid = browser.get("/page/").cookies["p13n_vid"].value
    browser.get("/products/p13n-test-mug/")
    flush()
    login(browser, "ada")
    merge = IdentityMerge.objects.get()
    assert (merge.visitor.vid, merge.user) == (vid, ada)
    assert (merge.events_moved, merge.sessions_moved) == (2, 1)
    # Afterwards the browser keeps its visitor, and its events carry the user.
    browser.get("/page/")
    flush()
    assert set(Event.objects.values_list("user", flat=True)) == {ada.pk}
    assert Visitor.objects.get().vid == vid


@pytest.mark.usefixtures("site")
def test_logging_in_before_the_first_flush(ada: Any, login: Any, flush: Any) -> None:
    browser = new_browser()
    browser.get("/page/")
    login(browser, "ada")
    assert len(get_buffer()) == 1
    flush()
    assert Event.objects.get().user == ada


@pytest.mark.usefixtures("site")
def test_one_user_on_two_devices_has_both_visitors(ada: Any, login: Any, flush: Any) -> None:
    laptop, phone = new_browser(), new_browser()
    vids = {laptop.get("/page/").cookies["p13n_vid"].value}
    vids.add(phone.get("/page/").cookies["p13n_vid"].value)
    flush()
    login(laptop, "ada")
    login(phone, "ada")
    assert len(vids) == 2
    assert set(ada.p13n_visitors.values_list("vid", flat=True)) == vids
    assert IdentityMerge.objects.filter(user=ada).count() == 2
    assert Event.objects.filter(user=ada).count() == 2


def _buffered_of(vid: str) -> list[dict[str, Any]]:
    buffer = get_buffer()
    return [event for event in buffer.peek(len(buffer)) if event["vid"] == vid]


@pytest.mark.usefixtures("site")
def test_logging_out_starts_a_new_anonymous_visitor(ada: Any, login: Any, flush: Any) -> None:
    browser = new_browser()
    old_vid = browser.get("/page/").cookies["p13n_vid"].value
    login(browser, "ada")
    (before,) = _buffered_of(old_vid)
    old_session = before["session_id"]
    response = browser.post("/logout/")
    new_cookie = response.cookies["p13n_vid"]
    assert new_cookie.value not in ("", old_vid)
    assert new_cookie["httponly"] is True
    browser.get("/page/")
    # The buffer's shards hold visitors apart, so the events are found by visitor, not position.
    (after,) = _buffered_of(new_cookie.value)
    assert after["session_id"] != old_session
    assert after["user_id"] is None
    flush()
    assert Visitor.objects.get(vid=old_vid).user == ada
    assert Visitor.objects.get(vid=new_cookie.value).user is None


@pytest.mark.usefixtures("site")
def test_a_browser_of_another_account_gets_a_new_visitor(
    ada: Any, bob: Any, login: Any, flush: Any
) -> None:
    browser = new_browser()
    bobs_vid = browser.get("/page/").cookies["p13n_vid"].value
    flush()
    link_visitor(bobs_vid, bob.pk)
    response = login(browser, "ada")
    assert response.cookies["p13n_vid"].value != bobs_vid
    assert not IdentityMerge.objects.filter(user=ada).exists()
    assert set(Event.objects.values_list("user", flat=True)) == {bob.pk}


@pytest.mark.usefixtures("site")
def test_logging_in_without_consent_links_nothing(ada: Any, login: Any) -> None:
    browser = Client(headers={"user-agent": CHROME})
    browser.get("/page/")
    response = login(browser, "ada")
    assert "p13n_vid" not in response.cookies
    assert not Visitor.objects.exists()
    assert not IdentityMerge.objects.exists()


def test_logging_in_outside_a_tracked_request_is_harmless(ada: Any) -> None:
    Client().force_login(ada)
    assert not IdentityMerge.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("site")
def test_the_merge_runs_in_a_celery_worker(
    celery_worker_process: dict[str, str], django_user_model: Any, flush: Any
) -> None:
    user = django_user_model.objects.create_user("ada", password="x")
    browser = new_browser()
    vid = browser.get("/page/").cookies["p13n_vid"].value
    flush()
    browser.post("/login/", {"username": "ada"})
    deadline = time.monotonic() + 60
    while not IdentityMerge.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    merge = IdentityMerge.objects.get()
    assert (merge.visitor.vid, merge.user_id, merge.events_moved) == (vid, user.pk, 1)
