"""Turn web-server access logs (nginx, Apache) into ``page_view`` and ``product_view`` events.

The first part is pure: :func:`parse_line` reads one line of the *combined* or *common* log format
into a :class:`LogRecord` (or ``None`` when the line is malformed), :func:`skip_reason` says why a
record is not a page view, :func:`pseudonymous_vid` and :class:`Sessionizer` give log hits the
visitor and session they lack, and :class:`OccurrenceCounter` makes event ids that survive a
second import of the same file. :func:`import_lines` glues them to the store adapter and the bulk
event writer; ``manage.py import_access_log`` is its command-line face.

Privacy: the client IP is only an input of a keyed HMAC (the key is derived from ``SECRET_KEY``);
it is never stored. The user agent goes into the event like the middleware's, and the writer
reduces it to device type, browser and OS.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from django.utils.crypto import salted_hmac

LOG_FORMATS: tuple[str, ...] = ("combined", "common")

# Skip reasons, in the order they are tested, with the label the command prints.
MALFORMED = "malformed"
METHOD = "method"
STATUS = "status"
EXCLUDED_PATH = "excluded_path"
ASSET = "asset"
BOT = "bot"
SKIP_REASONS: dict[str, str] = {
    MALFORMED: "malformed line",
    METHOD: "method other than GET or HEAD",
    STATUS: "status other than 2xx (redirects, errors)",
    EXCLUDED_PATH: "static, media, admin or excluded path",
    ASSET: "non-HTML asset (by extension)",
    BOT: "bot or crawler",
}

PAGE_METHODS = frozenset({"GET", "HEAD"})

# Extensions of files that are not pages; a product page at /p/shoe.html is still a page.
ASSET_EXTENSIONS = frozenset(
    {
        "css", "js", "mjs", "map", "json", "xml", "txt", "webmanifest",
        "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico", "bmp", "tif", "tiff",
        "woff", "woff2", "ttf", "otf", "eot",
        "mp4", "webm", "ogg", "mp3", "wav", "m4a", "mov",
        "pdf", "zip", "gz", "tgz", "rar", "7z", "csv", "wasm",
    }
)  # fmt: skip


def _quoted(name: str) -> str:
    # A quoted field as nginx and Apache write it, escapes included (\" \\ \xHH, \n in Apache).
    # Written as "unrolled loop" (runs of plain characters between escapes): several times faster
    # in Python's regex engine than an alternation tried at every character.
    return '"(?P<' + name + r'>[^"\\]*(?:\\.[^"\\]*)*)"'


_PREFIX = (
    r"(?P<ip>\S+) \S+ \S+ "
    r"\[(?P<time>\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "
    rf"{_quoted('request')} (?P<status>\d{{3}}) (?P<size>\d+|-)"
)
# Servers often append fields ($request_time, "$http_x_forwarded_for", ...) to either format.
LINE_PATTERNS: dict[str, re.Pattern[str]] = {
    "common": re.compile(rf"{_PREFIX}(?:\s.*)?$"),
    "combined": re.compile(rf"{_PREFIX} {_quoted('referrer')} {_quoted('ua')}(?:\s.*)?$"),
}
_REQUEST = re.compile(r"([A-Za-z]+) (\S+)(?: HTTP/\d(?:\.\d)?)?$")
_ESCAPE = re.compile(r"((?:\\x[0-9A-Fa-f]{2})+)|\\(.)")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "v": "\v"}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}

# Lines of a log are nearly in time order (Apache logs a request when it started, but writes the
# line when it ended). State older than this window behind the current line is forgotten, which
# keeps memory bounded on logs of any length.
REORDER_WINDOW = dt.timedelta(hours=1)

LOG_NAMESPACE = uuid.UUID("6c1d5a52-30c4-4d1e-9a56-8f0f7a0c4e21")
VID_PREFIX = "log-"
VID_SALT = "personalization.tracking.access_log.vid"


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One parsed access-log line. ``path`` is percent-decoded like Django's ``request.path``."""

    ip: str
    time: dt.datetime  # UTC
    method: str
    target: str  # the request target as logged
    path: str
    query: str
    status: int
    referrer: str  # "" when the log has none or "-"
    user_agent: str  # "" when the log has none or "-"


def _unescape_run(match: re.Match[str]) -> str:
    hex_run = match.group(1)
    if hex_run is not None:
        # nginx writes each byte of a non-ASCII character as \xHH: decode the run as UTF-8.
        return bytes.fromhex(hex_run.replace("\\x", "")).decode("utf-8", "replace")
    char = match.group(2)
    return _SIMPLE_ESCAPES.get(char, char)


def unescape(value: str) -> str:
    """Undo the escaping nginx and Apache apply inside quoted log fields."""
    if "\\" not in value:
        return value
    return _ESCAPE.sub(_unescape_run, value)


@functools.lru_cache(maxsize=4096)
def parse_log_time(stamp: str) -> dt.datetime | None:
    """``10/Oct/2000:13:55:36 -0700`` as an aware UTC datetime; ``None`` when it is no date.

    Cached: consecutive lines share their second, and strptime would be the slowest step.
    """
    month = _MONTHS.get(stamp[3:6].title())
    if month is None:
        return None
    sign = -1 if stamp[21] == "-" else 1
    offset = dt.timedelta(minutes=sign * (int(stamp[22:24]) * 60 + int(stamp[24:26])))
    try:
        local = dt.datetime(
            int(stamp[7:11]),
            month,
            int(stamp[0:2]),
            int(stamp[12:14]),
            int(stamp[15:17]),
            int(stamp[18:20]),
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        return None
    return local.astimezone(dt.UTC)


def _field(value: str) -> str:
    value = unescape(value)
    return "" if value == "-" else value


def split_target(target: str) -> tuple[str, str]:
    """``(percent-decoded path, query)`` of a request target (origin or absolute form)."""
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        raw_path, query = parts.path or "/", parts.query
    else:
        raw_path, _, query = target.partition("?")
        raw_path = raw_path.partition("#")[0]
    if "%" in raw_path:
        raw_path = unquote(raw_path, errors="replace")
    return raw_path, query


def parse_line(line: str, log_format: str = "combined") -> LogRecord | None:
    """Parse one line of an access log; ``None`` when it does not match the format."""
    match = LINE_PATTERNS[log_format].match(line)
    if match is None:
        return None
    ip, stamp, request_line, status = match.group("ip", "time", "request", "status")
    request = _REQUEST.match(unescape(request_line))
    when = parse_log_time(stamp)
    if request is None or when is None:
        return None
    method, target = request.groups()
    path, query = split_target(target)
    referrer = user_agent = ""
    if log_format == "combined":
        referrer, user_agent = _field(match["referrer"]), _field(match["ua"])
    return LogRecord(
        ip=ip,
        time=when,
        method=method.upper(),
        target=target,
        path=path,
        query=query,
        status=int(status),
        referrer=referrer,
        user_agent=user_agent,
    )


def is_asset(path: str) -> bool:
    """Whether the last segment of the path has the extension of a non-HTML file."""
    last = path.rpartition("/")[2]
    if "." not in last:
        return False
    return last.rpartition(".")[2].lower() in ASSET_EXTENSIONS


def skip_reason(
    record: LogRecord,
    *,
    excluded_prefixes: tuple[str, ...],
    is_bot: Callable[[str], bool],
) -> str | None:
    """Why this hit is not a page view (a key of :data:`SKIP_REASONS`), or ``None`` to keep it."""
    if record.method not in PAGE_METHODS:
        return METHOD
    if not 200 <= record.status < 300:
        return STATUS
    if not record.path.startswith("/"):
        return MALFORMED
    if record.path.startswith(excluded_prefixes):
        return EXCLUDED_PATH
    if is_asset(record.path):
        return ASSET
    if is_bot(record.user_agent):
        return BOT
    return None


def pseudonymous_vid(ip: str, user_agent: str, secret: str | bytes) -> str:
    """A stable visitor id for an IP and user agent that cannot be turned back into the IP.

    A keyed HMAC rather than a plain hash: without the key, the small space of IPv4 addresses
    could be searched exhaustively. The prefix tells log visitors apart in the admin.
    """
    digest = salted_hmac(VID_SALT, f"{ip}\n{user_agent}", secret=secret, algorithm="sha256")
    return VID_PREFIX + digest.hexdigest()[:28]


class Sessionizer:
    """Group each visitor's hits into sessions split by gaps longer than the idle timeout.

    Session ids are UUIDs derived from the visitor and the session's first hit, so importing the
    same log again yields the same sessions.
    """

    def __init__(self, idle_timeout: dt.timedelta) -> None:
        self.idle_timeout = idle_timeout
        self._open: dict[str, tuple[dt.datetime, dt.datetime, str]] = {}

    def session_id(self, vid: str, at: dt.datetime) -> str:
        """The session of the visitor's hit at ``at`` (hits arrive in log order)."""
        state = self._open.get(vid)
        if state is None or at - state[1] > self.idle_timeout:
            session = str(uuid.uuid5(LOG_NAMESPACE, f"session|{vid}|{at.isoformat()}"))
            self._open[vid] = (at, at, session)
            return session
        started, last, session = state
        if at > last:
            self._open[vid] = (started, at, session)
        return session

    def forget_before(self, now: dt.datetime) -> None:
        """Drop visitors idle for longer than the timeout plus :data:`REORDER_WINDOW`."""
        cutoff = now - self.idle_timeout - REORDER_WINDOW
        self._open = {vid: state for vid, state in self._open.items() if state[1] >= cutoff}

    def __len__(self) -> int:
        return len(self._open)


class OccurrenceCounter:
    """Count repeats of identical lines, so that event ids are stable across imports.

    Two identical lines are two hits (same client, same second), so a line's id is its content
    hash plus how many identical lines came before it. Identical lines carry the same timestamp,
    so counts are kept per second and forgotten once the log has moved past the reorder window.
    """

    def __init__(self) -> None:
        self._seconds: dict[dt.datetime, Counter[bytes]] = {}

    def occurrence(self, digest: bytes, at: dt.datetime) -> int:
        """The 0-based index of this occurrence of the line with ``digest`` logged at ``at``."""
        counts = self._seconds.get(at)
        if counts is None:
            counts = self._seconds[at] = Counter()
        index = counts[digest]
        counts[digest] = index + 1
        return index

    def forget_before(self, now: dt.datetime) -> None:
        cutoff = now - REORDER_WINDOW
        self._seconds = {at: c for at, c in self._seconds.items() if at >= cutoff}

    def __len__(self) -> int:
        return sum(len(counts) for counts in self._seconds.values())


def line_digest(raw_line: bytes) -> bytes:
    """Hash of a line without its line ending (the same line in a CRLF file is the same hit)."""
    return hashlib.blake2b(raw_line.rstrip(b"\r\n"), digest_size=16).digest()


def event_id(digest: bytes, occurrence: int) -> str:
    """The id of the event of the ``occurrence``-th copy of a line.

    Not derived from the event name: a line imported again after its path became a product page
    is still the same hit, so it must not be stored a second time as a ``product_view``.
    """
    return str(uuid.uuid5(LOG_NAMESPACE, f"{digest.hex()}|{occurrence}"))


def path_prefixes(excluded: Iterable[str], *urls: str | None) -> tuple[str, ...]:
    """Excluded path prefixes plus the path part of STATIC_URL / MEDIA_URL (never ``/`` alone)."""
    prefixes = [p for p in excluded if p]
    for url in urls:
        if not url:
            continue
        url_path = urlsplit(url).path
        if not url_path.startswith("/"):
            url_path = "/" + url_path
        if url_path != "/":
            prefixes.append(url_path)
    return tuple(prefixes)


def _never(user_agent: str) -> bool:
    return False


# --- the import: Django from here on ------------------------------------------------------------


@dataclass
class ImportStats:
    """What an import did; ``skipped`` counts lines by the keys of :data:`SKIP_REASONS`."""

    lines: int = 0
    hits: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0  # events the writer refused (none unless the event contract changes)
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def import_lines(
    lines: Iterable[bytes],
    log_format: str = "combined",
    *,
    chunk_size: int = 2000,
) -> ImportStats:
    """Import raw access-log lines (bytes, in log order) and return the counts.

    Each kept hit becomes one event, as the middleware records a request: a ``product_view`` when
    the store adapter maps its path to a product, else a ``page_view``. Events go to the bulk
    writer in chunks of ``chunk_size``.
    """
    from django.conf import settings

    from ..adapters import get_adapter
    from ..conf import app_settings
    from . import useragent, writer
    from .events import make_event
    from .names import PAGE_VIEW, PRODUCT_VIEW

    if log_format not in LINE_PATTERNS:
        raise ValueError(f"unknown log format {log_format!r}; expected one of {LOG_FORMATS}")
    started = time.perf_counter()
    stats = ImportStats()
    adapter = get_adapter()
    product_for_path = functools.lru_cache(maxsize=65536)(adapter.product_id_for_path)
    # The common format logs no user agent: unknown there, not a sign of a robot.
    is_bot = (
        functools.lru_cache(maxsize=16384)(useragent.is_bot) if log_format == "combined" else _never
    )
    vid_for = functools.lru_cache(maxsize=65536)(
        lambda ip, ua: pseudonymous_vid(ip, ua, settings.SECRET_KEY)
    )
    prefixes = path_prefixes(
        app_settings.EXCLUDED_PATH_PREFIXES, settings.STATIC_URL, settings.MEDIA_URL
    )
    sessions = Sessionizer(dt.timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT))
    occurrences = OccurrenceCounter()
    pending: list[dict[str, Any]] = []

    def flush(now: dt.datetime) -> None:
        stats.events += len(pending)
        result = writer.write_events(pending)
        stats.stored += result.stored
        stats.duplicates += result.duplicates
        stats.invalid += result.invalid
        pending.clear()
        sessions.forget_before(now)
        occurrences.forget_before(now)

    for raw in lines:
        stats.lines += 1
        record = parse_line(raw.decode("utf-8", "replace").rstrip("\r\n"), log_format)
        if record is None:
            stats.skipped[MALFORMED] += 1
            continue
        reason = skip_reason(record, excluded_prefixes=prefixes, is_bot=is_bot)
        if reason is not None:
            stats.skipped[reason] += 1
            continue
        stats.hits += 1
        now = record.time
        vid = vid_for(record.ip, record.user_agent)
        digest = line_digest(raw)
        occurrence = occurrences.occurrence(digest, record.time)
        context = {
            "source": "log",
            "vid": vid,
            "session_id": sessions.session_id(vid, record.time),
            "path": record.path,
            "referrer": record.referrer,
            "query": record.query,
            "ua": record.user_agent,
            "client_ts": record.time,
            "received_at": record.time,
        }
        product_id = str(product_for_path(record.path) or "")
        name = PRODUCT_VIEW if product_id else PAGE_VIEW
        pending.append(
            make_event(
                name,
                event_id=event_id(digest, occurrence),
                product_id=product_id,
                **context,
            )
        )
        if len(pending) >= chunk_size:
            flush(now)
    if pending:
        flush(now)
    stats.seconds = time.perf_counter() - started
    return stats


def format_skipped(skipped: Counter[str]) -> Sequence[tuple[str, int]]:
    """``(label, count)`` for each skip reason that occurred, in the order they are tested."""
    return [(SKIP_REASONS[key], skipped[key]) for key in SKIP_REASONS if skipped[key]]
