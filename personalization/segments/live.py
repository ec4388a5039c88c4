"""Rule segments against live data: dynamic ones on every stored batch of events, static ones on
the pipeline's schedule.

A rule (``segmentation/rules.py``) is evaluated against an
:class:`~personalization.segmentation.rules.EvaluationContext` built from the person's
:class:`~personalization.models.Profile`, their recent events (at most
``SEGMENT_EVENT_LOOKBACK_DAYS`` old and ``SEGMENT_MAX_EVENTS`` of them), their latest session and
the catalogue's product attributes (price, ``price_percentile``, category, brand, ``on_sale``).

Dynamic segments follow the event stream: the writer sends ``events_stored`` after each committed
batch and :func:`evaluate_people` loads the batch's people with a handful of queries (events,
profiles, sessions, open memberships: one query each for the whole batch), evaluates each person
once against every active dynamic segment and enters or leaves memberships where the answer
changed. Static rule segments are recomputed as a whole by :func:`refresh_static_rule_segments`,
which reads every event of the window in one streamed query.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.signals import setting_changed
from django.db import connection, transaction
from django.db.models import F, FloatField, Func, Q
from django.utils import timezone

from ..adapters import ProductData, get_adapter
from ..conf import app_settings
from ..models.segments import Profile, Segment, SegmentMembership
from ..models.tracking import Event, Session
from ..segmentation import rules
from .membership import Person, change_members, sync_members
from .profiles import profile_attributes

logger = logging.getLogger(__name__)

__all__ = [
    "CompiledSegment",
    "context_for",
    "evaluate_people",
    "evaluate_person",
    "product_attributes",
    "recheck_dynamic_members",
    "refresh_static_rule_segments",
    "rule_segments",
]

# Event columns a rule context reads, in the order of the tuples below ("at": occurred_at).
_EVENT_COLUMNS = (
    "user_id",
    "visitor_id",
    "name",
    "at",
    "product_id",
    "session_id",
    "properties",
)


class _Epoch(Func):
    """``occurred_at`` as epoch seconds, computed by the database: parsing tens of thousands of
    timestamps into datetimes cost more than evaluating the rules."""

    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores UTC datetimes as text, which julianday() reads.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def _event_rows(query: Q, properties: bool) -> Any:
    """Event rows of ``_EVENT_COLUMNS`` (without the properties unless asked: decoding them is a
    good part of the cost); the time as epoch seconds where the database can say it, else as the
    datetime (the rule context takes either)."""
    at = (
        _Epoch("occurred_at") if connection.vendor in ("postgresql", "sqlite") else F("occurred_at")
    )
    columns = _EVENT_COLUMNS if properties else _EVENT_COLUMNS[:-1]
    return Event.objects.filter(query).order_by().annotate(at=at).values_list(*columns)


_SESSION_COLUMNS = (
    "id",
    "landing_path",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device_type",
    "browser",
    "os",
    "event_count",
    "started_at",
)
# People per round of profile and session queries in the static refresh.
_CHUNK = 2000
# Ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
_IN_BATCH = 5000


@dataclass(frozen=True)
class CompiledSegment:
    """An active rule segment with its compiled predicate and how far back its rule looks."""

    pk: int
    slug: str
    mode: str
    predicate: rules.Predicate
    lookback: float  # seconds
    reads_properties: bool
    event_names: frozenset[str]
    segment: Segment = field(compare=False, repr=False)


@dataclass
class _PersonData:
    events: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[str, Any] | None = None
    session: dict[str, Any] = field(default_factory=dict)
    sessions: int = 0


# Predicates by (segment pk, its updated_at): an edited rule gets a new entry, and a process
# compiles each version once.
_compiled: dict[tuple[int, dt.datetime], tuple[rules.Predicate, float, bool, frozenset[str]]] = {}
_compiled_lock = threading.Lock()


def _max_lookback() -> float:
    return float(app_settings.SEGMENT_EVENT_LOOKBACK_DAYS) * 86400


def _rule_lookback(rule: Any) -> float:
    """Seconds of events the rule can look at: its longest ``within``, or the whole lookback
    when an events node has none (0 for a rule about the profile and session only)."""
    if not isinstance(rule, Mapping):
        return 0.0
    if "events" in rule:
        within = rule["events"].get("within")
        return float(rules.parse_window(within)) if within is not None else _max_lookback()
    children = rule.get("all") or rule.get("any") or []
    if "not" in rule:
        children = [rule["not"]]
    return max((_rule_lookback(child) for child in children), default=0.0)


def _reads_properties(rule: Any) -> bool:
    """Whether the rule looks at event properties (a ``properties`` filter, or a ``sum``)."""
    if not isinstance(rule, Mapping):
        return False
    if "events" in rule:
        return "sum" in rule or "properties" in rule["events"]
    children = [rule["not"]] if "not" in rule else rule.get("all") or rule.get("any") or []
    return any(_reads_properties(child) for child in children)


def _event_names(rule: Any) -> frozenset[str]:
    """The event names the rule counts or sums."""
    if not isinstance(rule, Mapping):
        return frozenset()
    if "events" in rule:
        names = rule["events"]["name"]
        return frozenset([names] if isinstance(names, str) else names)
    children = [rule["not"]] if "not" in rule else rule.get("all") or rule.get("any") or []
    return frozenset().union(*(_event_names(child) for child in children))


def rule_segments(mode: str) -> list[CompiledSegment]:
    """The active rule segments of ``mode`` (static or dynamic), compiled.

    A stored rule that does not validate (written around the admin's checks) is logged and left
    out, so one broken segment does not stop the others.
    """
    compiled = []
    for segment in Segment.objects.filter(kind=Segment.RULE, mode=mode, is_active=True).order_by(
        "pk"
    ):
        key = (segment.pk, segment.updated_at)
        entry = _compiled.get(key)
        if entry is None:
            try:
                predicate = rules.compile(segment.rule)
            except rules.RuleError as error:
                logger.warning("Segment %r has an invalid rule, skipped: %s", segment.slug, error)
                continue
            entry = (
                predicate,
                min(_rule_lookback(segment.rule), _max_lookback()),
                _reads_properties(segment.rule),
                _event_names(segment.rule),
            )
            with _compiled_lock:
                for stale in [k for k in _compiled if k[0] == segment.pk]:
                    del _compiled[stale]
                _compiled[key] = entry
        compiled.append(CompiledSegment(segment.pk, segment.slug, mode, *entry, segment))
    return compiled


# Product attributes ---------------------------------------------------------------------------


def _percentile(ordered: list[float], price: float) -> float:
    """The price's mid-rank percentile (0–100) among ``ordered`` prices: equal prices share one
    value, and a price not in the list falls between its neighbours."""
    if not ordered:
        return 50.0
    below = bisect.bisect_left(ordered, price)
    equal = bisect.bisect_right(ordered, price) - below
    return 100.0 * (below + equal / 2) / max(len(ordered), 1)


def _attributes(product: ProductData, ordered_prices: list[float]) -> dict[str, Any]:
    price = float(product.price)
    return {
        "price": price,
        "price_percentile": _percentile(ordered_prices, price),
        "category": product.category,
        "brand": product.brand,
        "tags": list(product.tags),
        "in_stock": product.in_stock,
        "on_sale": product.on_sale
        or (product.compare_at_price is not None and product.compare_at_price > product.price),
    }


class Catalogue:
    """Product id → the attributes rules see: ``price``, ``price_percentile`` (0–100 within the
    catalogue), ``category``, ``brand``, ``tags``, ``in_stock`` and ``on_sale``.

    The whole catalogue is read through the store adapter once; a product missing from it (added
    since) is fetched alone on first use and placed among the known prices. Unknown ids map to
    ``{}``.
    """

    def __init__(self, products: Iterable[ProductData]) -> None:
        products = list(products)
        self.prices = sorted(float(product.price) for product in products)
        self.table: dict[str, Mapping[str, Any]] = {
            product.id: _attributes(product, self.prices) for product in products
        }
        self.loaded_at = time.monotonic()

    def __call__(self, product_id: Any) -> Mapping[str, Any]:
        key = str(product_id)
        try:
            return self.table[key]
        except KeyError:
            product = get_adapter().get_product(key)
            found = _attributes(product, self.prices) if product is not None else {}
            self.table[key] = found
            return found

    def __getitem__(self, product_id: Any) -> Mapping[str, Any]:
        return self(product_id)


_catalogue_lock = threading.Lock()
_catalogue: list[Catalogue] = []


def product_attributes() -> Catalogue:
    """The catalogue's product attributes, read at most once per
    ``SEGMENT_PRODUCT_CACHE_SECONDS`` per process.

    An empty catalogue is not kept: read while the store had no products (a new shop, a process
    started before its import), it would give every product added since the percentile of an
    empty price list, 50, until it expired.
    """
    if _catalogue_is_fresh():
        return _catalogue[0]
    with _catalogue_lock:
        if not _catalogue_is_fresh():
            _catalogue[:] = [Catalogue(get_adapter().iter_products())]
        return _catalogue[0]


def _catalogue_is_fresh() -> bool:
    ttl = app_settings.SEGMENT_PRODUCT_CACHE_SECONDS
    return bool(
        _catalogue and _catalogue[0].prices and time.monotonic() - _catalogue[0].loaded_at < ttl
    )


def _forget_products(*, setting: str, **_: Any) -> None:
    if setting == "PERSONALIZATION":
        _catalogue.clear()


setting_changed.connect(_forget_products)


# Loading people's data ------------------------------------------------------------------------


def _person(user_id: Any, visitor_id: Any) -> Person | None:
    if user_id is not None:
        return ("user", user_id)
    if visitor_id is not None:
        return ("visitor", visitor_id)
    return None


def _people_filter(people: Collection[Person]) -> Q:
    """Rows that name one of these users or visitors.

    A row with both a user and a visitor (an event of a logged-in browser) belongs to the user:
    callers map each row with :func:`_person` and drop those of people they did not ask for.
    Filtering ``user_id IS NULL`` in SQL instead led PostgreSQL to scan the (user, occurred_at)
    index for every anonymous event of the window.
    """
    users = [pk for kind, pk in people if kind == "user"]
    visitors = [pk for kind, pk in people if kind == "visitor"]
    query = Q(pk__in=[])
    if users:
        query |= Q(user_id__in=users)
    if visitors:
        query |= Q(visitor_id__in=visitors)
    return query


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _event_dict(row: tuple) -> dict[str, Any]:
    return {
        "name": row[2],
        "timestamp": row[3],
        "product_id": row[4] or None,
        "session_id": row[5],
        "properties": row[6] if len(row) > 6 and row[6] else {},
    }


def _session_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "landing_path": row["landing_path"],
        "referrer": row["referrer"],
        "utm_source": row["utm_source"],
        "utm_medium": row["utm_medium"],
        "utm_campaign": row["utm_campaign"],
        "device": row["device_type"],
        "browser": row["browser"],
        "os": row["os"],
        "events": row["event_count"],
        "started_at": row["started_at"],
    }


def _finish(
    data: dict[Person, _PersonData], people: Collection[Person], limit: int, now: dt.datetime
) -> dict[Person, _PersonData]:
    """Sort and cap each person's events, and add their profiles, their number of sessions in
    the lookback and the latest of them (one query each for all of ``people``)."""
    for item in data.values():
        item.events.sort(key=lambda event: event["timestamp"])
        if len(item.events) > limit:
            del item.events[: len(item.events) - limit]
    since = now - dt.timedelta(seconds=_max_lookback())
    for chunk in _chunks(list(people), _IN_BATCH):
        for profile in Profile.objects.filter(_people_filter(chunk)).select_related("cluster"):
            person = _person(profile.user_id, profile.visitor_id)
            data.setdefault(person, _PersonData()).profile = profile_attributes(profile)
        sessions = (
            Session.objects.filter(_people_filter(chunk), ended_at__gte=since)
            .order_by("started_at")
            .values("user_id", "visitor_id", *_SESSION_COLUMNS)
        )
        for row in sessions:
            item = data.get(_person(row["user_id"], row["visitor_id"]))
            if item is not None:
                item.sessions += 1
                item.session = _session_dict(row)
    return data


def _load(
    people: Collection[Person],
    now: dt.datetime,
    lookback: float,
    properties: bool = True,
    names: Collection[str] | None = None,
) -> dict[Person, _PersonData]:
    """Recent events (of ``names`` only when given, with their properties if asked), profile and
    sessions of each person, in one query each."""
    data: dict[Person, _PersonData] = {person: _PersonData() for person in people}
    if lookback > 0 and (names is None or names):
        since = now - dt.timedelta(seconds=lookback)
        for chunk in _chunks(list(people), _IN_BATCH):
            query = Q(_people_filter(chunk), occurred_at__gte=since)
            if names is not None:
                query &= Q(name__in=sorted(names))
            rows = _event_rows(query, properties)
            with _collector_paused():
                for row in rows:
                    person = _person(row[0], row[1])
                    if person in data:
                        data[person].events.append(_event_dict(row))
    return _finish(data, people, app_settings.SEGMENT_MAX_EVENTS, now)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the event rows become dicts.

    Tens of thousands of new dicts trigger collections that scan the whole heap, which doubled
    to quadrupled the cost of loading a batch in the benchmark; these dicts hold no cycles, and
    reference counting frees them as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _context(
    item: _PersonData,
    now: dt.datetime,
    products: Callable[[Any], Mapping | None],
) -> rules.EvaluationContext:
    profile = dict(item.profile or {})
    # The profile is as old as the last pipeline run: a visitor who has come back since counts
    # the sessions of the lookback.
    if item.sessions > (profile.get("sessions") or 0):
        profile["sessions"] = item.sessions
    return rules.EvaluationContext(
        profile=profile, events=item.events, products=products, session=item.session, now=now
    )


def context_for(
    person: Person,
    *,
    now: dt.datetime | None = None,
    lookback_days: float | None = None,
) -> rules.EvaluationContext:
    """The rule context of one person: their profile attributes, recent events (oldest first),
    latest session and the catalogue's product attributes.

    ``lookback_days`` defaults to ``SEGMENT_EVENT_LOOKBACK_DAYS``.
    """
    now = now or timezone.now()
    lookback = _max_lookback() if lookback_days is None else float(lookback_days) * 86400
    item = _load([person], now, lookback)[person]
    return _context(item, now, product_attributes())


# Dynamic segments -----------------------------------------------------------------------------


def evaluate_people(
    people: Iterable[Person], *, now: dt.datetime | None = None
) -> dict[Person, set[str]]:
    """Evaluate each person against every active dynamic rule segment; enter and leave
    memberships where the answer changed. Returns each person's dynamic segments (slugs)."""
    people = {person for person in people if person is not None}
    if not people:
        return {}
    segments = rule_segments(Segment.DYNAMIC)
    if not segments:
        return {person: set() for person in people}
    now = now or timezone.now()
    # Only the events the rules count: a shop's stream is mostly page views, scrolls and the
    # like, which most rules never look at.
    data = _load(
        people,
        now,
        max(segment.lookback for segment in segments),
        any(segment.reads_properties for segment in segments),
        frozenset().union(*(segment.event_names for segment in segments)),
    )
    by_pk = {segment.pk: segment for segment in segments}
    current: dict[Person, set[int]] = defaultdict(set)
    for chunk in _chunks(list(people), _IN_BATCH):
        rows = SegmentMembership.objects.filter(
            _people_filter(chunk), segment_id__in=list(by_pk), exited_at__isnull=True
        ).values_list("segment_id", "user_id", "visitor_id")
        for segment_id, user_id, visitor_id in rows:
            current[_person(user_id, visitor_id)].add(segment_id)
    products = product_attributes()
    entering: dict[int, set[Person]] = defaultdict(set)
    leaving: dict[int, set[Person]] = defaultdict(set)
    result = {}
    for person in people:
        context = _context(data[person], now, products)
        inside = set()
        for segment in segments:
            member = segment.pk in current[person]
            if segment.predicate(context):
                inside.add(segment.slug)
                if not member:
                    entering[segment.pk].add(person)
            elif member:
                leaving[segment.pk].add(person)
        result[person] = inside
    with transaction.atomic():
        for pk in entering.keys() | leaving.keys():
            change_members(by_pk[pk].segment, entering[pk], leaving[pk], now=now)
    return result


def evaluate_person(person: Person, *, now: dt.datetime | None = None) -> set[str]:
    """Evaluate one person against the active dynamic rule segments (entering and leaving them);
    returns the slugs of the dynamic segments they are in."""
    return evaluate_people([person], now=now).get(person, set())


def on_events_stored(sender: Any, people: Collection[tuple[Any, Any]], **kwargs: Any) -> None:
    """``events_stored`` receiver: re-evaluate the dynamic segments of the batch's people."""
    if not app_settings.SEGMENTS_LIVE_ON_INGEST:
        return
    evaluate_people({_person(user_id, visitor_id) for visitor_id, user_id in people})


def _has_window(rule: Any) -> bool:
    """Whether the rule counts events in a time window (so its answer changes as time passes)."""
    if not isinstance(rule, Mapping):
        return False
    if "events" in rule:
        return "within" in rule["events"]
    children = [rule["not"]] if "not" in rule else rule.get("all") or rule.get("any") or []
    return any(_has_window(child) for child in children)


def recheck_dynamic_members(
    *, now: dt.datetime | None = None, chunk_size: int = 1000
) -> dict[str, int]:
    """Re-evaluate the current members of the dynamic segments whose rules have time windows.

    Dynamic segments are evaluated when a person's events arrive; a window that runs out while
    they are away (two dear items put in the cart more than 30 minutes ago) would otherwise keep
    them in until their next event. Run periodically (the ``recheck_dynamic_segments`` task).
    Returns, per such segment, how many members left.
    """
    segments = [s for s in rule_segments(Segment.DYNAMIC) if _has_window(s.segment.rule)]
    if not segments:
        return {}
    now = now or timezone.now()
    slugs = {segment.pk: segment.slug for segment in segments}
    memberships: dict[Person, set[str]] = defaultdict(set)
    rows = SegmentMembership.objects.filter(
        segment_id__in=list(slugs), exited_at__isnull=True
    ).values_list("segment_id", "user_id", "visitor_id")
    for segment_id, user_id, visitor_id in rows.iterator(chunk_size=5000):
        memberships[_person(user_id, visitor_id)].add(slugs[segment_id])
    left = dict.fromkeys(slugs.values(), 0)
    people = list(memberships)
    for chunk in _chunks(people, chunk_size):
        for person, inside in evaluate_people(chunk, now=now).items():
            for slug in memberships[person] - inside:
                left[slug] += 1
    return left


# Static segments ------------------------------------------------------------------------------


def _stream_people(
    now: dt.datetime, lookback: float, limit: int, properties: bool
) -> Iterator[dict[Person, _PersonData]]:
    """Every person with events in the window, ``_CHUNK`` people at a time, from one streamed
    query ordered by person."""
    since = now - dt.timedelta(seconds=lookback)
    rows = _event_rows(
        Q(occurred_at__gte=since) & (Q(user_id__isnull=False) | Q(visitor_id__isnull=False)),
        properties,
    ).order_by("user_id", "visitor_id")
    chunk: dict[Person, _PersonData] = {}
    last: Person | None = None
    for row in rows.iterator(chunk_size=5000):
        person = _person(row[0], row[1])
        if person != last:
            if len(chunk) >= _CHUNK and person not in chunk:
                yield _finish(chunk, list(chunk), limit, now)
                chunk = {}
            last = person
        chunk.setdefault(person, _PersonData()).events.append(_event_dict(row))
    if chunk:
        yield _finish(chunk, list(chunk), limit, now)


def _profile_only_people(
    seen: set[Person], limit: int, now: dt.datetime
) -> Iterator[dict[Person, _PersonData]]:
    """People with a profile and no event in the window, ``_CHUNK`` at a time."""
    chunk: list[Person] = []
    for user_id, visitor_id in Profile.objects.order_by("pk").values_list("user_id", "visitor_id"):
        person = _person(user_id, visitor_id)
        if person is not None and person not in seen:
            chunk.append(person)
            if len(chunk) >= _CHUNK:
                yield _finish({p: _PersonData() for p in chunk}, chunk, limit, now)
                chunk = []
    if chunk:
        yield _finish({p: _PersonData() for p in chunk}, chunk, limit, now)


def refresh_static_rule_segments(now: dt.datetime | None = None) -> dict[str, tuple[int, int]]:
    """Recompute every active static rule segment for everyone with a profile or events in the
    window, and make those its members. Returns ``slug -> (entered, exited)``."""
    segments = rule_segments(Segment.STATIC)
    if not segments:
        return {}
    now = now or timezone.now()
    lookback = max(segment.lookback for segment in segments)
    limit = app_settings.SEGMENT_MAX_EVENTS
    products = product_attributes()
    members: dict[int, set[Person]] = {segment.pk: set() for segment in segments}
    seen: set[Person] = set()

    def evaluate(chunk: dict[Person, _PersonData]) -> None:
        for person, item in chunk.items():
            seen.add(person)
            context = _context(item, now, products)
            for segment in segments:
                if segment.predicate(context):
                    members[segment.pk].add(person)

    if lookback > 0:
        properties = any(segment.reads_properties for segment in segments)
        for chunk in _stream_people(now, lookback, limit, properties):
            evaluate(chunk)
    for chunk in _profile_only_people(seen, limit, now):
        evaluate(chunk)
    return {
        segment.slug: sync_members(segment.segment, members[segment.pk], now=now)
        for segment in segments
    }
