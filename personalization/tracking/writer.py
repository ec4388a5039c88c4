"""Bulk, idempotent writes of clean events (see ``events.py`` for the event dict).

:func:`write_events` turns a batch of clean events into rows with a handful of queries whatever
the batch size: it creates the missing ``Visitor`` rows (by ``vid``) and ``Session`` rows (from
the first event of each session: landing path, referrer, UTM fields, device), advances the
sessions' end and event count and the visitors' last-seen time, and inserts the events; the
unique ``event_id`` makes a batch written twice stored once.

User agents are parsed (cached) into device type, browser and OS, and never stored. An event
without a user takes the user of its visitor, so events flushed after a log-in merge join the
user too. Events that do not follow the contract are dropped, counted and logged, rather than
blocking the batch.

On PostgreSQL with psycopg 3 the events go in with ``COPY``, which costs about half the CPU of
``bulk_create`` (no model instances, no SQL text with thousands of quoted parameters). ``COPY``
cannot skip rows, so a batch that repeats stored events (a retried flush) is rolled back to a
savepoint and written the careful way: stored events looked up and left out, the rest inserted
with ``INSERT ... ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Model

from ..conf import app_settings
from ..models.tracking import EVENT_SOURCES, Event, Session, Visitor
from ..privacy.sensitive import split_sensitive
from ..transactions import on_commit_robust
from .names import canonical_name
from .signals import events_stored
from .useragent import DeviceInfo, parse_user_agent

logger = logging.getLogger(__name__)

SOURCES = frozenset(key for key, _label in EVENT_SOURCES)
_encode_json = json.JSONEncoder(separators=(",", ":")).encode


def _properties_json(properties: dict[str, Any]) -> str:
    """Compact JSON of the plain properties: orjson, or the standard library for what orjson
    refuses (such as integers beyond 64 bits)."""
    try:
        return orjson.dumps(properties).decode()
    except orjson.JSONEncodeError:
        return _encode_json(properties)


INSERT_BATCH = 500
MAX_VID = 32
MAX_PRODUCT_ID = 64
MAX_PATH = 2048
MAX_REFERRER = 512
MAX_HOST = 255
MAX_UA = 512
MAX_UTM = 128


@dataclass(frozen=True)
class WriteResult:
    """What a write did: events stored, events already stored (or repeated in the batch), and
    events dropped because they do not follow the clean event contract."""

    stored: int = 0
    duplicates: int = 0
    invalid: int = 0


@dataclass(slots=True)
class _Row:
    event_id: str  # canonical UUID text, as str(uuid.UUID(...)) writes it
    name: str
    vid: str | None
    user_id: Any
    session_id: str | None  # canonical UUID text
    product_id: str
    properties: dict[str, Any]
    properties_json: str
    sensitive: dict[str, Any]
    path: str
    referrer: str
    referrer_host: str
    utm: Mapping[str, str]
    device: DeviceInfo
    occurred_at: dt.datetime
    client_ts: dt.datetime | None
    received_at: dt.datetime
    source: str
    # The three moments in ISO 8601, for COPY.
    occurred_text: str
    client_text: str | None
    received_text: str


_fromisoformat = dt.datetime.fromisoformat


def _timestamp(value: Any) -> tuple[dt.datetime, str]:
    """``(aware datetime, its ISO 8601 text)``; a moment without an offset is UTC."""
    if isinstance(value, str):
        return _moment_from_text(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"timestamp expected, got {type(value).__name__}")
    value = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return value, value.isoformat()


# The events of a request share their reception time, and an event's client time is usually its
# occurrence time: parse and format each text once.
@functools.lru_cache(maxsize=4096)
def _moment_from_text(text: str) -> tuple[dt.datetime, str]:
    value = _fromisoformat(text)
    value = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return value, value.isoformat()


# The form str(uuid.UUID(...)) gives; event ids in it (all that the producers write) are kept as
# they are instead of being parsed and formatted again.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_text(value: Any) -> str:
    """Canonical UUID text; ValueError when ``value`` is no UUID."""
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    return str(uuid.UUID(str(value)))


def _text(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


NO_UTM: Mapping[str, str] = MappingProxyType({"source": "", "medium": "", "campaign": ""})


def _utm(utm: Mapping[str, Any]) -> dict[str, str]:
    return {key: _no_nul(_text(utm.get(key), MAX_UTM)) for key in ("source", "medium", "campaign")}


# PostgreSQL stores no NUL character in text or jsonb: such an event would fail its whole batch
# at every flush, so it is dropped like any event off the contract. In JSON text a NUL is
# "\u0000" after an even number of backslashes (an odd one escapes the backslash instead).
NUL_PROBLEM = "text with a NUL character"
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError(NUL_PROBLEM)
    return text


def _sensitive_names() -> frozenset[str]:
    """SENSITIVE_EVENT_PROPERTIES without case, read once per batch rather than per event."""
    return frozenset(name.lower() for name in app_settings.SENSITIVE_EVENT_PROPERTIES or ())


def _prepare(raw: Mapping[str, Any], user_pk: Any, sensitive_names: frozenset[str]) -> _Row:
    name = canonical_name(raw["name"])
    if name is None:
        raise ValueError(f"unknown event name {raw['name']!r}")
    source = raw.get("source") or "server"
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    vid = raw.get("vid") or None
    if vid is not None and (not isinstance(vid, str) or len(vid) > MAX_VID):
        raise ValueError(f"vid must be a string of at most {MAX_VID} characters")
    user_id = raw.get("user_id")
    if user_id is not None:
        user_id = user_pk.to_python(user_id)
    session_id = raw.get("session_id")
    session_id = _uuid_text(session_id) if session_id and vid else None
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise TypeError("properties must be a dict")
    sensitive: dict[str, Any] = {}
    # Most events have no sensitive property: only those pay for the split.
    if sensitive_names and any(key.lower() in sensitive_names for key in properties):
        properties, sensitive = split_sensitive(properties)
    properties_json = _properties_json(properties)
    if "\\u0000" in properties_json and _JSON_NUL.search(properties_json):
        raise ValueError(NUL_PROBLEM)
    utm = raw.get("utm")
    occurred_at, occurred_text = _timestamp(raw["occurred_at"])
    client_ts = client_text = None
    if raw.get("client_ts"):
        client_ts, client_text = _timestamp(raw["client_ts"])
    received_at, received_text = occurred_at, occurred_text
    if raw.get("received_at"):
        received_at, received_text = _timestamp(raw["received_at"])
    return _Row(
        event_id=_uuid_text(raw["event_id"]),
        name=name,
        vid=vid,
        user_id=user_id,
        session_id=session_id,
        product_id=_no_nul(_text(raw.get("product_id"), MAX_PRODUCT_ID)),
        properties=properties,
        properties_json=properties_json,
        sensitive=sensitive,
        path=_no_nul(_text(raw.get("path"), MAX_PATH)),
        referrer=_no_nul(_text(raw.get("referrer"), MAX_REFERRER)),
        referrer_host=_no_nul(_text(raw.get("referrer_host"), MAX_HOST)),
        utm=_utm(utm) if utm and any(utm.values()) else NO_UTM,
        device=parse_user_agent(_text(raw.get("ua"), MAX_UA)),
        occurred_at=occurred_at,
        client_ts=client_ts,
        received_at=received_at,
        source=source,
        occurred_text=occurred_text,
        client_text=client_text,
        received_text=received_text,
    )


def write_events(events: Iterable[Mapping[str, Any]]) -> WriteResult:
    """Store clean events in bulk, in one transaction; safe to repeat with the same events.

    ``stored`` counts the events that were new when the batch was read; two writers racing on the
    same events may both count one, but it is stored once.
    """
    user_pk = get_user_model()._meta.pk
    sensitive_names = _sensitive_names()
    rows: list[_Row] = []
    seen: set[str] = set()
    duplicates = invalid = 0
    first_problem = ""
    for raw in events:
        try:
            row = _prepare(raw, user_pk, sensitive_names)
        except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
            invalid += 1
            first_problem = first_problem or f"{type(exc).__name__}: {exc}"
            continue
        if row.event_id in seen:
            duplicates += 1
            continue
        seen.add(row.event_id)
        rows.append(row)
    if invalid:
        logger.warning("Dropped %d invalid events (first: %s)", invalid, first_problem)
    if not rows:
        return WriteResult(duplicates=duplicates, invalid=invalid)

    with transaction.atomic():
        if _copy_available():
            # Optimistic: a batch repeats stored events only when an earlier flush died between
            # its commit and its ack, so COPY it without looking them up first. A repeat makes
            # the COPY fail and rolls this savepoint back; the careful way below runs instead.
            try:
                with transaction.atomic():
                    _store(rows, copy=True)
                return WriteResult(stored=len(rows), duplicates=duplicates, invalid=invalid)
            except IntegrityError:
                logger.info("The batch repeats stored events; writing only the new ones")
        existing = {
            str(event_id)
            for event_id in Event.objects.filter(
                event_id__in=[row.event_id for row in rows]
            ).values_list("event_id", flat=True)
        }
        if existing:
            rows = [row for row in rows if row.event_id not in existing]
            duplicates += len(existing)
        if rows:
            _store(rows, copy=False)
    return WriteResult(stored=len(rows), duplicates=duplicates, invalid=invalid)


def _store(rows: list[_Row], *, copy: bool) -> None:
    """Write new events with their visitors and sessions (an event stored already makes the
    COPY fail; ``INSERT ... ON CONFLICT DO NOTHING`` ignores it)."""
    _drop_unknown_users(rows)
    visitors = _upsert_visitors(rows)
    for row in rows:
        if row.user_id is None and row.vid is not None:
            row.user_id = visitors[row.vid].user_id
    sessions = _upsert_sessions(rows, visitors)
    visitor_pks = {vid: visitor.pk for vid, visitor in visitors.items()}
    values = [_event_values(row, visitor_pks, sessions, text=copy) for row in rows]
    # Sent once the batch is committed (a COPY rolled back to its savepoint drops it).
    on_commit_robust(
        events_stored.send,
        sender=Event,
        people=frozenset(
            (visitors[row.vid].pk if row.vid is not None else None, row.user_id) for row in rows
        ),
        # What the incremental dynamic segments need of each stored event (signals.py).
        events=[
            (
                visitors[row.vid].pk if row.vid is not None else None,
                row.user_id,
                row.name,
                row.occurred_at.timestamp(),
                row.product_id,
                row.session_id,
                row.properties,
                row.vid,
            )
            for row in rows
        ],
    )
    if copy:
        _copy_events(values)
        return
    attnames = [Event._meta.get_field(name).attname for name in EVENT_FIELDS]
    events = []
    for row, value in zip(rows, values, strict=True):
        fields = dict(zip(attnames, value, strict=True))
        fields["properties"] = row.properties
        fields["sensitive"] = row.sensitive
        events.append(Event(**fields))
    Event.objects.bulk_create(events, ignore_conflicts=True, batch_size=INSERT_BATCH)


def _drop_unknown_users(rows: list[_Row]) -> None:
    """Forget user ids that no longer exist (a deleted account is not brought back by events)."""
    ids = {row.user_id for row in rows if row.user_id is not None}
    if not ids:
        return
    found = set(get_user_model().objects.filter(pk__in=ids).values_list("pk", flat=True))
    for row in rows:
        if row.user_id is not None and row.user_id not in found:
            row.user_id = None


def _fetch_visitors(vids: list[str]) -> dict[str, Visitor]:
    # Row locks (PostgreSQL) order this write after a concurrent identity merge of the same
    # visitor, so its events take the user the merge gave the visitor.
    visitors = (
        Visitor.objects.select_for_update()
        .filter(vid__in=vids)
        .only("id", "vid", "user_id", "first_seen", "last_seen")
        .order_by("pk")
    )
    return {visitor.vid: visitor for visitor in visitors}


def _upsert_visitors(rows: list[_Row]) -> dict[str, Visitor]:
    by_vid: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.vid is not None:
            by_vid[row.vid].append(row)
    if not by_vid:
        return {}
    vids = sorted(by_vid)
    visitors = _fetch_visitors(vids)
    missing = [vid for vid in vids if vid not in visitors]
    if missing:
        Visitor.objects.bulk_create(
            [
                Visitor(
                    vid=vid,
                    # A browser first seen while its user is logged in belongs to that user.
                    user_id=next((r.user_id for r in by_vid[vid] if r.user_id is not None), None),
                    first_seen=min(r.occurred_at for r in by_vid[vid]),
                    last_seen=max(r.occurred_at for r in by_vid[vid]),
                )
                for vid in missing
            ],
            ignore_conflicts=True,
        )
        visitors.update(_fetch_visitors(missing))
    changed = []
    for vid, visitor in visitors.items():
        first = min(r.occurred_at for r in by_vid[vid])
        last = max(r.occurred_at for r in by_vid[vid])
        if first < visitor.first_seen or last > visitor.last_seen:
            visitor.first_seen = min(first, visitor.first_seen)
            visitor.last_seen = max(last, visitor.last_seen)
            changed.append(visitor)
    if changed:
        _update_rows(Visitor, changed, ["first_seen", "last_seen"])
    return visitors


def _upsert_sessions(rows: list[_Row], visitors: dict[str, Visitor]) -> set[str]:
    """Create or advance the batch's sessions; return the ids that exist afterwards."""
    by_session: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.session_id is not None:
            by_session[row.session_id].append(row)
    if not by_session:
        return set()
    ids = sorted(by_session)
    # Canonical UUID texts sort as the UUIDs do: the row locks are taken in the same order.
    existing = {
        str(session.id): session
        for session in Session.objects.select_for_update()
        .filter(id__in=ids)
        .only("id", "user_id", "started_at", "ended_at", "event_count")
        .order_by("id")
    }
    created, changed = [], []
    for session_id in ids:
        group = by_session[session_id]
        first = min(group, key=lambda r: r.occurred_at)
        end = max(r.occurred_at for r in group)
        user_id = next((r.user_id for r in group if r.user_id is not None), None)
        session = existing.get(session_id)
        if session is None:
            created.append(
                Session(
                    id=session_id,
                    visitor_id=visitors[first.vid].pk,
                    user_id=user_id,
                    started_at=first.occurred_at,
                    ended_at=end,
                    landing_path=first.path,
                    referrer=first.referrer,
                    utm_source=first.utm["source"],
                    utm_medium=first.utm["medium"],
                    utm_campaign=first.utm["campaign"],
                    device_type=first.device.device_type,
                    browser=first.device.browser,
                    os=first.device.os,
                    event_count=len(group),
                )
            )
        else:
            session.started_at = min(session.started_at, first.occurred_at)
            session.ended_at = max(session.ended_at, end)
            session.event_count += len(group)
            if session.user_id is None:
                session.user_id = user_id
            changed.append(session)
    if created:
        Session.objects.bulk_create(created, ignore_conflicts=True)
    if changed:
        _update_rows(Session, changed, ["started_at", "ended_at", "event_count", "user"])
    return set(ids)


def _update_rows(model: type[Model], objects: list[Model], fields: list[str]) -> None:
    """Save ``fields`` of ``objects``: one UPDATE statement run with many parameter sets.

    ``bulk_update`` builds a CASE expression per field with a branch per object, whose Python
    cost grows with objects x fields and dominated the writer's time on batches of many visitors.
    """
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    statement = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    )
    params = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns]
        + [meta.pk.get_db_prep_save(obj.pk, connection)]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, params)


# The Event fields _event_values() fills, in its order (properties as JSON text, as COPY reads it).
EVENT_FIELDS = (
    "event_id",
    "name",
    "visitor",
    "user",
    "session",
    "product_id",
    "properties",
    "sensitive",
    "path",
    "referrer_host",
    "device_type",
    "browser",
    "os",
    "source",
    "occurred_at",
    "client_ts",
    "received_at",
)


# Sensitive properties are stored encrypted ("" when there are none), as the field stores them.
_SENSITIVE = Event._meta.get_field("sensitive")


def _event_values(
    row: _Row, visitor_pks: dict[str, Any], sessions: set[str], *, text: bool = False
) -> tuple[Any, ...]:
    """The row's values in EVENT_FIELDS order. ``text``: moments as ISO 8601 text, for ``COPY``,
    where psycopg's own formatting of datetimes costs more than the rest of the row."""
    return (
        row.event_id,
        row.name,
        visitor_pks[row.vid] if row.vid is not None else None,
        row.user_id,
        row.session_id if row.session_id in sessions else None,
        row.product_id,
        row.properties_json,
        _SENSITIVE.get_prep_value(row.sensitive) if row.sensitive else "",
        row.path,
        row.referrer_host,
        row.device.device_type,
        row.device.browser,
        row.device.os,
        row.source,
        row.occurred_text if text else row.occurred_at,
        row.client_text if text else row.client_ts,
        row.received_text if text else row.received_at,
    )


def _copy_available() -> bool:
    """Whether the database is PostgreSQL through psycopg 3, whose cursors can ``COPY``."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _copy_events(values: list[tuple[Any, ...]]) -> None:
    """``COPY`` the rows into the event table (PostgreSQL, psycopg 3)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Event._meta.get_field(name).column) for name in EVENT_FIELDS)
    statement = f"COPY {quote(Event._meta.db_table)} ({columns}) FROM STDIN"
    # The wrapper turns psycopg's errors into Django's (IntegrityError for a repeated event_id).
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as copy,
    ):
        for value in values:
            copy.write_row(value)
