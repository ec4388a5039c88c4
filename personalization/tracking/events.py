"""The event record that every collection path produces, and its validation.

All producers (the middleware, ``track()``, the ingest API, the access-log import) turn what they
receive into a *clean event*: a JSON-serialisable dict with the keys of :data:`CLEAN_EVENT_KEYS`.
Clean events wait in the buffer and are written in bulk by the flush task, which also parses the
user agent (``ua``) into device fields and drops it, so raw user agents are never stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .names import PRODUCT_EVENTS, canonical_name

CLEAN_EVENT_KEYS: tuple[str, ...] = (
    "event_id",  # str (UUID)
    "name",  # canonical event name
    "vid",  # visitor id from the first-party cookie, or None
    "user_id",  # int primary key of the user, or None
    "session_id",  # str (UUID) or None
    "product_id",  # str, "" when not about a product
    "properties",  # dict
    "path",  # URL path of the page
    "referrer",  # referring URL without query string
    "referrer_host",
    "utm",  # {"source": ..., "medium": ..., "campaign": ...} from the page URL
    "ua",  # raw user agent; parsed and dropped by the flush task
    "occurred_at",  # ISO 8601: client time when plausible, else received_at
    "client_ts",  # ISO 8601 or None
    "received_at",  # ISO 8601
    "source",  # "server" | "js" | "api" | "log" | "seed"
)

# A client clock is trusted within this window around the server's; else the server time is used.
MAX_CLIENT_LAG = dt.timedelta(hours=24)
MAX_CLIENT_LEAD = dt.timedelta(minutes=5)
MAX_PROPERTY_KEY = 64
MAX_PATH = 2048
MAX_TEXT = 512
NO_UTM = {"source": "", "medium": "", "campaign": ""}

# One encoder for the size checks that orjson refuses (integers beyond 64 bits): json.dumps with
# arguments builds a new encoder per call, which costs as much as the encoding of a small event.
_encode_compact = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False).encode


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON."""
    try:
        return len(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
    except orjson.JSONEncodeError:
        return len(_encode_compact(value).encode())


# The form of UUIDs that str(uuid.UUID(...)) gives; others are parsed and rewritten in it.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EventValidationError(ValueError):
    """Raised with a human-readable reason when a submitted event cannot be accepted."""


def _text(value: Any, field: str, limit: int = MAX_TEXT) -> str:
    if type(value) is str:  # the common case first
        return value[:limit]
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise EventValidationError(f"{field} must be a string")
    return str(value)[:limit]


def _parse_timestamp(value: Any) -> dt.datetime:
    """ISO 8601 string, or a number of milliseconds since the epoch (as ``Date.now()`` gives)."""
    if isinstance(value, bool):
        raise EventValidationError("timestamp must be ISO 8601 or epoch milliseconds")
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise EventValidationError("timestamp is out of range") from exc
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise EventValidationError("timestamp must be ISO 8601 or epoch milliseconds")
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed
    raise EventValidationError("timestamp must be ISO 8601 or epoch milliseconds")


def _product_id(raw: Mapping[str, Any], properties: Mapping[str, Any]) -> str:
    """The product id from the top level, Segment's ``properties.product_id`` or GA4's ``items``."""
    for candidate in (raw.get("product_id"), properties.get("product_id")):
        if candidate not in (None, ""):
            return _text(candidate, "product_id", 64)
    items = properties.get("items")
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        item_id = items[0].get("item_id")
        if item_id not in (None, ""):
            return _text(item_id, "items[0].item_id", 64)
    return ""


# Referrers and page URLs repeat heavily in real traffic, so their splits are cached (a bounded
# cache: at most URL_CACHE_SIZE entries of at most a few kilobytes each).
URL_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def split_referrer(referrer: str) -> tuple[str, str]:
    """``(url without query or fragment, host)`` of a referring URL."""
    if not referrer:
        return "", ""
    parts = urlsplit(referrer)
    if not parts.scheme or not parts.netloc:
        return "", ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:MAX_TEXT], parts.hostname or ""


def utm_from_query(query: str) -> dict[str, str]:
    """UTM campaign fields from a URL query string."""
    if "utm_" not in query:
        return dict(NO_UTM)
    return dict(_utm_from_query(query))


# Cached like the URL splits (the same campaign links come back); callers get a copy.
@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def _utm_from_query(query: str) -> tuple[tuple[str, str], ...]:
    params = parse_qs(query)
    return tuple(
        (key, params.get(f"utm_{key}", [""])[0][:128]) for key in ("source", "medium", "campaign")
    )


def plausible_time(client_ts: dt.datetime | None, received_at: dt.datetime) -> dt.datetime:
    """The client time when it lies in the trusted window around the server time."""
    if client_ts is None:
        return received_at
    if received_at - MAX_CLIENT_LAG <= client_ts <= received_at + MAX_CLIENT_LEAD:
        return client_ts
    return received_at


@functools.lru_cache(maxsize=URL_CACHE_SIZE)
def _path_and_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path, parts.query


def make_event(
    name: str,
    *,
    source: str,
    received_at: dt.datetime | None = None,
    event_id: str | None = None,
    vid: str | None = None,
    user_id: int | None = None,
    session_id: str | None = None,
    product_id: str = "",
    properties: Mapping[str, Any] | None = None,
    path: str = "",
    referrer: str = "",
    query: str = "",
    ua: str = "",
    client_ts: dt.datetime | None = None,
) -> dict[str, Any]:
    """Build a clean event from trusted server-side values (the name may be an alias)."""
    canonical = canonical_name(name)
    if canonical is None:
        raise EventValidationError(f"unknown event name {name!r}")
    if canonical in PRODUCT_EVENTS and not product_id:
        raise EventValidationError(f"{canonical} needs a product_id")
    received_at = received_at or timezone.now()
    referrer_url, referrer_host = split_referrer(referrer)
    occurred = plausible_time(client_ts, received_at)
    # Each moment is formatted once (occurred_at is one of the two).
    received_iso = received_at.isoformat()
    client_iso = client_ts.isoformat() if client_ts else None
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "name": canonical,
        "vid": vid,
        "user_id": user_id,
        "session_id": session_id,
        "product_id": str(product_id)[:64],
        "properties": dict(properties or {}),
        "path": path[:MAX_PATH],
        "referrer": referrer_url,
        "referrer_host": referrer_host,
        "utm": utm_from_query(query),
        "ua": ua[:MAX_TEXT],
        "occurred_at": client_iso if occurred is client_ts else received_iso,
        "client_ts": client_iso,
        "received_at": received_iso,
        "source": source,
    }


@dataclass(frozen=True)
class Submission:
    """What every event of one submission shares: identity (``vid``, ``user_id``,
    ``session_id``) and ``ua`` come from the request, never from the payload."""

    source: str
    received_at: dt.datetime
    max_bytes: int
    vid: str | None = None
    user_id: int | None = None
    session_id: str | None = None
    ua: str = ""


@dataclass(frozen=True)
class Rejection:
    """An event of a batch that was not accepted: its position and why."""

    index: int
    reason: str


def clean_submitted_event(
    raw: Any,
    *,
    source: str,
    received_at: dt.datetime,
    max_bytes: int,
    vid: str | None = None,
    user_id: int | None = None,
    session_id: str | None = None,
    ua: str = "",
) -> dict[str, Any]:
    """Validate one event submitted by a browser or an API client and return it clean.

    Identity (``vid``, ``user_id``, ``session_id``) and ``ua`` come from the request, never from the
    payload. Raises :class:`EventValidationError` with the reason when the event is rejected.
    """
    submission = Submission(source, received_at, max_bytes, vid, user_id, session_id, ua)
    return _Cleaner(submission).clean(raw)


def clean_submitted_events(
    raws: Iterable[Any], submission: Submission
) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Validate the events of one batch: ``(clean events, rejections)``, in the batch's order.

    Each event is judged on its own, as :func:`clean_submitted_event` does; what the events
    share (the request's identity, the reception time and its ISO form) is prepared once.
    """
    cleaner = _Cleaner(submission)
    clean: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raws):
        try:
            clean.append(cleaner.clean(raw))
        except EventValidationError as exc:
            rejected.append(Rejection(index, str(exc)))
    return clean, rejected


class _Cleaner:
    def __init__(self, submission: Submission) -> None:
        self.submission = submission
        self.received_iso = submission.received_at.isoformat()
        self.earliest = submission.received_at - MAX_CLIENT_LAG
        self.latest = submission.received_at + MAX_CLIENT_LEAD
        self.ua = submission.ua[:MAX_TEXT]

    def clean(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise EventValidationError("an event must be a JSON object")
        submission = self.submission
        size = encoded_size(raw)
        if size > submission.max_bytes:
            raise EventValidationError(
                f"event is {size} bytes; the limit is {submission.max_bytes}"
            )
        name = raw.get("name", raw.get("event"))
        if not isinstance(name, str) or not name:
            raise EventValidationError("name is required")
        properties = raw.get("properties", {})
        if properties is None:
            properties = {}
        if not isinstance(properties, Mapping):
            raise EventValidationError("properties must be a JSON object")
        for key in properties:
            if not isinstance(key, str) or len(key) > MAX_PROPERTY_KEY:
                raise EventValidationError(
                    f"property names must be strings of at most {MAX_PROPERTY_KEY} characters"
                )
        event_id = raw.get("event_id")
        if event_id is None:
            event_id = str(uuid.uuid4())
        elif not isinstance(event_id, str) or not _CANONICAL_UUID.fullmatch(event_id):
            try:
                event_id = str(uuid.UUID(str(event_id)))
            except ValueError as exc:
                raise EventValidationError("event_id must be a UUID") from exc
        client_iso = None
        occurred_iso = self.received_iso
        if raw.get("timestamp") is not None:
            client_ts = _parse_timestamp(raw["timestamp"])
            client_iso = client_ts.isoformat()
            if self.earliest <= client_ts <= self.latest:
                occurred_iso = client_iso
        url = _text(raw.get("url"), "url", MAX_PATH)
        path = _text(raw.get("path"), "path", MAX_PATH)
        query = ""
        if url:
            url_path, query = _path_and_query(url)
            path = path or url_path
        product_id = _product_id(raw, properties)
        referrer_url, referrer_host = split_referrer(_text(raw.get("referrer"), "referrer"))
        canonical = canonical_name(name)
        if canonical is None:
            raise EventValidationError(f"unknown event name {name!r}")
        if canonical in PRODUCT_EVENTS and not product_id:
            raise EventValidationError(f"{canonical} needs a product_id")
        return {
            "event_id": event_id,
            "name": canonical,
            "vid": submission.vid,
            "user_id": submission.user_id,
            "session_id": submission.session_id,
            "product_id": product_id,
            "properties": dict(properties),
            "path": path[:MAX_PATH],
            "referrer": referrer_url,
            "referrer_host": referrer_host,
            "utm": utm_from_query(query),
            "ua": self.ua,
            "occurred_at": occurred_iso,
            "client_ts": client_iso,
            "received_at": self.received_iso,
            "source": submission.source,
        }
