"""Dynamic rule segments kept up to date from the stored events themselves, without re-reading
every person's history for every batch.

:func:`on_events_stored` is the ``events_stored`` receiver. It gives the same answers as
:func:`~personalization.segments.live.evaluate_people` (tests compare them on random event
sequences) at a fraction of the cost: each visitor of a batch has a *rule state* in the cache
holding what their rule context needs,

* their recent events of the names the dynamic rules count (with properties only when a rule
  reads them), trimmed to the longest rule window and to ``SEGMENT_MAX_EVENTS``,
* their sessions of the last ``SEGMENT_EVENT_LOOKBACK_DAYS`` (the latest one's attributes, the
  number of them),
* their profile attributes and their open dynamic memberships,

stamped with a fingerprint of the active dynamic rules, the relevant settings and a generation
that the end of a segmentation run renews (profiles change then). A batch reads the states of
its visitors with one ``get_many``, appends its events, evaluates in memory, writes only the
membership changes and stores the states back with one ``set_many``.

A visitor is loaded from the database (all of the batch's misses in one query per table, as
``live`` does) when their state is missing, has another fingerprint, is older than
``SEGMENT_LIVE_STATE_SECONDS``, was marked stale (a *tombstone*: identity merge, customer
merge, erasure, a membership changed elsewhere) after it was loaded, or when the batch brings a
session the state does not know (a new visit). Users are always loaded from the database: their
events may be flushed by several buffer shards at once (one per browser), which could lose an
update of a shared state, while a visitor's events are only ever flushed by their shard, under
its lock.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from ..conf import app_settings
from ..models.dedup import CustomerMerge
from ..models.segments import Profile, Segment, SegmentationRun, SegmentMembership
from ..models.tracking import IdentityMerge, Session
from ..privacy.registry import Subject, register_erasure_handler
from . import live
from .membership import Person
from .profiles import profile_attributes
from .signals import segment_entered, segment_exited

logger = logging.getLogger(__name__)

__all__ = ["evaluate_batch", "forget", "new_generation", "on_events_stored"]

GENERATION_KEY = "p13n:seglive:generation"
# A tombstone is dated this many seconds ahead: a state loaded by another process whose clock is
# a little behind, just before the change committed, still counts as older.
_CLOCK_MARGIN = 2.0
_UTC = dt.UTC

# Fields of a stored event as the writer passes it (see tracking/signals.py).
StoredEvent = tuple[Any, Any, str, float, str, str | None, dict[str, Any], str | None]

# The state's fields, by position: a tuple pickles smaller and faster than a dict.
_FINGERPRINT, _LOADED_AT, _EVENTS, _SESSIONS, _MEMBERS, _PROFILE = range(6)

_local = threading.local()


def _state_key(vid: str, pk: Any) -> str:
    # The cookie id is never reused, a primary key can be (after a rollback); a visitor erased
    # and seen again gets a new primary key under the same cookie id.
    return f"p13n:seglive:visitor:{vid}:{pk}"


def _tombstone_key(person: Person) -> str:
    return f"p13n:seglive:stale:{person[0]}:{person[1]}"


def _timeout() -> int:
    return int(app_settings.SEGMENT_LIVE_STATE_SECONDS)


# Invalidation ---------------------------------------------------------------------------------


def forget(people: Iterable[Person]) -> None:
    """Mark the cached rule states of ``people`` stale, once the current transaction commits:
    the next batch loads them from the database again."""
    people = {person for person in people if person is not None and person[1] is not None}
    if people:
        transaction.on_commit(lambda: _tombstone(people), robust=True)


def _tombstone(people: Collection[Person]) -> None:
    if _timeout() <= 0:
        return
    stamp = time.time() + _CLOCK_MARGIN
    cache.set_many({_tombstone_key(person): stamp for person in people}, timeout=_timeout())


def new_generation() -> None:
    """Make every cached rule state stale (profiles were recomputed, a segment changed)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


# The active dynamic segments of the current generation: a process asks the database again only
# when a segment was saved or deleted (which starts a new generation), not for every batch.
_segments_by_generation: dict[str, list[live.CompiledSegment]] = {}


def _dynamic_segments(generation: str | None) -> list[live.CompiledSegment]:
    # Inside a transaction the segments read may be uncommitted ones, which a rollback undoes
    # without a new generation: those are not kept.
    if generation is None or connection.in_atomic_block:
        return live.rule_segments(Segment.DYNAMIC)
    segments = _segments_by_generation.get(generation)
    if segments is None:
        segments = live.rule_segments(Segment.DYNAMIC)
        _segments_by_generation.clear()
        _segments_by_generation[generation] = segments
    return segments


@receiver(post_save, sender=Segment, dispatch_uid="personalization.segments.inc_saved")
@receiver(post_delete, sender=Segment, dispatch_uid="personalization.segments.inc_deleted")
def _segment_changed(sender: Any, **kwargs: Any) -> None:
    """A segment was saved or deleted: processes read the active ones again. Once now, and once
    more after the commit: a process that read the segments in between saw the old rows."""
    new_generation()
    transaction.on_commit(new_generation, robust=True)


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        generation = cache.get(GENERATION_KEY, "")
    return generation


@receiver(segment_entered, sender=Segment, dispatch_uid="personalization.segments.inc_in")
@receiver(segment_exited, sender=Segment, dispatch_uid="personalization.segments.inc_out")
def _membership_changed(
    sender: Any, segment: Segment, user_id: Any = None, visitor_id: Any = None, **kwargs: Any
) -> None:
    """A dynamic membership changed elsewhere (a full evaluation, the admin): the state's
    memberships are stale. The changes this module writes itself keep their state."""
    if getattr(_local, "writing", False) or segment.mode != Segment.DYNAMIC:
        return
    forget([live._person(user_id, visitor_id)])


@receiver(post_save, sender=IdentityMerge, dispatch_uid="personalization.segments.inc_identity")
def _identity_merged(sender: Any, instance: IdentityMerge, created: bool, **kwargs: Any) -> None:
    """A visitor's events, sessions and memberships became a user's."""
    if created:
        forget([("visitor", instance.visitor_id), ("user", instance.user_id)])


@receiver(post_save, sender=CustomerMerge, dispatch_uid="personalization.segments.inc_dedup")
def _customers_merged(sender: Any, instance: CustomerMerge, created: bool, **kwargs: Any) -> None:
    """One account's history moved to another."""
    if created:
        forget(("user", pk) for pk in (instance.source_id, instance.target_id))


@receiver(post_save, sender=SegmentationRun, dispatch_uid="personalization.segments.inc_run")
def _run_finished(sender: Any, instance: SegmentationRun, **kwargs: Any) -> None:
    """A finished run (even a failed one may have stored profiles) renews the generation."""
    if instance.status in (SegmentationRun.DONE, SegmentationRun.FAILED):
        transaction.on_commit(new_generation, robust=True)


def _erase_states(subject: Subject) -> dict[str, int]:
    """Erasure: drop the cached rule states (events, profile) of the person and their browsers."""
    people: list[Person] = [("visitor", pk) for pk in subject.visitor_ids]
    if subject.user_id is not None:
        people.append(("user", subject.user_id))
    if people:
        # Paired in order; a cookie id without a visitor row has no state (nor a primary key).
        pairs = zip(subject.vids, subject.visitor_ids, strict=False)
        keys = [_state_key(vid, pk) for vid, pk in pairs]
        cache.delete_many(keys)
        forget(people)
    return {}


register_erasure_handler(_erase_states)


# Loading from the database --------------------------------------------------------------------


def _fingerprint(segments: list[live.CompiledSegment], generation: str) -> str:
    parts = [
        generation,
        str(app_settings.SEGMENT_MAX_EVENTS),
        str(app_settings.SEGMENT_EVENT_LOOKBACK_DAYS),
    ]
    parts += [f"{s.pk}:{s.segment.updated_at.isoformat()}" for s in segments]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest()


def _session_entry(row: dict[str, Any]) -> list[Any]:
    attributes = live._session_dict(row)
    attributes["id"] = str(attributes["id"])
    return [row["started_at"].timestamp(), row["ended_at"].timestamp(), attributes]


def _load(
    people: list[Person],
    now: dt.datetime,
    lookback: float,
    properties: bool,
    names: frozenset[str],
    segment_pks: list[int],
) -> dict[Person, list[Any]]:
    """New states of ``people`` from the database: one query each for events, profiles,
    sessions and memberships, whatever their number."""
    loaded_at = time.time()
    states: dict[Person, list[Any]] = {
        person: [None, loaded_at, [], {}, set(), None] for person in people
    }
    since = now - dt.timedelta(seconds=live._max_lookback())
    for chunk in live._chunks(people, live._IN_BATCH):
        people_q = live._people_filter(chunk)
        if lookback > 0 and names:
            query = Q(people_q, occurred_at__gte=now - dt.timedelta(seconds=lookback))
            query &= Q(name__in=sorted(names))
            with live._collector_paused():
                for row in live._event_rows(query, properties):
                    state = states.get(live._person(row[0], row[1]))
                    if state is not None:
                        state[_EVENTS].append(
                            (
                                live.rules._epoch(row[3]),
                                row[2],
                                row[4] or None,
                                str(row[5]) if row[5] is not None else None,
                                (row[6] or None) if properties else None,
                            )
                        )
        for profile in Profile.objects.filter(people_q).select_related("cluster"):
            state = states.get(live._person(profile.user_id, profile.visitor_id))
            if state is not None:
                state[_PROFILE] = profile_attributes(profile)
        sessions = Session.objects.filter(people_q, ended_at__gte=since).values(
            "user_id", "visitor_id", *live._SESSION_COLUMNS, "ended_at"
        )
        for row in sessions:
            state = states.get(live._person(row["user_id"], row["visitor_id"]))
            if state is not None:
                state[_SESSIONS][str(row["id"])] = _session_entry(row)
        rows = SegmentMembership.objects.filter(
            people_q, segment_id__in=segment_pks, exited_at__isnull=True
        ).values_list("segment_id", "user_id", "visitor_id")
        for segment_id, user_id, visitor_id in rows:
            state = states.get(live._person(user_id, visitor_id))
            if state is not None:
                state[_MEMBERS].add(segment_id)
    limit = app_settings.SEGMENT_MAX_EVENTS
    for state in states.values():
        state[_EVENTS].sort(key=_moment)
        del state[_EVENTS][: max(len(state[_EVENTS]) - limit, 0)]
    return states


def _moment(event: tuple) -> float:
    return event[0]


# Updating a state with a batch -----------------------------------------------------------------


def _apply(
    state: list[Any],
    events: list[StoredEvent],
    names: frozenset[str],
    properties: bool,
) -> bool:
    """Add the batch's events of one visitor to their state; False when the state cannot follow
    (a session it does not know: the visitor is loaded from the database instead)."""
    sessions = state[_SESSIONS]
    added = []
    for _visitor, _user, name, at, product_id, session_id, props, _vid in events:
        if session_id is not None:
            entry = sessions.get(session_id)
            if entry is None:
                return False
            if at < entry[0]:
                entry[0] = at
                entry[2]["started_at"] = dt.datetime.fromtimestamp(at, _UTC)
            if at > entry[1]:
                entry[1] = at
            entry[2]["events"] += 1
        if name in names:
            added.append(
                (at, name, product_id or None, session_id, (props or None) if properties else None)
            )
    if added:
        state[_EVENTS].extend(added)
        state[_EVENTS].sort(key=_moment)
    return True


def _trim(state: list[Any], now: float, lookback: float) -> None:
    events = state[_EVENTS]
    start = bisect.bisect_left(events, now - lookback, key=_moment)
    start = max(start, len(events) - app_settings.SEGMENT_MAX_EVENTS)
    if start > 0:
        del events[:start]
    since = now - live._max_lookback()
    sessions = state[_SESSIONS]
    for session_id in [sid for sid, entry in sessions.items() if entry[1] < since]:
        del sessions[session_id]


def _person_data(state: list[Any], now: float) -> live._PersonData:
    since = now - live._max_lookback()
    latest: list[Any] | None = None
    count = 0
    for entry in state[_SESSIONS].values():
        if entry[1] >= since:
            count += 1
            if latest is None or entry[0] > latest[0]:
                latest = entry
    return live._PersonData(
        events=[
            {
                "name": name,
                "timestamp": at,
                "product_id": product_id,
                "session_id": session_id,
                "properties": props or {},
            }
            for at, name, product_id, session_id, props in state[_EVENTS]
        ],
        profile=state[_PROFILE],
        session=dict(latest[2]) if latest is not None else {},
        sessions=count,
    )


# Membership changes ---------------------------------------------------------------------------


def _pairs_filter(changes: dict[int, set[Person]]) -> Q:
    """Open memberships of these (segment, person) pairs."""
    query = Q(pk__in=[])
    for segment_id, people in changes.items():
        for kind in ("user", "visitor"):
            ids = [pk for k, pk in people if k == kind]
            if ids:
                query |= Q(segment_id=segment_id, **{f"{kind}_id__in": ids})
    return Q(query, exited_at__isnull=True)


def _change_members(
    segments: dict[int, Segment],
    entering: dict[int, set[Person]],
    leaving: dict[int, set[Person]],
    now: dt.datetime,
) -> None:
    """:func:`~personalization.segments.membership.change_members` for the changes of several
    segments at once: the same rows and signals, with a few queries in all rather than a few per
    segment (a new visitor typically enters two or three segments in one batch)."""
    entering = {pk: people for pk, people in entering.items() if people}
    leaving = {pk: people for pk, people in leaving.items() if people}
    with transaction.atomic():
        exited: list[tuple[int, Person]] = []
        if leaving:
            rows = SegmentMembership.objects.filter(_pairs_filter(leaving))
            found = list(rows.values_list("pk", "segment_id", "user_id", "visitor_id"))
            SegmentMembership.objects.filter(pk__in=[row[0] for row in found]).update(exited_at=now)
            exited = [(row[1], live._person(row[2], row[3])) for row in found]
        entered: list[tuple[int, Person]] = []
        if entering:
            present = {
                (segment_id, live._person(user_id, visitor_id))
                for segment_id, user_id, visitor_id in SegmentMembership.objects.filter(
                    _pairs_filter(entering)
                ).values_list("segment_id", "user_id", "visitor_id")
            }
            entered = [
                (pk, person)
                for pk, people in entering.items()
                for person in people
                if (pk, person) not in present
            ]
            SegmentMembership.objects.bulk_create(
                [
                    SegmentMembership(
                        segment_id=pk,
                        user_id=person[1] if person[0] == "user" else None,
                        visitor_id=person[1] if person[0] == "visitor" else None,
                        entered_at=now,
                    )
                    for pk, person in entered
                ],
                ignore_conflicts=True,
            )
        changed = {pk for pk, _person in exited + entered}
        if changed:
            open_rows = SegmentMembership.objects.filter(
                segment_id=OuterRef("pk"), exited_at__isnull=True
            )
            Segment.objects.filter(pk__in=changed).update(
                member_count=Coalesce(
                    Subquery(
                        open_rows.order_by()
                        .values("segment_id")
                        .annotate(n=Count("pk"))
                        .values("n")
                    ),
                    0,
                )
            )
        for signal, changes in ((segment_exited, exited), (segment_entered, entered)):
            if changes and signal.has_listeners(Segment):
                for pk, (kind, person_pk) in changes:
                    signal.send(
                        sender=Segment,
                        segment=segments[pk],
                        user_id=person_pk if kind == "user" else None,
                        visitor_id=person_pk if kind == "visitor" else None,
                        at=now,
                    )


# The receiver ---------------------------------------------------------------------------------


def evaluate_batch(
    events: Iterable[StoredEvent],
    people: Iterable[Person] = (),
    *,
    now: dt.datetime | None = None,
) -> dict[Person, set[str]]:
    """Evaluate the dynamic segments of the people of a stored (committed) batch from their
    cached rule states and the batch's ``events``; enter and leave memberships where the answer
    changed. ``people`` adds people without events in ``events``. Returns each person's dynamic
    segments (slugs)."""
    by_person: dict[Person, list[StoredEvent]] = defaultdict(list)
    vids: dict[Person, str] = {}
    for event in events:
        person = live._person(event[1], event[0])
        if person is not None:
            by_person[person].append(event)
            if person[0] == "visitor" and event[7]:
                vids[person] = event[7]
    for person in people:
        if person is not None:
            by_person.setdefault(person, [])
    if not by_person:
        return {}
    timeout = _timeout()
    cached: dict[str, Any] = {}
    generation = None
    if timeout > 0:
        keys = [_state_key(vid, person[1]) for person, vid in vids.items()]
        keys += [_tombstone_key(person) for person in vids]
        cached = cache.get_many([GENERATION_KEY, *keys])
        generation = cached.get(GENERATION_KEY) or _generation()
    segments = _dynamic_segments(generation)
    if not segments:
        return {person: set() for person in by_person}
    now = now or timezone.now()
    moment = now.timestamp()
    lookback = max(segment.lookback for segment in segments)
    properties = any(segment.reads_properties for segment in segments)
    names = frozenset().union(*(segment.event_names for segment in segments))
    fingerprint = _fingerprint(segments, generation) if generation and vids else ""

    states: dict[Person, list[Any]] = {}
    misses: list[Person] = []
    oldest = time.time() - timeout
    for person in by_person:
        state = cached.get(_state_key(vids[person], person[1])) if person in vids else None
        if (
            state is not None
            and state[_FINGERPRINT] == fingerprint
            and state[_LOADED_AT] > max(oldest, cached.get(_tombstone_key(person), 0.0))
        ):
            state = list(state)
            if _apply(state, by_person[person], names, properties):
                states[person] = state
                continue
        misses.append(person)
    if misses:
        # The batch is committed: the database already holds its events.
        states.update(_load(misses, now, lookback, properties, names, [s.pk for s in segments]))

    products = live.product_attributes()
    entering: dict[int, set[Person]] = defaultdict(set)
    leaving: dict[int, set[Person]] = defaultdict(set)
    result: dict[Person, set[str]] = {}
    for person, state in states.items():
        _trim(state, moment, lookback)
        context = live._context(_person_data(state, moment), now, products)
        members = state[_MEMBERS]
        inside, inside_pks = set(), set()
        for segment in segments:
            if segment.predicate(context):
                inside.add(segment.slug)
                inside_pks.add(segment.pk)
                if segment.pk not in members:
                    entering[segment.pk].add(person)
            elif segment.pk in members:
                leaving[segment.pk].add(person)
        state[_MEMBERS] = inside_pks
        result[person] = inside

    if entering or leaving:
        _local.writing = True
        try:
            _change_members({s.pk: s.segment for s in segments}, entering, leaving, now)
        finally:
            _local.writing = False
    if timeout > 0 and fingerprint:
        writes = {}
        for person, state in states.items():
            if person in vids:
                state[_FINGERPRINT] = fingerprint
                state[_MEMBERS] = frozenset(state[_MEMBERS])
                writes[_state_key(vids[person], person[1])] = tuple(state)
        cache.set_many(writes, timeout=timeout)
    return result


def on_events_stored(
    sender: Any,
    people: Collection[tuple[Any, Any]] = (),
    events: Iterable[StoredEvent] | None = None,
    **kwargs: Any,
) -> None:
    """``events_stored`` receiver: the dynamic segments of the batch's people, incrementally
    (a sender that passes no ``events`` gets the full evaluation of ``live``)."""
    if not app_settings.SEGMENTS_LIVE_ON_INGEST:
        # States left behind would miss these events if the evaluation is switched on again.
        if events is not None and _timeout() > 0:
            keys = {
                _state_key(vid, visitor)
                for visitor, user, *_rest, vid in events
                if user is None and visitor is not None and vid
            }
            if keys:
                cache.delete_many(list(keys))
        return
    if events is None:
        live.on_events_stored(sender, people=people, **kwargs)
        return
    people = [live._person(user_id, visitor_id) for visitor_id, user_id in people]
    try:
        evaluate_batch(events, people)
    except IntegrityError:
        # A membership of a segment that no longer exists: segments removed without a signal
        # (a truncated table) leave this process's list stale. Read them again, once.
        _segments_by_generation.clear()
        new_generation()
        evaluate_batch(events, people)
