"""The simulation: a catalog, its customers and months of their sessions, carts and orders.

Django-free. It returns plain rows: references between rows are list indexes, times are POSIX
seconds, and ``write`` turns them into database rows. Everything derives from the seed through two
generators created from it (``random.Random`` for scalar draws, numpy for vectors) consumed in a
fixed order, and from the configured end date, never from the clock.

Where the signal comes from: each customer has one or two favourite categories, a preferred price
band (brand tier), a taste vector that matches product factor vectors, and a persona that sets how
often they visit, how much they look and how readily they buy. A session keeps to one category and
often to one product type, follows "goes well with" links (camera → memory card), and consumables
are bought again, so items viewed and bought together share structure a recommender can learn.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import random
import uuid
from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from typing import Any

import numpy as np

from .catalog import (
    BUDGET,
    CATEGORIES,
    PREMIUM,
    REVIEW_BODIES,
    REVIEW_TITLES,
    TIER_PRICE_FACTOR,
    CategorySpec,
    product_description,
    product_name,
    retail_price,
    slugify,
)
from .people import PeopleFactory, Person
from .personas import ANONYMOUS, Persona, allocate

DEFAULT_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DAY = 86400.0
FACTORS = 6  # dimensions of the latent taste and product vectors

# Paths of the demo shop's pages (demo_shop/shop/urls.py, mounted at the site root).
HOME_PATH = "/"
CART_PATH = "/cart/"
CHECKOUT_PATH = "/checkout/"
SEARCH_PATH = "/search/"
WISHLIST_PATH = "/wishlist/"

# (device_type, browser, os, weight), with browser and OS named as ua-parser names them.
DEVICES = (
    ("desktop", "Chrome", "Windows", 0.27),
    ("desktop", "Edge", "Windows", 0.07),
    ("desktop", "Firefox", "Windows", 0.03),
    ("desktop", "Safari", "Mac OS X", 0.08),
    ("desktop", "Chrome", "Mac OS X", 0.05),
    ("desktop", "Firefox", "Linux", 0.01),
    ("mobile", "Mobile Safari", "iOS", 0.22),
    ("mobile", "Chrome Mobile", "Android", 0.16),
    ("mobile", "Samsung Internet", "Android", 0.05),
    ("tablet", "Mobile Safari", "iOS", 0.05),
    ("tablet", "Chrome", "Android", 0.01),
)
DEVICE_WEIGHTS = [d[3] for d in DEVICES]

# Acquisition channels: referrer URLs and UTM tags of sessions.
CHANNELS = ("direct", "organic", "paid", "email", "social", "referral")
CHANNEL_WEIGHTS = {
    "bargain_hunter": (0.18, 0.25, 0.17, 0.16, 0.1, 0.14),
    "loyal_big_spender": (0.42, 0.18, 0.06, 0.22, 0.07, 0.05),
    "window_shopper": (0.25, 0.3, 0.1, 0.08, 0.2, 0.07),
    "new_visitor": (0.08, 0.35, 0.27, 0.0, 0.22, 0.08),
    "": (0.2, 0.42, 0.16, 0.0, 0.14, 0.08),
}
DEFAULT_CHANNEL_WEIGHTS = (0.3, 0.3, 0.1, 0.12, 0.1, 0.08)
SEARCH_ENGINES = (
    "https://www.google.com/",
    "https://www.google.co.uk/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
)
SOCIAL_SITES = (
    "https://www.facebook.com/",
    "https://www.instagram.com/",
    "https://www.pinterest.co.uk/",
    "https://www.tiktok.com/",
)
REFERRAL_SITES = (
    "https://www.hotukdeals.com/deals/",
    "https://www.moneysavingexpert.com/deals/",
    "https://www.which.co.uk/reviews/",
    "https://www.reddit.com/r/BuyItForLife/",
)

# Traffic by hour of day (UTC, a UK audience) and day of week (Monday first).
HOUR_WEIGHTS = (
    0.6,
    0.35,
    0.2,
    0.12,
    0.1,
    0.15,
    0.35,
    0.7,
    1.0,
    1.2,
    1.3,
    1.4,
    1.6,
    1.5,
    1.3,
    1.3,
    1.35,
    1.5,
    1.8,
    2.2,
    2.4,
    2.1,
    1.6,
    1.0,
)
WEEKDAY_WEIGHTS = (1.05, 1.0, 0.98, 0.97, 0.9, 0.92, 1.18)
MONTH_WEIGHTS = (1.05, 0.9, 0.95, 0.95, 0.95, 0.9, 0.9, 0.9, 0.95, 1.0, 1.15, 1.25)

# How buying interest falls with the distance between a product's band and the preferred one.
TIER_MATCH = (1.0, 0.45, 0.15)
SALE_SHARE = 0.15
OUT_OF_STOCK_SHARE = 0.05
UNPUBLISHED_SHARE = 0.01
NEW_ARRIVAL_SHARE = 0.12
OPEN_CART_DAYS = 14


@dataclass(frozen=True)
class SeedConfig:
    """What to generate. The same configuration always yields the same rows."""

    seed: int = 42
    products: int = 1200
    customers: int = 2000
    months: int = 12
    end: dt.datetime = DEFAULT_END
    # Visitors who never log in, as a share of the number of customers.
    anonymous_share: float = 0.3
    # Customers who registered twice, as a share of the number of customers.
    duplicate_share: float = 0.01

    @property
    def start(self) -> dt.datetime:
        month_index = self.end.year * 12 + self.end.month - 1 - self.months
        year, month = divmod(month_index, 12)
        day = min(self.end.day, 28)
        return self.end.replace(year=year, month=month + 1, day=day)


@dataclass(slots=True)
class CategoryRow:
    name: str
    slug: str
    description: str
    colour: str


@dataclass(slots=True)
class ProductRow:
    pk: int
    sku: str
    name: str
    slug: str
    category: int
    brand: str
    description: str
    price: Decimal
    compare_at_price: Decimal | None
    stock: int
    is_published: bool
    tags: str
    image_count: int
    created_at: float

    @property
    def path(self) -> str:
        return f"/products/{self.slug}/"


@dataclass(slots=True)
class CustomerRow:
    username: str
    person: Person
    persona: str
    date_joined: float
    last_login: float | None = None
    # Index of the customer this account duplicates (the same person registered twice).
    duplicate_of: int | None = None


@dataclass(slots=True)
class VisitorRow:
    vid: str
    user: int | None
    first_seen: float
    last_seen: float


@dataclass(slots=True)
class SessionRow:
    id: uuid.UUID
    visitor: int
    user: int | None
    started_at: float
    ended_at: float
    landing_path: str
    referrer: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    device_type: str
    browser: str
    os: str
    event_count: int = 0


# (occurred_at, name, visitor, user, session, product pk as str, properties, path, referrer_host)
EventRow = tuple[float, str, int, int | None, int, str, dict[str, Any], str, str]


@dataclass(slots=True)
class OrderRow:
    number: str
    user: int
    created_at: float
    # (product index, quantity, unit price)
    lines: list[tuple[int, int, Decimal]]
    purchase_properties: dict[str, Any]

    @property
    def total(self) -> Decimal:
        return sum((price * qty for _, qty, price in self.lines), Decimal("0"))


@dataclass(slots=True)
class CartRow:
    user: int | None
    visitor: int
    session_key: str
    status: str
    created_at: float
    updated_at: float
    # (product index, quantity, added_at)
    items: list[tuple[int, int, float]]


@dataclass(slots=True)
class WishlistRow:
    user: int
    product: int
    added_at: float


@dataclass(slots=True)
class ReviewRow:
    product: int
    user: int
    rating: int
    title: str
    body: str
    created_at: float


@dataclass
class Dataset:
    """Everything the generator made, ready to be written."""

    config: SeedConfig
    categories: list[CategoryRow] = field(default_factory=list)
    products: list[ProductRow] = field(default_factory=list)
    customers: list[CustomerRow] = field(default_factory=list)
    visitors: list[VisitorRow] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    carts: list[CartRow] = field(default_factory=list)
    wishlist: list[WishlistRow] = field(default_factory=list)
    reviews: list[ReviewRow] = field(default_factory=list)

    @property
    def duplicates(self) -> list[tuple[str, str]]:
        """(original username, duplicate username) for every customer registered twice."""
        return [
            (self.customers[c.duplicate_of].username, c.username)
            for c in self.customers
            if c.duplicate_of is not None
        ]

    def summary(self) -> dict[str, Any]:
        """Counts of everything generated, customers broken down by persona."""
        return {
            "categories": len(self.categories),
            "products": len(self.products),
            "customers": len(self.customers),
            "customers_by_persona": dict(
                sorted(Counter(c.persona for c in self.customers).items())
            ),
            "near_duplicate_customers": len(self.duplicates),
            "visitors": len(self.visitors),
            "anonymous_visitors": sum(1 for v in self.visitors if v.user is None),
            "sessions": len(self.sessions),
            "events": len(self.events),
            "events_by_name": dict(Counter(e[1] for e in self.events).most_common()),
            "orders": len(self.orders),
            "order_lines": sum(len(o.lines) for o in self.orders),
            "reviews": len(self.reviews),
            "wishlist_items": len(self.wishlist),
            "carts": len(self.carts),
            "carts_by_status": dict(sorted(Counter(c.status for c in self.carts).items())),
        }


@dataclass(slots=True)
class _Shopper:
    """A customer's (or anonymous visitor's) hidden preferences and state during the simulation."""

    user: int | None
    persona: Persona
    category_weights: list[float]
    tier: int
    taste: np.ndarray
    activity: float
    window: tuple[float, float]
    devices: list[tuple[str, str, str]]
    visitors: list[int | None]
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    score_mean: float = 0.0
    score_std: float = 1.0
    score_max: float = 0.0
    cumulative: dict[tuple[str, int], tuple[list[int], list[float]]] = field(default_factory=dict)
    # Cumulative category weights per calendar month (interest in categories is seasonal).
    by_month: dict[int, list[float]] = field(default_factory=dict)
    consumables: list[int] = field(default_factory=list)
    wishlist: set[int] = field(default_factory=set)
    reviewed: set[int] = field(default_factory=set)
    last_login: float | None = None


def generate(config: SeedConfig, first_product_pk: int = 1) -> Dataset:
    """Simulate the store described by ``config``.

    Product ``i`` is given primary key ``first_product_pk + i``: event rows refer to products by
    their primary key as a string, the way tracking records them.
    """
    return _Simulator(config, first_product_pk).run()


class _Simulator:
    def __init__(self, config: SeedConfig, first_product_pk: int) -> None:
        self.cfg = config
        self.first_pk = first_product_pk
        self.rng = random.Random(config.seed)
        self.np = np.random.default_rng(config.seed)
        self.start_ts = config.start.timestamp()
        self.end_ts = config.end.timestamp()
        self.days = (self.end_ts - self.start_ts) / DAY
        self.data = Dataset(config)

    def run(self) -> Dataset:
        self._build_catalog()
        self._build_calendar()
        shoppers = self._build_customers()
        for shopper in shoppers:
            self._simulate(shopper)
        for shopper in self._build_anonymous():
            self._simulate(shopper)
        self._finish()
        return self.data

    # --- catalog ------------------------------------------------------------------------------

    def _build_catalog(self) -> None:
        rng, data = self.rng, self.data
        specs = CATEGORIES
        counts = _apportion(self.cfg.products, [len(s.types) for s in specs])
        type_names = [t.noun for s in specs for t in s.types]
        type_index = {noun: i for i, noun in enumerate(type_names)}
        self.complements = [[type_index[c] for c in t.complements] for s in specs for t in s.types]
        self.consumable = [t.consumable for s in specs for t in s.types]
        self.type_names = type_names
        slugs: set[str] = set()
        cats, types, tiers, prices, sale, stock, published, created = [], [], [], [], [], [], [], []
        type_offset = 0
        for ci, spec in enumerate(specs):
            data.categories.append(
                CategoryRow(spec.name, slugify(spec.name), spec.description, spec.colour)
            )
            order: list[int] = []
            while len(order) < counts[ci]:
                batch = list(range(len(spec.types)))
                rng.shuffle(batch)
                order.extend(batch)
            for ti in order[: counts[ci]]:
                row, tier = self._product(spec, ci, ti, slugs)
                data.products.append(row)
                cats.append(ci)
                types.append(type_offset + ti)
                tiers.append(tier)
                prices.append(float(row.price))
                sale.append(row.compare_at_price is not None)
                stock.append(row.stock)
                published.append(row.is_published)
                created.append(row.created_at)
            type_offset += len(spec.types)
        n = len(data.products)
        self.p_cat = np.array(cats)
        self.p_type = types
        self.p_tier = tiers
        self.p_sale = sale
        self.p_stock = stock
        self.p_created = created
        self.p_path = [p.path for p in data.products]
        self.p_pk = [str(self.first_pk + i) for i in range(n)]
        self.p_images = [p.image_count for p in data.products]
        self.p_published = np.array(published, dtype=bool)
        self.popularity = self.np.lognormal(0.0, 0.9, n)
        self.quality = self.np.normal(0.0, 1.0, n)
        category_centres = self.np.normal(0.0, 0.8, (len(specs), FACTORS))
        self.factors = self.np.normal(0.0, 1.0, (n, FACTORS)) + category_centres[self.p_cat]
        # A product's price relative to the median of its type: what price sensitivity acts on.
        by_type: dict[int, list[float]] = {}
        for t, price in zip(types, prices, strict=True):
            by_type.setdefault(t, []).append(price)
        medians = {t: float(np.median(v)) for t, v in by_type.items()}
        self.p_relprice = [p / medians[t] for t, p in zip(types, prices, strict=True)]
        self.p_base = (
            0.9 * np.log(self.popularity)
            + 0.2 * self.quality
            + np.where(self.p_published, 0.0, -np.inf)
        )
        self.p_sale_arr = np.array(sale, dtype=float)
        self.p_tier_arr = np.array(tiers)
        self.cat_members = [np.flatnonzero(self.p_cat == c).tolist() for c in range(len(specs))]
        type_members: dict[int, list[int]] = {}
        for i, t in enumerate(types):
            type_members.setdefault(t, []).append(i)
        self.type_members = type_members
        self.category_popularity = [len(s.types) for s in specs]
        self.season = [s.season for s in specs]
        self.cat_paths = [f"/categories/{c.slug}/" for c in data.categories]
        self.specs = specs

    def _product(
        self, spec: CategorySpec, ci: int, ti: int, slugs: set[str]
    ) -> tuple[ProductRow, int]:
        rng = self.rng
        ptype = spec.types[ti]
        brand, tier = rng.choice(spec.brands)
        feature = rng.choice(ptype.features)
        name, words = product_name(rng, spec, ptype, brand, feature)
        raw_price = (
            ptype.base_price * TIER_PRICE_FACTOR[tier] * _lognormal(rng, 0, spec.price_sigma)
        )
        price = retail_price(raw_price)
        compare_at = None
        if rng.random() < SALE_SHARE:
            discount = rng.choice((0.1, 0.15, 0.2, 0.25, 0.3, 0.4))
            compare_at = max(retail_price(price / (1 - discount)), price + 1)
        stock = 0 if rng.random() < OUT_OF_STOCK_SHARE else int(_lognormal(rng, 3.3, 0.9)) + 1
        published = rng.random() >= UNPUBLISHED_SHARE
        if rng.random() < NEW_ARRIVAL_SHARE:
            created = rng.uniform(self.start_ts, self.end_ts - 14 * DAY)
        else:
            created = rng.uniform(self.start_ts - 3 * 365 * DAY, self.start_ts - DAY)
        slug = base = slugify(name)
        suffix = 2
        while slug in slugs:
            slug = f"{base}-{suffix}"
            suffix += 1
        slugs.add(slug)
        tags = [
            ptype.noun.lower(),
            feature.lower(),
            *rng.sample(spec.tags, k=min(2, len(spec.tags))),
        ]
        if tier == PREMIUM:
            tags.append("premium")
        elif tier == BUDGET:
            tags.append("value")
        initials = "".join(w[0] for w in brand.replace("&", " ").split())[:2].upper()
        row = ProductRow(
            pk=self.first_pk + len(self.data.products),
            sku=f"{spec.code}-{initials}{len(self.data.products) + 1:05d}",
            name=name,
            slug=slug,
            category=ci,
            brand=brand,
            description=product_description(rng, spec, ptype, words),
            price=_money(price),
            compare_at_price=_money(compare_at) if compare_at is not None else None,
            stock=stock,
            is_published=published,
            tags=", ".join(dict.fromkeys(tags))[:300],
            image_count=rng.randint(1, 4),
            created_at=round(created),
        )
        return row, tier

    # --- calendar -----------------------------------------------------------------------------

    def _build_calendar(self) -> None:
        """Cumulative traffic weight of each day of the window: week, month and sales events."""
        n_days = math.ceil(self.days)
        weights = np.empty(n_days)
        start = self.cfg.start
        for d in range(n_days):
            day = (start + dt.timedelta(days=d)).date()
            weights[d] = (
                WEEKDAY_WEIGHTS[day.weekday()] * MONTH_WEIGHTS[day.month - 1] * _sales_event(day)
            )
        self.day_cdf = np.cumsum(weights) / weights.sum()
        # The cumulative weight as a function of (fractional) days since the start of the window.
        self.day_grid = np.arange(n_days + 1, dtype=float)
        self.day_curve = np.concatenate(([0.0], self.day_cdf))
        hours = np.array(HOUR_WEIGHTS)
        self.hour_cdf = np.cumsum(hours) / hours.sum()

    def _session_times(self, window: tuple[float, float], count: int) -> list[float]:
        lo_day, hi_day = window
        lo, hi = np.interp(window, self.day_grid, self.day_curve)
        u = lo + (hi - lo) * self.np.random(count)
        days = np.minimum(np.searchsorted(self.day_cdf, u), len(self.day_cdf) - 1)
        hours = np.searchsorted(self.hour_cdf, self.np.random(count))
        seconds = days * DAY + hours * 3600.0 + self.np.random(count) * 3600.0
        latest = min(hi_day * DAY, self.end_ts - self.start_ts - 3 * 3600.0)
        times = np.clip(seconds, min(lo_day * DAY, latest), latest) + self.start_ts
        return sorted(times.tolist())

    # --- customers ----------------------------------------------------------------------------

    def _build_customers(self) -> list[_Shopper]:
        rng, cfg = self.rng, self.cfg
        factory = PeopleFactory(rng)
        duplicates = int(cfg.customers * cfg.duplicate_share) if cfg.customers >= 20 else 0
        originals = cfg.customers - duplicates
        personas = allocate(rng, originals)
        people = [factory.person(cfg.end.year) for _ in range(originals)]
        copied = sorted(rng.sample(range(originals), duplicates))
        people += [factory.near_duplicate(people[i]) for i in copied]
        personas += [personas[i] for i in copied]
        # Interleave the second accounts with the others, so usernames do not give them away.
        order = list(range(cfg.customers))
        rng.shuffle(order)
        position = {entry: pos for pos, entry in enumerate(order)}
        width = max(4, len(str(cfg.customers)))
        rows: list[CustomerRow | None] = [None] * cfg.customers
        shoppers: list[_Shopper | None] = [None] * cfg.customers
        for entry in range(originals):
            pos = position[entry]
            persona = personas[entry]
            shoppers[pos] = self._shopper(pos, persona)
        for k, original in enumerate(copied):
            entry = originals + k
            pos, first = position[entry], position[original]
            source = shoppers[first]
            assert source is not None
            start = rng.uniform(source.window[0], (source.window[0] + source.window[1]) / 2)
            twin = self._shopper(pos, source.persona)
            twin.category_weights = source.category_weights
            twin.tier = source.tier
            twin.taste = source.taste
            twin.window = (start, source.window[1])
            shoppers[pos] = twin
        for entry in range(cfg.customers):
            pos = position[entry]
            shopper = shoppers[pos]
            assert shopper is not None
            first_day = shopper.window[0]
            if first_day == 0.0:
                joined = self.start_ts - rng.uniform(1, 3 * 365) * DAY
            else:
                joined = self.start_ts + first_day * DAY - rng.uniform(0, 2 * 3600)
            rows[pos] = CustomerRow(
                username=f"customer{pos + 1:0{width}d}",
                person=people[entry],
                persona=personas[entry].name,
                date_joined=round(joined),
                duplicate_of=position[copied[entry - originals]] if entry >= originals else None,
            )
        self.data.customers = [r for r in rows if r is not None]
        return [s for s in shoppers if s is not None]

    def _shopper(self, user: int | None, persona: Persona) -> _Shopper:
        rng = self.rng
        n_cat = len(self.specs)
        favourites = _weighted_sample(
            rng, range(n_cat), self.category_popularity, persona.favourites
        )
        others = sum(w for c, w in enumerate(self.category_popularity) if c not in favourites)
        weights = [(1 - persona.favourite_share) * w / others for w in self.category_popularity]
        shares = (1.0,) if len(favourites) == 1 else (0.62, 0.38)
        for c, share in zip(favourites, shares, strict=False):
            weights[c] = persona.favourite_share * share
        tier = persona.preferred_tier
        if tier is None:
            tier = rng.choices((0, 1, 2), weights=(0.3, 0.45, 0.25))[0]
        devices = [
            DEVICES[i][:3]
            for i in _weighted_sample(
                rng, range(len(DEVICES)), DEVICE_WEIGHTS, 2 if rng.random() < 0.45 else 1
            )
        ]
        return _Shopper(
            user=user,
            persona=persona,
            category_weights=weights,
            tier=tier,
            taste=self.np.normal(0.0, 1.0, FACTORS),
            activity=_lognormal(rng, -0.08, 0.45),
            window=persona.active_window(rng, self.days),
            devices=devices,
            visitors=[None] * len(devices),
        )

    def _build_anonymous(self) -> list[_Shopper]:
        count = round(self.cfg.customers * self.cfg.anonymous_share)
        shoppers = []
        for _ in range(count):
            shopper = self._shopper(None, ANONYMOUS)
            shopper.devices = shopper.devices[:1]
            shopper.visitors = [None]
            shopper.tier = self.rng.choice((0, 1, 1, 2))
            shopper.window = (0.0, self.days)
            shoppers.append(shopper)
        return shoppers

    # --- behaviour ----------------------------------------------------------------------------

    def _prepare(self, shopper: _Shopper) -> None:
        persona = shopper.persona
        tier_gap = np.abs(self.p_tier_arr - shopper.tier)
        scores = (
            self.p_base
            + 0.5 * (self.factors @ shopper.taste) / math.sqrt(FACTORS)
            - persona.tier_strictness * tier_gap
            + persona.sale_affinity * self.p_sale_arr
        )
        finite = scores[np.isfinite(scores)]
        shopper.score_mean = float(finite.mean())
        shopper.score_std = float(finite.std()) or 1.0
        shopper.score_max = float(finite.max())
        shopper.weights = np.exp(scores - shopper.score_max)
        shopper.cumulative = {}

    def _pick(self, shopper: _Shopper, kind: str, key: int) -> int | None:
        """A product of category or type ``key``, drawn by the shopper's interest."""
        cached = shopper.cumulative.get((kind, key))
        if cached is None:
            members = self.cat_members[key] if kind == "c" else self.type_members.get(key, [])
            cumulative = np.cumsum(shopper.weights[members]).tolist() if members else []
            cached = (members, cumulative)
            shopper.cumulative[(kind, key)] = cached
        members, cumulative = cached
        if not members or cumulative[-1] <= 0:
            return None
        return members[bisect(cumulative, self.rng.random() * cumulative[-1])]

    def _simulate(self, shopper: _Shopper) -> None:
        rng = self.rng
        persona = shopper.persona
        self._prepare(shopper)
        lo, hi = shopper.window
        if shopper.user is None:
            count = 1 + int(self.np.poisson(0.7))
        else:
            months = (hi - lo) / 30.44
            count = max(
                1, int(self.np.poisson(persona.sessions_per_month * months * shopper.activity))
            )
        views = self.np.poisson(
            max(persona.views_per_session * shopper.activity**0.5 - 1, 0.2), count
        )
        next_free = 0.0
        for start, extra_views in zip(
            self._session_times(shopper.window, count), views.tolist(), strict=True
        ):
            start = max(start, next_free)
            if start > self.end_ts - 3 * 3600:
                break
            device = 0 if len(shopper.devices) == 1 or rng.random() < 0.7 else 1
            next_free = self._session(shopper, device, start, min(1 + extra_views, 40))
            next_free += rng.uniform(40 * 60, 6 * 3600)
        if shopper.user is not None:
            customer = self.data.customers[shopper.user]
            customer.last_login = round(shopper.last_login) if shopper.last_login else None
        # The per-product weights are only needed while this shopper is simulated.
        shopper.weights = np.zeros(0)
        shopper.cumulative = {}

    def _visitor(self, shopper: _Shopper, device: int, at: float) -> int:
        index = shopper.visitors[device]
        if index is None:
            vid = base64.urlsafe_b64encode(self.rng.getrandbits(128).to_bytes(16, "big"))
            self.data.visitors.append(VisitorRow(vid.decode().rstrip("="), shopper.user, at, at))
            index = shopper.visitors[device] = len(self.data.visitors) - 1
        return index

    def _session(self, shopper: _Shopper, device: int, start: float, n_views: int) -> float:
        """Simulate one visit starting at ``start``; returns when it ended."""
        rng, data = self.rng, self.data
        rand, gauss = rng.random, rng.gauss
        persona = shopper.persona
        visitor = self._visitor(shopper, device, start)
        session_index = len(data.sessions)
        logged_in = shopper.user is not None and rand() < persona.login_rate
        user = shopper.user if logged_in else None
        month = dt.datetime.fromtimestamp(start, dt.UTC).month
        cat_cumulative = shopper.by_month.get(month)
        if cat_cumulative is None:
            seasonal = (
                w * self.season[c][month - 1] for c, w in enumerate(shopper.category_weights)
            )
            cat_cumulative = shopper.by_month[month] = list(accumulate(seasonal))
        category = bisect(cat_cumulative, rand() * cat_cumulative[-1])
        channel = rng.choices(
            CHANNELS, weights=CHANNEL_WEIGHTS.get(persona.name, DEFAULT_CHANNEL_WEIGHTS)
        )[0]
        referrer, utm = self._acquisition(channel, persona, start, category)
        events: list[EventRow] = []
        t = start

        def emit(
            name: str, at: float, pk: str = "", props: dict | None = None, path: str = ""
        ) -> None:
            events.append((at, name, visitor, user, session_index, pk, props or {}, path, ""))

        # Where the visit lands: a product page, a category page or the home page.
        first: int | None = None
        focus_type: int | None = None
        if shopper.consumables and rand() < persona.rebuy_rate:
            first = rng.choice(shopper.consumables)
        elif channel != "direct" and rand() < 0.45:
            first = self._pick(shopper, "c", category)
        if first is not None and self.p_created[first] > t:
            first = None
        if first is not None:
            landing = self.p_path[first]
        else:
            to_category = channel in ("paid", "email", "social") or rand() < 0.4
            landing = self.cat_paths[category] if to_category else HOME_PATH
            emit("page_view", t, path=landing)
            t += math.exp(gauss(2.6, 0.6))
            if rand() < persona.search_rate:
                probe = self._pick(shopper, "c", category)
                if probe is not None:
                    # The tracker reports the search form's submission, then the results load.
                    focus_type = self.p_type[probe]
                    emit("search", t, props={"query": self._query(probe)}, path=landing)
                    t += rng.uniform(0.5, 2)
                    emit("page_view", t, path=SEARCH_PATH)
                    t += math.exp(gauss(2.3, 0.5))

        cart: dict[int, list[float]] = {}  # product -> [quantity, added_at]
        last_viewed: int | None = None
        stop_at = self.end_ts - 600
        for i in range(n_views):
            if t > stop_at:
                break
            product = first if i == 0 else None
            boost = 3.0 if product is not None and product in shopper.consumables else 1.0
            if product is None and last_viewed is not None:
                # "Goes well with" suggestions work best right after something went in the cart.
                in_cart = last_viewed in cart
                follow = min(0.8, 2 * persona.complement_rate + 0.1) if in_cart else None
                targets = self.complements[self.p_type[last_viewed]]
                if targets and rand() < (follow or persona.complement_rate):
                    product = self._pick(shopper, "t", rng.choice(targets))
                    boost = 2.5 if in_cart else 1.5
            if product is None:
                if i > 0 and rand() < 0.25:
                    # Back to a category listing, now and then a different category.
                    if rand() < 0.5:
                        category = bisect(cat_cumulative, rand() * cat_cumulative[-1])
                        focus_type = None
                    emit("page_view", t, path=self.cat_paths[category])
                    t += math.exp(gauss(2.6, 0.6))
                if focus_type is not None and rand() < 0.55:
                    product = self._pick(shopper, "t", focus_type)
                else:
                    product = self._pick(shopper, "c", category)
            if product is None or self.p_created[product] > t:
                continue
            focus_type = self.p_type[product]
            last_viewed = product
            pk, path = self.p_pk[product], self.p_path[product]
            dwell = min(600.0, max(2.0, math.exp(gauss(3.3, 0.75))))
            emit("product_view", t, pk, path=path)
            if self.p_images[product] > 1 and rand() < 0.25:
                image = {
                    "image": str(rng.randint(2, self.p_images[product])),
                    "trigger": "click" if rand() < 0.4 else "visible",
                }
                emit("image_view", t + dwell * 0.3, pk, image, path)
            if rand() < 0.35:
                # The longer the look, the further down the page (as the tracker measures it).
                depth = 20 + 80 * (1 - math.exp(-dwell / 45)) + gauss(0, 8)
                percent = int(min(100, max(5, depth)))
                emit("scroll_depth", t + dwell * 0.6, pk, {"percent": percent}, path)
            decided = t + dwell * 0.85
            if product not in cart and rand() < self._buy_chance(shopper, product, t) * boost:
                quantity = self._quantity(product)
                cart[product] = [quantity, decided]
                price = str(data.products[product].price)
                emit("add_to_cart", decided, pk, {"quantity": quantity, "price": price}, path)
                if self.consumable[self.p_type[product]] and product not in shopper.consumables:
                    shopper.consumables.append(product)
            elif (
                shopper.user is not None
                and logged_in
                and product not in shopper.wishlist
                and rand() < persona.wishlist_rate * (2 if self.p_sale[product] else 1)
            ):
                shopper.wishlist.add(product)
                data.wishlist.append(WishlistRow(shopper.user, product, decided))
                emit("wishlist_add", decided, pk, path=path)
            if rand() < 0.55:
                emit("dwell", t + dwell, pk, {"seconds": round(dwell, 1)}, path)
            t += dwell + rng.uniform(1.5, 8)

        ordered = False
        if cart and t <= stop_at:
            emit("page_view", t, path=CART_PATH)
            t += math.exp(gauss(2.5, 0.5))
            for product in list(cart):
                # Price-sensitive shoppers drop full-price items on second thoughts more often.
                doubt = 0.25 if persona.price_elasticity < 1 and not self.p_sale[product] else 0.1
                if len(cart) > 1 and rand() < doubt:
                    del cart[product]
                    emit("remove_from_cart", t, self.p_pk[product], path=CART_PATH)
                    t += rng.uniform(2, 10)
            if rand() < persona.checkout_rate:
                if not logged_in and shopper.user is not None and rand() < 0.85:
                    logged_in, user = True, shopper.user
                if logged_in:
                    value = sum(
                        (data.products[p].price * int(q) for p, (q, _) in cart.items()),
                        Decimal("0"),
                    )
                    emit("checkout_start", t, props={"value": str(value)}, path=CHECKOUT_PATH)
                    t += math.exp(gauss(4.2, 0.5))
                    if rand() < persona.purchase_rate:
                        self._order(shopper, cart, t, emit)
                        ordered = True
        if cart:
            data.carts.append(
                CartRow(
                    user=user,
                    visitor=visitor,
                    session_key=_session_key(rng),
                    status="ordered" if ordered else "abandoned",
                    created_at=min(added for _, added in cart.values()),
                    updated_at=t,
                    items=[(p, int(q), added) for p, (q, added) in cart.items()],
                )
            )
        if not events:
            emit("page_view", start, path=HOME_PATH)
        if referrer:
            events[0] = (*events[0][:8], referrer.split("/")[2])
        if logged_in:
            shopper.last_login = start
        data.events.extend(events)
        visitor_row = data.visitors[visitor]
        visitor_row.last_seen = max(visitor_row.last_seen, events[-1][0])
        device_type, browser, os_name = shopper.devices[device]
        data.sessions.append(
            SessionRow(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                visitor=visitor,
                user=user,
                started_at=events[0][0],
                ended_at=events[-1][0],
                landing_path=landing,
                referrer=referrer,
                utm_source=utm[0],
                utm_medium=utm[1],
                utm_campaign=utm[2],
                device_type=device_type,
                browser=browser,
                os=os_name,
                event_count=len(events),
            )
        )
        return events[-1][0]

    def _buy_chance(self, shopper: _Shopper, product: int, at: float) -> float:
        persona = shopper.persona
        if self.p_stock[product] == 0 and at > self.end_ts - 30 * DAY:
            return 0.0
        chance = persona.cart_rate * TIER_MATCH[abs(self.p_tier[product] - shopper.tier)] ** (
            persona.tier_strictness
        )
        if self.p_sale[product]:
            chance *= math.exp(0.6 * persona.sale_affinity)
        chance *= self.p_relprice[product] ** (persona.price_elasticity - 1.0)
        return min(0.95, chance)

    def _quantity(self, product: int) -> int:
        if self.consumable[self.p_type[product]]:
            return self.rng.choices((1, 2, 3), weights=(0.6, 0.3, 0.1))[0]
        return 1 if self.rng.random() < 0.94 else 2

    def _query(self, product: int) -> str:
        rng = self.rng
        row = self.data.products[product]
        noun = self.type_names[self.p_type[product]].lower()
        query = rng.choice(
            (noun, noun, f"{row.brand.lower()} {noun.split()[-1]}", noun.split()[-1])
        )
        if len(query) > 5 and rng.random() < 0.06:
            i = rng.randint(1, len(query) - 2)
            query = query[:i] + query[i + 1 :]
        return query

    def _acquisition(
        self, channel: str, persona: Persona, at: float, category: int
    ) -> tuple[str, tuple[str, str, str]]:
        """(referrer, (utm_source, utm_medium, utm_campaign)) of a session from ``channel``."""
        rng = self.rng
        day = dt.datetime.fromtimestamp(at, dt.UTC)
        if channel == "organic":
            return rng.choice(SEARCH_ENGINES), ("", "", "")
        if channel == "social":
            site = rng.choice(SOCIAL_SITES)
            if rng.random() < 0.5:
                campaign = self.data.categories[category].slug
                return site, (site.split(".")[1], "paid_social", campaign)
            return site, ("", "", "")
        if channel == "referral":
            return rng.choice(REFERRAL_SITES), ("", "", "")
        if channel == "paid":
            campaign = self.data.categories[category].slug
            if _sales_event(day.date()) > 1.2:
                campaign = "seasonal-sale"
            return rng.choice(SEARCH_ENGINES[:2]), ("google", "cpc", campaign)
        if channel == "email":
            year, week, _ = day.isocalendar()
            campaign = f"weekly-{year}-w{week:02d}"
            if persona.sale_affinity > 1 and rng.random() < 0.5:
                campaign = "flash-sale"
            return "", ("newsletter", "email", campaign)
        return "", ("", "", "")

    def _order(self, shopper: _Shopper, cart: dict[int, list[float]], at: float, emit: Any) -> None:
        rng, data = self.rng, self.data
        assert shopper.user is not None
        lines = [(p, int(q), data.products[p].price) for p, (q, _) in cart.items()]
        # The properties the shop's checkout view tracks; the order number is set in _finish().
        properties: dict[str, Any] = {
            "order_id": "",
            "revenue": "",
            "currency": "GBP",
            "lines": [
                {"product_id": self.p_pk[p], "quantity": q, "amount": str(price * q)}
                for p, q, price in lines
            ],
        }
        order = OrderRow("", shopper.user, at, lines, properties)
        properties["revenue"] = str(order.total)
        data.orders.append(order)
        emit("purchase", at, props=properties, path=CHECKOUT_PATH)
        for p, _, _ in lines:
            if p in shopper.reviewed or rng.random() >= shopper.persona.review_rate:
                continue
            written = at + rng.uniform(3, 24) * DAY
            if written >= self.end_ts:
                continue
            shopper.reviewed.add(p)
            data.reviews.append(self._review(shopper, p, written))

    def _review(self, shopper: _Shopper, product: int, at: float) -> ReviewRow:
        rng = self.rng
        assert shopper.user is not None
        # Ratings follow how well the product suits the customer, plus the product's own quality.
        score = math.log(shopper.weights[product]) + shopper.score_max
        affinity = (score - shopper.score_mean) / shopper.score_std
        value = 3.7 + 0.6 * affinity + 0.45 * float(self.quality[product]) + rng.gauss(0, 0.8)
        rating = int(min(5, max(1, round(value))))
        noun = self.type_names[self.p_type[product]].lower()
        title = rng.choice(REVIEW_TITLES[rating]).format(noun=noun)
        body = " ".join(s.format(noun=noun) for s in rng.sample(REVIEW_BODIES[rating], k=2))
        return ReviewRow(product, shopper.user, rating, title, body, round(at))

    # --- wrap-up ------------------------------------------------------------------------------

    def _finish(self) -> None:
        data = self.data
        # Order numbers follow the order of purchase, as a shop's counter would.
        data.orders.sort(key=lambda o: o.created_at)
        for number, order in enumerate(data.orders, start=1):
            order.number = f"D{number:06d}"
            order.purchase_properties["order_id"] = order.number
        data.events.sort(key=lambda e: e[0])
        # The latest unfinished cart of each owner is still open if it is recent enough.
        latest: dict[tuple[str, int], CartRow] = {}
        for cart in data.carts:
            if cart.status == "abandoned":
                owner = ("u", cart.user) if cart.user is not None else ("v", cart.visitor)
                latest[owner] = cart
        for cart in latest.values():
            if cart.updated_at >= self.end_ts - OPEN_CART_DAYS * DAY:
                cart.status = "open"


def _apportion(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), no part empty."""
    if total < len(weights):
        raise ValueError(f"need at least {len(weights)} to give every part one")
    scale = sum(weights)
    quotas = [total * w / scale for w in weights]
    parts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: quotas[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    for i, part in enumerate(parts):
        if part == 0:
            parts[parts.index(max(parts))] -= 1
            parts[i] = 1
    return parts


def _weighted_sample(rng: random.Random, items: range, weights: list[float], k: int) -> list[int]:
    """``k`` distinct items drawn with probability proportional to their weights."""
    chosen: list[int] = []
    pool = list(items)
    pool_weights = list(weights)
    for _ in range(min(k, len(pool))):
        pick = rng.choices(range(len(pool)), weights=pool_weights)[0]
        chosen.append(pool.pop(pick))
        pool_weights.pop(pick)
    return chosen


def _sales_event(day: dt.date) -> float:
    """Extra traffic around Black Friday, before Christmas and in the Boxing Day sales."""
    if day.month == 11:
        # Black Friday is the day after the fourth Thursday of November.
        first = dt.date(day.year, 11, 1)
        black_friday = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 22)
        if abs((day - black_friday).days) <= 3:
            return 2.0
    if day.month == 12:
        if day.day <= 18:
            return 1.3
        if day.day == 25:
            return 0.55
        if day.day in (26, 27):
            return 1.8
    if day.month == 1 and day.day <= 10:
        return 1.2
    return 1.0


def _lognormal(rng: random.Random, mu: float, sigma: float) -> float:
    return math.exp(rng.gauss(mu, sigma))


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _session_key(rng: random.Random) -> str:
    """32 characters of [a-z0-9], like Django's session keys."""
    return f"{rng.getrandbits(128):032x}"
