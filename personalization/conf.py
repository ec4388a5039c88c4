"""The one settings object of the app.

Every setting lives in the ``PERSONALIZATION`` dict of the project's settings. Values are read
from ``django.conf.settings`` on each access (never copied at import time), so
``override_settings`` works in tests. Objects built from dotted paths (the store adapter, the
event buffer) are created once and dropped when the ``PERSONALIZATION`` setting changes.

The defaults below are the documented reference; ``docs/settings.md`` explains each one.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # --- store ------------------------------------------------------------------------------
    # Dotted path of the StoreAdapter subclass that reads the store's products and orders.
    "STORE_ADAPTER": "personalization.adapters.EmptyStoreAdapter",
    # --- tracking ---------------------------------------------------------------------------
    "TRACKING_ENABLED": True,
    "VISITOR_COOKIE_NAME": "p13n_vid",
    "VISITOR_COOKIE_AGE": 60 * 60 * 24 * 365,  # seconds
    "SESSION_IDLE_TIMEOUT": 30 * 60,  # seconds of inactivity that end a session
    # Request paths that are never tracked (prefixes). STATIC_URL and MEDIA_URL are added.
    "EXCLUDED_PATH_PREFIXES": ["/admin/", "/personalization/api/", "/favicon.ico", "/robots.txt"],
    # Where events wait before the bulk insert: a dotted path, or (path, kwargs).
    "EVENT_BUFFER": "personalization.tracking.buffer.InProcessBuffer",
    "BUFFER_FLUSH_SIZE": 500,  # a flush task is queued when this many events wait
    "BUFFER_FLUSH_INTERVAL": 5.0,  # seconds between scheduled flushes (Celery beat)
    # Redis lists the RedisBuffer spreads events over (by visitor), each flushed on its own, so
    # that several Celery worker processes write at once. The in-process buffer has one.
    "BUFFER_SHARDS": 4,
    "INGEST_MAX_EVENTS": 500,
    "INGEST_MAX_BATCH_BYTES": 500 * 1024,
    "INGEST_MAX_EVENT_BYTES": 32 * 1024,
    "INGEST_RATE_PER_VISITOR": "600/min",
    "INGEST_RATE_PER_IP": "3000/min",
    "VISITOR_TOKEN_MAX_AGE": 60 * 60 * 24,  # seconds a signed tracker token stays valid
    # --- consent ----------------------------------------------------------------------------
    # When True, nothing but `necessary` is allowed until the visitor has chosen.
    "CONSENT_REQUIRED": True,
    "CONSENT_COOKIE_NAME": "p13n_consent",
    "CONSENT_COOKIE_AGE": 60 * 60 * 24 * 180,
    # Treat `Sec-GPC: 1` and `DNT: 1` as an opt-out of these categories.
    "HONOUR_GPC": True,
    "HONOUR_DNT": True,
    # Marketing covers the sale and sharing of personal information (CCPA/CPRA).
    "OPT_OUT_SIGNAL_CATEGORIES": ["marketing"],
    # Where the visitor's choice comes from: our banner, an IAB TCF v2.2 CMP, or OneTrust.
    "CONSENT_SOURCE": "banner",
    # For "tcf" and "onetrust": which CMP purposes / groups make each of our categories (all of
    # the listed ones must be consented). docs/consent.md has the details.
    "CMP_CATEGORY_MAP": {
        "tcf": {"analytics": [1, 8, 9], "personalization": [1, 5, 6], "marketing": [1, 2, 3, 4, 7]},
        "onetrust": {
            "analytics": ["C0002"],
            "personalization": ["C0003"],
            "marketing": ["C0004"],
        },
    },
    # Recorded consent choices per client IP (POST /personalization/api/consent/).
    "CONSENT_RATE_PER_IP": "60/min",
    # Whether withdrawing a category deletes what was collected under it for that browser.
    "DELETE_ON_WITHDRAWAL": True,
    # Consent records older than this are purged, except each subject's latest (5 years).
    "CONSENT_LOG_RETENTION_DAYS": 1826,
    # --- privacy (docs/privacy.md) ------------------------------------------------------------
    # Key of the keyed HMAC behind pseudonymous_key(); "" derives one from SECRET_KEY.
    "PSEUDONYMISATION_KEY": "",
    # Fernet keys (urlsafe base64, 32 bytes): the first encrypts, all decrypt. [] derives one
    # from SECRET_KEY (and one from each SECRET_KEY_FALLBACKS entry, for decryption only).
    "ENCRYPTION_KEYS": [],
    # Event properties the writer moves out of Event.properties into the encrypted Event.sensitive.
    "SENSITIVE_EVENT_PROPERTIES": ["query", "email", "phone", "address", "name"],
    # Raw events (and sessions) older than this many days are folded into aggregates and purged.
    "EVENT_RETENTION_DAYS": 395,
    # Whether "Delete my data" on the account page also logs the person out.
    "ERASURE_LOGS_OUT": True,
    # --- recommendation training (docs/recommendations.md, "Training pipeline") ----------------
    # The kinds the pipeline trains: a recsys model name or preset, its hyperparameters, the
    # event types it learns from (None: all of RECOMMENDATION_EVENT_WEIGHTS), whether the items a
    # person already has are left out of their list, and which lists are precomputed ("person",
    # "product" or "global").
    "RECOMMENDERS": {
        "default": {"model": "default", "exclude_seen": False, "lists": "person"},
        "buy_again": {"model": "buy_again", "events": ["purchase"], "lists": "person"},
        "similar": {
            "model": "hybrid",
            "params": {
                "components": [
                    ["item_knn", {"n_neighbours": 100}, 1.0],
                    ["content", {}, 0.5],
                ],
                "fallback": "popular",
            },
            "events": ["product_view", "wishlist_add", "add_to_cart"],
            "lists": "product",
        },
        "bought_together": {
            "model": "item_knn",
            "params": {"similarity": "conditional", "shrinkage": 5.0},
            "events": ["purchase", "add_to_cart"],
            "lists": "product",
        },
        "trending": {"model": "popular", "params": {"half_life_days": 7.0}, "lists": "global"},
    },
    # Weight of one interaction of each event type; purchases are the store's order lines.
    "RECOMMENDATION_EVENT_WEIGHTS": {
        "product_view": 1.0,
        "wishlist_add": 2.0,
        "add_to_cart": 3.0,
        "purchase": 5.0,
    },
    # An interaction this many days old counts half (None: no decay).
    "RECOMMENDATION_HALF_LIFE_DAYS": 90.0,
    # Only events and orders of the last this many days are read (None: all).
    "RECOMMENDATION_LOOKBACK_DAYS": 365,
    # EASE (inside "default") learns from the this many most popular items (None: all); its
    # fit grows with the cube of the number of items. The other components see every item.
    "RECOMMENDATION_EASE_MAX_ITEMS": 5000,
    # Length of each precomputed list, and how long (seconds) the lists stay in the cache.
    "RECOMMENDATION_PRECOMPUTE_SIZE": 100,
    "RECOMMENDATION_CACHE_TIMEOUT": 3 * 24 * 60 * 60,
    # Offline metrics on the last this many days, held out (0: no evaluation).
    "RECOMMENDATION_HOLDOUT_DAYS": 14.0,
    # The STORAGES alias that keeps the model artifacts (shared by every process; not public).
    "RECOMMENDATION_ARTIFACT_STORAGE": "default",
    # Versions per kind whose artifacts are kept (the active one included); older are pruned.
    "RECOMMENDATION_KEEP_VERSIONS": 3,
    # Seconds a process trusts its memory of the active versions before asking the database.
    "RECOMMENDATION_ACTIVE_VERSION_TTL": 5.0,
    # --- recommendation serving (docs/recommendations.md, "Serving") ---------------------------
    # Items per widget or API answer when no limit is given, and the largest limit accepted.
    "RECOMMENDATION_DEFAULT_LIMIT": 8,
    "RECOMMENDATION_MAX_LIMIT": 50,
    # Diversity of the lists about a person: at most this many items of one category (None: no
    # cap), and the maximal-marginal-relevance trade-off (None: off; 1 = relevance only).
    "RECOMMENDATION_MAX_PER_CATEGORY": 3,
    "RECOMMENDATION_MMR_LAMBDA": None,
    # Score multipliers per segment slug and condition ("on_sale", "category:<name>",
    # "brand:<name>", "tag:<tag>"), e.g. {"bargain-hunters": {"on_sale": 1.2}}.
    "RECOMMENDATION_SEGMENT_BOOSTS": {},
    # Blending of "for you" with the neighbours of this session's views (and of the cart): the
    # weight of the newest view next to the person's own list (1.0), the decay per older view,
    # and how many views count (0 weight: no blending).
    "RECOMMENDATION_SESSION_WEIGHT": 1.5,
    "RECOMMENDATION_SESSION_DECAY": 0.6,
    "RECOMMENDATION_SESSION_PRODUCTS": 5,
    # Seconds each process keeps the product data behind recommendations (published, stock,
    # title, price) in memory (0: ask the store adapter on every request).
    "RECOMMENDATION_PRODUCT_CACHE_SECONDS": 60,
    # A purchase this many days after a click on the recommended product is attributed to it.
    "RECOMMENDATION_ATTRIBUTION_WINDOW_DAYS": 7,
    # --- live segments and de-duplication (docs/segments.md) --------------------------------
    # Re-evaluate dynamic rule segments for the people of every stored batch of events.
    "SEGMENTS_LIVE_ON_INGEST": True,
    # How far back (days) and how many of a person's newest events a rule context holds.
    "SEGMENT_EVENT_LOOKBACK_DAYS": 30,
    "SEGMENT_MAX_EVENTS": 500,
    # Seconds request.personalization.segments stays cached per person (changes invalidate it).
    "SEGMENT_CACHE_TIMEOUT": 300,
    # Seconds a process keeps the catalogue's product attributes (price percentile, on sale).
    "SEGMENT_PRODUCT_CACHE_SECONDS": 600,
    # Seconds a visitor's cached rule state (recent events, sessions, profile, memberships) is
    # trusted before the flush reads it from the database again (0: always read it).
    "SEGMENT_LIVE_STATE_SECONDS": 3600,
    # Lowest score (0–1) of a customer merge suggestion.
    "DEDUP_THRESHOLD": 0.85,
    # --- segmentation pipeline (docs/segments.md, "The pipeline") ------------------------------
    # Scaler of the cleaning pipeline before KNN imputation and clustering: "standard" | "minmax".
    "SEGMENTATION_SCALER": "standard",
    # Quantiles every numeric feature is clipped to, and the neighbours of the KNNImputer.
    "SEGMENTATION_CLIP_QUANTILES": (0.01, 0.99),
    "SEGMENTATION_IMPUTER_NEIGHBORS": 5,
    # Rows (a seeded sample) the cleaning pipeline is fitted on; every row is then cleaned.
    "SEGMENTATION_IMPUTER_SAMPLE_SIZE": 1_000,
    # Rows (a seeded sample) DBSCAN is fitted on.
    "SEGMENTATION_SAMPLE_SIZE": 20_000,
    # Days of events and sessions read for the features (None: all); orders are always all read.
    "SEGMENTATION_LOOKBACK_DAYS": 365,
    # K-Means tries every k in this range and keeps the best silhouette (fewer than 4 segments
    # tell a merchant little).
    "SEGMENTATION_K_RANGE": (4, 10),
    # DBSCAN's min_samples (eps comes from the knee of the k-distance curve).
    "SEGMENTATION_DBSCAN_MIN_SAMPLES": 10,
    # Seed of every sample and model, so a run is reproducible.
    "SEGMENTATION_RANDOM_STATE": 0,
    # Keyword arguments of segmentation.rfm.RFMWindows ({} keeps the defaults).
    "SEGMENTATION_RFM_WINDOWS": {},
    # Propensity: purchase within this many days, learned from this many past snapshots.
    "SEGMENTATION_PROPENSITY_HORIZON_DAYS": 30,
    "SEGMENTATION_PROPENSITY_SNAPSHOTS": 4,
    # Lowest propensity of the "likely-to-buy" segment.
    "SEGMENTATION_LIKELY_TO_BUY_THRESHOLD": 0.5,
    # Threads of the numeric libraries (OpenMP, BLAS) during a run; None: one per core.
    "SEGMENTATION_THREADS": 1,
}

# Settings whose value is a dotted path (or a (path, kwargs) pair) that is imported when used.
IMPORT_STRINGS: frozenset[str] = frozenset({"STORE_ADAPTER", "EVENT_BUFFER"})

CONSENT_CATEGORIES: tuple[str, ...] = ("necessary", "analytics", "personalization", "marketing")


class PersonalizationSettings:
    """Attribute access to the merged settings: ``app_settings.SESSION_IDLE_TIMEOUT``."""

    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, "PERSONALIZATION", None) or {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown PERSONALIZATION setting: {name!r}")
        return self.user_settings().get(name, DEFAULTS[name])

    def unknown_keys(self) -> list[str]:
        return sorted(set(self.user_settings()) - set(DEFAULTS))


app_settings = PersonalizationSettings()


def split_import_spec(spec: Any) -> tuple[str, dict[str, Any]]:
    """Accept ``"path.Class"`` or ``("path.Class", {kwargs})`` and return ``(path, kwargs)``."""
    if isinstance(spec, str):
        return spec, {}
    if (
        isinstance(spec, list | tuple)
        and len(spec) == 2
        and isinstance(spec[0], str)
        and isinstance(spec[1], dict)
    ):
        return spec[0], dict(spec[1])
    raise TypeError(f"expected a dotted path or a (path, kwargs) pair, got {spec!r}")


@functools.cache
def load_component(setting_name: str) -> Any:
    """Build the object a dotted-path setting names, once per settings value."""
    if setting_name not in IMPORT_STRINGS:
        raise KeyError(setting_name)
    path, kwargs = split_import_spec(getattr(app_settings, setting_name))
    return import_string(path)(**kwargs)


def _reset_components(*, setting: str, **_: Any) -> None:
    if setting == "PERSONALIZATION":
        load_component.cache_clear()


setting_changed.connect(_reset_components)
