"""Serving recommendations: one function behind the template tags and the API.

:func:`recommend` answers "what should this person see here?" for a request:

1. the raw ranking of the *source* (``for_you``, ``similar``, ``bought_together``, ``trending``,
   ``recently_viewed``, ``buy_again``) from :mod:`.store` (the precomputed lists; the store
   recomputes a list the cache lost from the active model), or the cold-start fallback;
2. blended, for ``for_you``, with the neighbours of what this session viewed (most recent first,
   with a decaying weight) and of what is in the cart, so the list reacts within the same visit;
3. filtered and re-ranked by the business rules of :mod:`personalization.recsys.rules`.

Everything the rules need about the request (product data, cart, purchases, "not interested",
the ids already shown by other widgets of the page) is gathered once per request and kept on the
request object, so a page with several widgets asks the store and the cache once.

Consent: every source but ``trending`` is personal and needs the ``personalization`` category;
without it :func:`recommend` returns an empty result. ``trending`` is the same list for everyone
and is served without consent, with the non-personal rules only.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.urls import get_script_prefix, get_urlconf, reverse

from ..adapters import ProductData, get_adapter
from ..conf import app_settings
from ..privacy.registry import user_cache_key, visitor_cache_key
from ..recsys import rules
from ..tracking.server import product_id_for_path
from . import store

logger = logging.getLogger(__name__)

FOR_YOU = "for_you"
SIMILAR = "similar"
BOUGHT_TOGETHER = "bought_together"
TRENDING = "trending"
RECENTLY_VIEWED = "recently_viewed"
BUY_AGAIN = "buy_again"
SOURCES: tuple[str, ...] = (FOR_YOU, SIMILAR, BOUGHT_TOGETHER, TRENDING, RECENTLY_VIEWED, BUY_AGAIN)
#: Sources that need a product (the one being viewed); ``bought_together`` without one uses the
#: cart.
PRODUCT_SOURCES: frozenset[str] = frozenset({SIMILAR})
#: The sources whose lists get the diversity rules (category cap, MMR): the lists about a
#: person; those about one product are alike on purpose.
DIVERSIFIED_SOURCES: frozenset[str] = frozenset({FOR_YOU, TRENDING, BUY_AGAIN})
#: The sources served without the ``personalization`` consent (the list is the same for everyone).
NON_PERSONAL_SOURCES: frozenset[str] = frozenset({TRENDING})

#: Query parameter of the click redirect that names the list a click came from.
CLICK_PARAM = "p13n_rec"
#: How many of the visitor's own product views are remembered (recently viewed, session blend).
RECENT_VIEWS_KEPT = 30
#: Seconds the remembered views live without a new one.
RECENT_VIEWS_TTL = 30 * 24 * 60 * 60
#: Seconds a user's purchased products are remembered (a purchase newer than that may still be
#: recommended once by the lists that exclude purchases).
PURCHASED_TTL = 5 * 60
#: Seconds a person's "not interested" list is cached (it is also deleted on every new entry).
DISMISSED_TTL = 24 * 60 * 60
#: Candidates looked at per requested item before a second, larger batch is fetched.
CANDIDATES_PER_ITEM = 3
_REQUEST_ATTR = "_p13n_recommendations"


class UnknownSource(ValueError):
    """The source (list type) asked for does not exist."""


@dataclass(frozen=True)
class RecommendedItem:
    """One recommended product, as shown."""

    product: ProductData
    score: float
    position: int  # 1-based
    url: str  # the click redirect, which records the click and leads to the product's page

    @property
    def id(self) -> str:
        return self.product.id

    def as_dict(self) -> dict[str, Any]:
        """The item as plain data (the API's item, and the default widget's: a template reads a
        dict's keys several times faster than an object's attributes)."""
        product = self.product
        return {
            "id": product.id,
            "title": product.title,
            "url": self.url,
            "product_url": product.url,
            "image_url": product.image_url,
            "price": str(product.price),
            "category": product.category,
            "score": self.score,
            "position": self.position,
        }


@dataclass
class Recommendation:
    """One served list: what the tags render and the API returns.

    ``id`` (the recommendation id) travels in every link of the list, so that clicks and later
    purchases are attributed to ``placement``, ``kind`` (the recommender kind that produced the
    list: ``default``, ``trending``, ...) and ``version_id``.
    """

    id: str
    placement: str
    source: str
    kind: str
    version_id: int | None
    items: list[RecommendedItem] = field(default_factory=list)
    personal: bool = False  # whether the list used this person's data (feedback is offered)
    reason: str = ""  # why the list is empty: "consent", "no_product", or "" (nothing to show)

    def __iter__(self) -> Iterator[RecommendedItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def product_ids(self) -> list[str]:
        return [item.id for item in self.items]


@dataclass
class _RequestState:
    """What the rules need about one request, gathered on first use."""

    personal: bool
    person: str | None
    user_id: Any
    vid: str | None
    session_id: str | None
    viewed_product: str | None
    shown: set[str] = field(default_factory=set)
    products: dict[str, ProductData | None] = field(default_factory=dict)
    cart: list[str] | None = None
    purchased: set[str] | None = None
    dismissed: set[str] | None = None
    recent: list[tuple[str, str]] | None = None  # (product id, session id), newest first


# --- the entry point --------------------------------------------------------------------------


def recommend(
    request: Any,
    placement: str,
    *,
    source: str | None = None,
    product: Any = None,
    limit: int | None = None,
) -> Recommendation:
    """The recommendations to show at ``placement`` for this request.

    ``placement`` names where the list is shown (``home``, ``product_similar``, ...); attribution
    and the admin report per placement. ``source`` is the list type (see :data:`SOURCES`); it
    defaults to ``placement`` when that is a source's name. ``product`` is the product being
    viewed (an id or an object with ``pk``), required by ``similar`` and used by
    ``bought_together``. ``limit`` defaults to ``RECOMMENDATION_DEFAULT_LIMIT`` and is capped by
    ``RECOMMENDATION_MAX_LIMIT``. A non-empty result is recorded as an impression.
    """
    source = source or placement
    if source not in SOURCES:
        raise UnknownSource(f"unknown recommendation source {source!r}; use one of {SOURCES}")
    limit = clamp_limit(limit)
    product_id = _product_id(product)
    state = request_state(request)
    rec = Recommendation(
        id=new_rec_id(), placement=placement, source=source, kind=source, version_id=None
    )
    if source not in NON_PERSONAL_SOURCES and not state.personal:
        rec.reason = "consent"
        return rec
    if source in PRODUCT_SOURCES and not product_id:
        rec.reason = "no_product"
        return rec
    try:
        ranking, kind = _candidates(state, request, source, product_id, limit)
        version = store.active_version(kind) if kind in _VERSIONED_KINDS else None
        chosen = _apply_rules(state, request, ranking, source, product_id, limit, state.personal)
    except Exception:
        # A broken cache, artifact or store must not break the page: log it and show nothing.
        logger.exception("Could not compute the %s recommendations for %s", source, placement)
        return rec
    rec.kind = kind
    rec.personal = state.personal
    rec.version_id = version.pk if version is not None else None
    link = click_url_maker(rec.id)
    rec.items = [
        RecommendedItem(
            product=state.products[item],
            score=float(score),
            position=position,
            url=link(item),
        )
        for position, (item, score) in enumerate(chosen, start=1)
    ]
    state.shown.update(rec.product_ids)
    if rec.items:
        from .attribution import record_impression

        record_impression(rec, user_id=state.user_id, vid=state.vid)
    return rec


def new_rec_id() -> str:
    """A random recommendation id (a version 4 UUID).

    From the ``random`` module rather than the operating system's entropy: an id only needs to be
    unique (``random`` is reseeded in every forked worker), and ``os.urandom`` costs a system call
    on every widget.
    """
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def clamp_limit(limit: Any) -> int:
    """``limit`` as an int between 1 and ``RECOMMENDATION_MAX_LIMIT`` (default when None)."""
    if limit in (None, ""):
        limit = app_settings.RECOMMENDATION_DEFAULT_LIMIT
    try:
        value = int(limit)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"limit must be a whole number, not {limit!r}") from exc
    return max(1, min(value, int(app_settings.RECOMMENDATION_MAX_LIMIT)))


_REC_SLOT = "00000000-0000-4000-8000-000000000000"
_PRODUCT_SLOT = "0product0"


@functools.lru_cache(maxsize=64)
def _reversed(name: str, kwargs: tuple[tuple[str, str], ...], prefix: str, urlconf: Any) -> str:
    # Keyed by the script prefix and the URLconf (which differ per request or per test), so
    # that the cached path is the one reverse() would give.
    return reverse(name, urlconf=urlconf, kwargs=dict(kwargs))


def cached_reverse(name: str, **kwargs: str) -> str:
    """``reverse(name, kwargs=kwargs)``, computed once per process, script prefix and URLconf:
    the recommendation URLs are asked for by every widget and have few distinct values."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return _reversed(name, tuple(sorted(kwargs.items())), get_script_prefix(), urlconf)


def click_url_maker(rec_id: str) -> Any:
    """``product_id -> link`` for the items of one list: the click redirect, which records the
    click and leads to the product. The URL is reversed once per process with placeholders,
    which each list and item fill in."""
    template = cached_reverse(
        "personalization:recommendation-click", rec_id=_REC_SLOT, product_id=_PRODUCT_SLOT
    )
    head, _, tail = template.rpartition(_PRODUCT_SLOT)
    head = head.replace(_REC_SLOT, rec_id)
    return lambda product_id: head + quote(str(product_id), safe="") + tail


# --- per-request state ------------------------------------------------------------------------


def request_state(request: Any) -> _RequestState:
    """The request's recommendation state (made on first use, then kept on the request)."""
    state = getattr(request, _REQUEST_ATTR, None)
    if state is not None:
        return state
    context = getattr(request, "personalization", None)
    personal = context is not None and context.allowed("personalization")
    tracked = context is not None and context.tracking
    user = getattr(request, "user", None)
    # The visitor and user are known only when tracking is allowed (for the impression); the
    # personal lists and rules use them only with the personalization consent.
    user_id = user.pk if tracked and user is not None and user.is_authenticated else None
    vid = context.vid if tracked else None
    session_id = context.session_id if tracked else None
    path = getattr(request, "path_info", "")
    viewed = product_id_for_path(path) if path else None
    state = _RequestState(
        personal=personal,
        person=store.person_key(user, vid) if personal else None,
        user_id=user_id,
        vid=vid,
        session_id=session_id,
        viewed_product=viewed,
    )
    if personal:
        _prefetch_person(state)
    if viewed and session_id and personal:
        _remember_view(state, viewed)
    setattr(request, _REQUEST_ATTR, state)
    return state


def _prefetch_person(state: _RequestState) -> None:
    """Read the person's remembered views, "not interested" and purchases in one cache round
    trip. What the cache does not hold is left unset, for its loader to read from the database."""
    keys = {
        "recent": _recent_key(state),
        "dismissed": dismissed_key(state.user_id, state.vid),
        "purchased": (
            user_cache_key(state.user_id, "rec-purchased") if state.user_id is not None else None
        ),
    }
    wanted = [key for key in keys.values() if key]
    if not wanted:
        return
    found = cache.get_many(wanted)
    if keys["recent"]:
        # No remembered views is a valid state, not a miss: nothing to load from elsewhere.
        state.recent = list(found.get(keys["recent"]) or [])
    if keys["dismissed"] in found:
        state.dismissed = set(found[keys["dismissed"]])
    if keys["purchased"] in found:
        state.purchased = set(found[keys["purchased"]])


def remember_product_view(request: Any) -> None:
    """Remember this request's product view for ``recently_viewed`` and the session blend.

    The tracking middleware calls it on every tracked product page, so that a view counts on
    pages without a recommendation widget too. Making the request's state remembers the page's
    product (with the ``personalization`` consent); a page whose widgets made the state already
    has, so the view is remembered once.
    """
    request_state(request)


def _recent_key(state: _RequestState) -> str | None:
    if state.user_id is not None:
        return user_cache_key(state.user_id, "rec-recent")
    if state.vid:
        return visitor_cache_key(state.vid, "rec-recent")
    return None


def recent_views(state: _RequestState) -> list[tuple[str, str]]:
    """The person's remembered product views, newest first: ``(product id, session id)``."""
    if state.recent is None:
        key = _recent_key(state)
        state.recent = list(cache.get(key) or []) if key else []
    return state.recent


def _remember_view(state: _RequestState, product_id: str) -> None:
    views = recent_views(state)
    if views and views[0][0] == product_id:
        return
    views = [(product_id, state.session_id or "")] + [v for v in views if v[0] != product_id]
    state.recent = views[:RECENT_VIEWS_KEPT]
    key = _recent_key(state)
    if key:
        cache.set(key, state.recent, RECENT_VIEWS_TTL)


def session_views(state: _RequestState) -> list[str]:
    """This session's viewed products, newest first (the page being viewed included)."""
    if not state.session_id:
        return []
    return [pid for pid, session in recent_views(state) if session == state.session_id]


def cart_ids(state: _RequestState, request: Any) -> list[str]:
    """The products in the cart: the store adapter's answer, else the session's cart events."""
    if state.cart is None:
        found = None
        if state.personal:
            found = get_adapter().cart_product_ids(request)
            if found is None:
                found = _cart_from_events(state)
        state.cart = [str(pid) for pid in (found or ())]
    return state.cart


def _cart_from_events(state: _RequestState) -> list[str]:
    from ..models import Event
    from ..tracking.names import ADD_TO_CART, REMOVE_FROM_CART

    if not state.session_id:
        return []
    cart: dict[str, None] = {}
    rows = (
        Event.objects.filter(session_id=state.session_id, name__in=[ADD_TO_CART, REMOVE_FROM_CART])
        .order_by("occurred_at", "pk")
        .values_list("name", "product_id")
    )
    for name, product_id in rows:
        if name == ADD_TO_CART:
            cart[product_id] = None
        else:
            cart.pop(product_id, None)
    return list(cart)


def purchased_ids(state: _RequestState) -> set[str]:
    """The products the logged-in user has bought (cached for ``PURCHASED_TTL`` seconds)."""
    if state.purchased is None:
        state.purchased = set()
        if state.user_id is not None:
            key = user_cache_key(state.user_id, "rec-purchased")
            found = cache.get(key)
            if found is None:
                found = {
                    line.product_id
                    for order in get_adapter().iter_orders(customer_id=str(state.user_id))
                    for line in order.lines
                }
                cache.set(key, found, PURCHASED_TTL)
            state.purchased = set(found)
    return state.purchased


def dismissed_key(user_id: Any, vid: str | None) -> str | None:
    """Cache key of a person's "not interested" products."""
    if user_id is not None:
        return user_cache_key(user_id, "rec-dismissed")
    if vid:
        return visitor_cache_key(vid, "rec-dismissed")
    return None


def dismissed_ids(state: _RequestState) -> set[str]:
    """The products this person said they are not interested in."""
    if state.dismissed is None:
        state.dismissed = set()
        key = dismissed_key(state.user_id, state.vid)
        if key is not None:
            found = cache.get(key)
            if found is None:
                from ..models import NotInterested

                rows = NotInterested.objects.all()
                if state.user_id is not None:
                    rows = rows.filter(user_id=state.user_id)
                else:
                    rows = rows.filter(user__isnull=True, vid=state.vid)
                found = set(rows.values_list("product_id", flat=True))
                cache.set(key, found, DISMISSED_TTL)
            state.dismissed = set(found)
    return state.dismissed


class ProductMemo:
    """Product data kept in this process for ``RECOMMENDATION_PRODUCT_CACHE_SECONDS``.

    Process-local rather than in the shared cache: a lookup is a dict read instead of a cache
    round trip and an unpickling per product, which is most of a warm widget's cost. Each process
    asks the store at most once per product and period, and a change (sold out, unpublished)
    shows within the period, as it would with the shared cache.
    """

    #: Entries kept at most; the memo starts afresh when it is full.
    MAX_ENTRIES = 100_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, ProductData | None]] = {}
        self._lock = threading.Lock()

    def get_many(self, ids: Iterable[str], now: float) -> dict[str, ProductData | None]:
        found = {}
        entries = self._entries
        for pid in ids:
            entry = entries.get(pid)
            if entry is not None and entry[0] > now:
                found[pid] = entry[1]
        return found

    def set_many(self, values: dict[str, ProductData | None], expires: float) -> None:
        with self._lock:
            if len(self._entries) + len(values) > self.MAX_ENTRIES:
                self._entries = {}
            for pid, product in values.items():
                self._entries[pid] = (expires, product)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


product_memo = ProductMemo()


def fetch_products(state: _RequestState, ids: Iterable[str]) -> None:
    """Make sure ``state.products`` knows ``ids``: from the request, this process's memo, then
    the store (one ``get_products`` call for what is left)."""
    missing = [pid for pid in dict.fromkeys(ids) if pid not in state.products]
    if not missing:
        return
    ttl = float(app_settings.RECOMMENDATION_PRODUCT_CACHE_SECONDS)
    now = time.monotonic()
    if ttl > 0:
        state.products.update(product_memo.get_many(missing, now))
        missing = [pid for pid in missing if pid not in state.products]
        if not missing:
            return
    found = get_adapter().get_products(missing)
    fetched = {pid: found.get(pid) for pid in missing}
    state.products.update(fetched)
    if ttl > 0:
        product_memo.set_many(fetched, now + ttl)


# --- sources ----------------------------------------------------------------------------------

_VERSIONED_KINDS = frozenset({"default", "buy_again", "similar", "bought_together", "trending"})


def _neighbours(product_id: str, kind: str) -> list[tuple[str, float]]:
    """A product's neighbours of ``kind`` (the store recomputes a list the cache lost; new
    products get the content neighbours of the ``similar`` model); [] for an unknown product."""
    return store.for_product(product_id, kind=kind) or []


def _for_person(person: str | None, kind: str) -> list[tuple[str, float]] | None:
    """The person's list of ``kind``; None for a stranger to the model (cold start)."""
    return store.for_person(person, kind=kind) if person else None


def _session_rankings(
    state: _RequestState, request: Any
) -> list[tuple[list[tuple[str, float]], float]]:
    """Neighbours of this session's views (decaying weights, newest first) and of the cart."""
    weight = float(app_settings.RECOMMENDATION_SESSION_WEIGHT)
    if weight <= 0:
        return []
    decay = float(app_settings.RECOMMENDATION_SESSION_DECAY)
    count = int(app_settings.RECOMMENDATION_SESSION_PRODUCTS)
    rankings = [
        (_neighbours(pid, "similar"), weight * decay**i)
        for i, pid in enumerate(session_views(state)[:count])
    ]
    rankings += [(_neighbours(pid, "bought_together"), weight) for pid in cart_ids(state, request)]
    return [(ranking, w) for ranking, w in rankings if ranking]


def _candidates(
    state: _RequestState, request: Any, source: str, product_id: str | None, limit: int
) -> tuple[list[tuple[str, float]], str]:
    """The raw ranking of ``source`` and the recommender kind that produced it."""
    if source == TRENDING:
        return store.trending(), "trending"
    if source == SIMILAR:
        return _neighbours(product_id, "similar"), "similar"
    if source == BOUGHT_TOGETHER:
        anchors = [product_id] if product_id else cart_ids(state, request)
        rankings = [(_neighbours(pid, "bought_together"), 1.0) for pid in anchors]
        ranking = rules.blend(rankings) if len(rankings) > 1 else (rankings or [([], 1)])[0][0]
        if ranking:
            return ranking, "bought_together"
        if product_id:
            # A product nobody bought with anything yet: its similar products instead.
            return _neighbours(product_id, "similar"), "similar"
        return [], "bought_together"
    if source == RECENTLY_VIEWED:
        return _recently_viewed(state, request, limit), "recently_viewed"
    if source == BUY_AGAIN:
        return _for_person(state.person, "buy_again") or [], "buy_again"
    # for_you: the person's list, else the cold start (trending), both blended with the session.
    ranking = _for_person(state.person, "default")
    kind = "default"
    if ranking is None:
        ranking, kind = store.trending(), "trending"
    extra = _session_rankings(state, request)
    if extra:
        ranking = rules.blend([(ranking, 1.0), *extra])
    return ranking, kind


def _recently_viewed(state: _RequestState, request: Any, limit: int) -> list[tuple[str, float]]:
    """The person's own product views, newest first (the remembered ones, topped up from the
    stored events); the page being viewed is left out by the rules."""
    ids = [pid for pid, _ in recent_views(state)]
    wanted = limit + 1 + len(state.shown)
    if len(ids) < wanted:
        ids += [pid for pid in _views_from_events(state, wanted * 2) if pid not in ids]
    # Scores decrease with age so that the list keeps its order through the rules.
    return [(pid, 1.0 / (1 + i)) for i, pid in enumerate(ids)]


def _views_from_events(state: _RequestState, n: int) -> list[str]:
    from ..models import Event
    from ..tracking.names import PRODUCT_VIEW

    events = Event.objects.filter(name=PRODUCT_VIEW).exclude(product_id="")
    if state.user_id is not None:
        events = events.filter(user_id=state.user_id)
    elif state.vid:
        events = events.filter(visitor__vid=state.vid)
    else:
        return []
    ids: dict[str, None] = {}
    for pid in events.order_by("-occurred_at").values_list("product_id", flat=True)[: n * 3]:
        ids.setdefault(pid, None)
        if len(ids) >= n:
            break
    return list(ids)


# --- rules ------------------------------------------------------------------------------------


def _apply_rules(
    state: _RequestState,
    request: Any,
    ranking: list[tuple[str, float]],
    source: str,
    product_id: str | None,
    limit: int,
    personal: bool,
) -> list[tuple[str, float]]:
    excluded = set(state.shown)
    for viewed in (product_id, state.viewed_product):
        if viewed:
            excluded.add(viewed)
    boosts: dict[str, float] = {}
    if personal:
        excluded.update(cart_ids(state, request))
        excluded.update(dismissed_ids(state))
        if source != BUY_AGAIN:
            excluded.update(purchased_ids(state))
        config = app_settings.RECOMMENDATION_SEGMENT_BOOSTS
        # Segments are looked up only when boosts are configured (the lookup is not free).
        segments = (
            getattr(getattr(request, "personalization", None), "segments", None) if config else None
        )
        if segments:
            boosts = rules.segment_boosts(segments, config)
    mmr_lambda = app_settings.RECOMMENDATION_MMR_LAMBDA
    options = {
        "k": limit,
        "excluded": excluded,
        "boosts": boosts,
        "max_per_category": app_settings.RECOMMENDATION_MAX_PER_CATEGORY,
        "mmr_lambda": None if mmr_lambda is None else float(mmr_lambda),
    }
    if source == RECENTLY_VIEWED:
        # The visitor's own history: neither re-ranked nor thinned out by category.
        options.update(boosts={}, max_per_category=None, mmr_lambda=None)
    elif source not in DIVERSIFIED_SOURCES:
        # Lists about one product are alike on purpose (alternatives, accessories).
        options.update(max_per_category=None, mmr_lambda=None)
    candidates = rules.drop_excluded(ranking, excluded)
    # Product data batch by batch: the next batch only when the rules left too few items.
    batch = max(limit * CANDIDATES_PER_ITEM, limit + 10)
    end = 0
    while True:
        end += batch
        fetch_products(state, [pid for pid, _ in candidates[end - batch : end]])
        chosen = rules.apply_rules(candidates[:end], state.products, **options)
        if len(chosen) >= limit or end >= len(candidates):
            return chosen


def _product_id(product: Any) -> str | None:
    if product is None or product == "":
        return None
    if isinstance(product, ProductData):
        return product.id
    return str(getattr(product, "pk", product))
