"""System checks for the ``PERSONALIZATION`` settings (ids ``personalization.E0xx`` / ``W0xx``).

Wrong values are reported by ``manage.py check`` (and at ``runserver``/``migrate``) with a hint,
rather than as a traceback at the first request.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

from .conf import CONSENT_CATEGORIES, DEFAULTS, app_settings, split_import_spec

POSITIVE_INTS = (
    "VISITOR_COOKIE_AGE",
    "SESSION_IDLE_TIMEOUT",
    "BUFFER_FLUSH_SIZE",
    "BUFFER_SHARDS",
    "INGEST_MAX_EVENTS",
    "INGEST_MAX_BATCH_BYTES",
    "INGEST_MAX_EVENT_BYTES",
    "VISITOR_TOKEN_MAX_AGE",
    "CONSENT_COOKIE_AGE",
    "EVENT_RETENTION_DAYS",
)
POSITIVE_NUMBERS = ("BUFFER_FLUSH_INTERVAL",)
BOOLEANS = (
    "TRACKING_ENABLED",
    "CONSENT_REQUIRED",
    "HONOUR_GPC",
    "HONOUR_DNT",
    "ERASURE_LOGS_OUT",
)
COOKIE_NAMES = ("VISITOR_COOKIE_NAME", "CONSENT_COOKIE_NAME")
RATES = ("INGEST_RATE_PER_VISITOR", "INGEST_RATE_PER_IP")
RATE_RE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")
COOKIE_RE = re.compile(r"^[A-Za-z0-9_\-]+$")

# (setting, base class, check id, an example value for the hint) of each pluggable component.
COMPONENTS = (
    (
        "STORE_ADAPTER",
        "personalization.adapters.StoreAdapter",
        "personalization.E001",
        "myshop.personalization.ShopAdapter",
    ),
    (
        "EVENT_BUFFER",
        "personalization.tracking.buffer.EventBuffer",
        "personalization.E002",
        "personalization.tracking.buffer.RedisBuffer",
    ),
)


def _error(setting: str, value: Any, why: str, hint: str, id: str) -> Error:
    return Error(
        f"PERSONALIZATION[{setting!r}] = {value!r}: {why}", hint=hint, id=id, obj="PERSONALIZATION"
    )


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    messages: list = []
    user = app_settings.user_settings()
    if not isinstance(user, dict):
        return [
            Error(
                "settings.PERSONALIZATION must be a dict.",
                hint="Set PERSONALIZATION = {...} with the keys documented in docs/settings.md.",
                id="personalization.E010",
            )
        ]
    for key in app_settings.unknown_keys():
        messages.append(
            Warning(
                f"PERSONALIZATION has an unknown key {key!r}; it is ignored.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="personalization.W001",
            )
        )
    for name in POSITIVE_INTS:
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            messages.append(
                _error(
                    name,
                    value,
                    "must be a positive whole number.",
                    f"The default is {DEFAULTS[name]!r}.",
                    "personalization.E003",
                )
            )
    for name in POSITIVE_NUMBERS:
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            messages.append(
                _error(
                    name,
                    value,
                    "must be a positive number.",
                    f"The default is {DEFAULTS[name]!r}.",
                    "personalization.E003",
                )
            )
    for name in BOOLEANS:
        value = getattr(app_settings, name)
        if not isinstance(value, bool):
            messages.append(
                _error(
                    name,
                    value,
                    "must be True or False.",
                    f"The default is {DEFAULTS[name]!r}.",
                    "personalization.E004",
                )
            )
    for name in COOKIE_NAMES:
        value = getattr(app_settings, name)
        if not isinstance(value, str) or not COOKIE_RE.match(value):
            messages.append(
                _error(
                    name,
                    value,
                    "is not a valid cookie name.",
                    "Use letters, digits, '_' and '-' only.",
                    "personalization.E005",
                )
            )
    for name in RATES:
        value = getattr(app_settings, name)
        if not isinstance(value, str) or not RATE_RE.match(value):
            messages.append(
                _error(
                    name,
                    value,
                    "is not a rate.",
                    "Write it as '<number>/<s|min|hour|day>'.",
                    "personalization.E006",
                )
            )
    prefixes = app_settings.EXCLUDED_PATH_PREFIXES
    if not isinstance(prefixes, list | tuple) or not all(
        isinstance(p, str) and p.startswith("/") for p in prefixes
    ):
        messages.append(
            _error(
                "EXCLUDED_PATH_PREFIXES",
                prefixes,
                "must be a list of paths starting with '/'.",
                "For example ['/admin/', '/checkout/'].",
                "personalization.E007",
            )
        )
    categories = app_settings.OPT_OUT_SIGNAL_CATEGORIES
    if not isinstance(categories, list | tuple) or not set(categories) <= set(
        CONSENT_CATEGORIES[1:]
    ):
        messages.append(
            _error(
                "OPT_OUT_SIGNAL_CATEGORIES",
                categories,
                "must list consent categories other than 'necessary'.",
                f"Choose from {list(CONSENT_CATEGORIES[1:])}.",
                "personalization.E008",
            )
        )
    messages.extend(_check_privacy())
    messages.extend(_check_components())
    return messages


def _check_privacy() -> list:
    from .privacy.crypto import invalid_encryption_keys

    messages: list = []
    key = app_settings.PSEUDONYMISATION_KEY
    if not isinstance(key, str):
        messages.append(
            _error(
                "PSEUDONYMISATION_KEY",
                "<hidden>",
                "must be a string.",
                "Give a long random string, or '' to derive the key from SECRET_KEY.",
                "personalization.E020",
            )
        )
    problem = invalid_encryption_keys(app_settings.ENCRYPTION_KEYS)
    if problem:
        messages.append(
            _error(
                "ENCRYPTION_KEYS",
                "<hidden>",
                problem,
                "List Fernet keys made by cryptography.fernet.Fernet.generate_key(), the newest "
                "first; or [] to derive one from SECRET_KEY.",
                "personalization.E021",
            )
        )
    names = app_settings.SENSITIVE_EVENT_PROPERTIES
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) and n for n in names):
        messages.append(
            _error(
                "SENSITIVE_EVENT_PROPERTIES",
                names,
                "must be a list of property names.",
                f"The default is {DEFAULTS['SENSITIVE_EVENT_PROPERTIES']!r}.",
                "personalization.E022",
            )
        )
    return messages


def _check_components() -> list:
    messages: list = []
    for name, base_path, error_id, example in COMPONENTS:
        spec = getattr(app_settings, name)
        base = import_string(base_path)
        try:
            path, _kwargs = split_import_spec(spec)
            cls = import_string(path)
        except (ImportError, TypeError, ValueError) as exc:
            messages.append(
                _error(
                    name,
                    spec,
                    f"cannot be imported ({exc}).",
                    f"Give the dotted path of a class, e.g. {example!r}, or a (path, kwargs) pair.",
                    error_id,
                )
            )
            continue
        if not (isinstance(cls, type) and issubclass(cls, base)):
            messages.append(
                _error(
                    name,
                    spec,
                    f"is not a subclass of {base_path}.",
                    f"Subclass {base_path} and implement its abstract methods.",
                    error_id,
                )
            )
        elif getattr(cls, "__abstractmethods__", None):
            missing = ", ".join(sorted(cls.__abstractmethods__))
            messages.append(
                _error(
                    name,
                    spec,
                    f"does not implement {missing}.",
                    f"Implement the abstract methods of {base_path}.",
                    error_id,
                )
            )
    if DEFAULTS["STORE_ADAPTER"] == app_settings.STORE_ADAPTER:
        messages.append(
            Warning(
                "No store adapter is configured: the app sees no products and no orders.",
                hint="Write a StoreAdapter for your store (docs/adapter.md) and name it in "
                "PERSONALIZATION['STORE_ADAPTER'].",
                id="personalization.W002",
            )
        )
    return messages


CONSENT_SOURCES = ("banner", "tcf", "onetrust")
CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


@register()
def check_consent_settings(app_configs: Any = None, **kwargs: Any) -> list:
    """The consent banner and CMP settings (ids ``personalization.E03x`` / ``W03x``)."""
    from django.conf import settings

    if not isinstance(app_settings.user_settings(), dict):
        return []  # reported by check_settings (E010)
    messages: list = []
    days = app_settings.CONSENT_LOG_RETENTION_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        messages.append(
            _error(
                "CONSENT_LOG_RETENTION_DAYS",
                days,
                "must be a positive whole number.",
                f"The default is {DEFAULTS['CONSENT_LOG_RETENTION_DAYS']!r} (five years).",
                "personalization.E030",
            )
        )
    if not isinstance(app_settings.DELETE_ON_WITHDRAWAL, bool):
        messages.append(
            _error(
                "DELETE_ON_WITHDRAWAL",
                app_settings.DELETE_ON_WITHDRAWAL,
                "must be True or False.",
                "The default is True.",
                "personalization.E031",
            )
        )
    rate = app_settings.CONSENT_RATE_PER_IP
    if not isinstance(rate, str) or not RATE_RE.match(rate):
        messages.append(
            _error(
                "CONSENT_RATE_PER_IP",
                rate,
                "is not a rate.",
                "Write it as '<number>/<s|min|hour|day>'.",
                "personalization.E034",
            )
        )
    if CSRF_MIDDLEWARE not in getattr(settings, "MIDDLEWARE", []):
        messages.append(
            Warning(
                "The consent API needs Django's CSRF middleware: without it consent.js cannot "
                "record a choice.",
                hint=f"Add {CSRF_MIDDLEWARE!r} to MIDDLEWARE.",
                id="personalization.W030",
            )
        )
    source = app_settings.CONSENT_SOURCE
    if source not in CONSENT_SOURCES:
        messages.append(
            _error(
                "CONSENT_SOURCE",
                source,
                "is not a known consent source.",
                f"Choose from {list(CONSENT_SOURCES)}.",
                "personalization.E032",
            )
        )
    elif source != "banner":
        problem = _cmp_map_problem(app_settings.CMP_CATEGORY_MAP, source)
        if problem:
            messages.append(
                _error(
                    "CMP_CATEGORY_MAP",
                    app_settings.CMP_CATEGORY_MAP,
                    problem,
                    "Map each optional category to a list of TCF purpose numbers ('tcf') or "
                    "OneTrust group ids ('onetrust'); see docs/consent.md.",
                    "personalization.E033",
                )
            )
    return messages


def _cmp_map_problem(mapping: Any, source: str) -> str:
    if not isinstance(mapping, dict) or not isinstance(mapping.get(source), dict):
        return f"needs a dict under the key {source!r} (CONSENT_SOURCE)."
    optional = set(CONSENT_CATEGORIES[1:])
    item_type = int if source == "tcf" else str
    for category, ids in mapping[source].items():
        if category not in optional:
            return f"{category!r} is not an optional consent category."
        if (
            not isinstance(ids, list | tuple)
            or not ids
            or not all(isinstance(i, item_type) and not isinstance(i, bool) for i in ids)
        ):
            return f"the {category!r} entry must be a non-empty list of {item_type.__name__}s."
    return ""


# --- recommendation training (docs/recommendations.md, "Training pipeline") -------------------

RECOMMENDATION_LIST_TYPES = ("person", "product", "global")
# (setting, smallest value allowed, whether None is allowed)
RECOMMENDATION_NUMBERS = (
    ("RECOMMENDATION_HALF_LIFE_DAYS", 0, True),
    ("RECOMMENDATION_LOOKBACK_DAYS", 0, True),
    ("RECOMMENDATION_EASE_MAX_ITEMS", 1, True),
    ("RECOMMENDATION_PRECOMPUTE_SIZE", 1, False),
    ("RECOMMENDATION_CACHE_TIMEOUT", 1, False),
    ("RECOMMENDATION_HOLDOUT_DAYS", 0, False),
    ("RECOMMENDATION_KEEP_VERSIONS", 1, False),
    ("RECOMMENDATION_ACTIVE_VERSION_TTL", 0, False),
)


@register()
def check_recommendation_settings(app_configs: Any = None, **kwargs: Any) -> list:
    """The training settings' shapes (the model names are checked when training runs: the
    registry lives in the ML core, which web processes need not import)."""
    if not isinstance(app_settings.user_settings(), dict):
        return []  # reported by check_settings (E010)
    messages: list = []
    weights = app_settings.RECOMMENDATION_EVENT_WEIGHTS
    if (
        not isinstance(weights, dict)
        or not weights
        or not all(
            isinstance(name, str)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and value >= 0
            for name, value in weights.items()
        )
    ):
        messages.append(
            _error(
                "RECOMMENDATION_EVENT_WEIGHTS",
                weights,
                "must be a non-empty dict of event name -> weight (a number, 0 or more).",
                'For example {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}.',
                "personalization.E050",
            )
        )
        weights = {}
    problem = _recommenders_problem(app_settings.RECOMMENDERS, weights)
    if problem:
        messages.append(
            _error(
                "RECOMMENDERS",
                app_settings.RECOMMENDERS,
                problem,
                "Each kind maps to {'model': <recsys name>, 'params': {...}, 'events': [...], "
                "'exclude_seen': bool, 'lists': 'person' | 'product' | 'global'}; see "
                "docs/settings.md.",
                "personalization.E051",
            )
        )
    for name, lowest, none_allowed in RECOMMENDATION_NUMBERS:
        value = getattr(app_settings, name)
        if value is None and none_allowed:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or value < lowest or (lowest == 0 and none_allowed and value == 0):
            least = "more than 0" if lowest == 0 and none_allowed else f"at least {lowest}"
            messages.append(
                _error(
                    name,
                    value,
                    f"must be a number, {least}" + (" (or None)." if none_allowed else "."),
                    f"The default is {DEFAULTS[name]!r}.",
                    "personalization.E052",
                )
            )
    from django.conf import settings

    storage = app_settings.RECOMMENDATION_ARTIFACT_STORAGE
    aliases = set(getattr(settings, "STORAGES", {}) or {}) | {"default", "staticfiles"}
    if storage not in aliases:
        messages.append(
            _error(
                "RECOMMENDATION_ARTIFACT_STORAGE",
                storage,
                "is not an alias of STORAGES.",
                "Name a storage of settings.STORAGES that every process reaches and that is "
                "not served publicly.",
                "personalization.E053",
            )
        )
    return messages


def _recommenders_problem(recommenders: Any, weights: dict) -> str:
    if not isinstance(recommenders, dict) or not recommenders:
        return "must be a non-empty dict of kind -> configuration."
    for kind, entry in recommenders.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            return f"the kind {kind!r} needs a dict with a 'model' name."
        if not isinstance(entry.get("params", {}), dict):
            return f"the 'params' of {kind!r} must be a dict."
        if entry.get("lists", "person") not in RECOMMENDATION_LIST_TYPES:
            return f"the 'lists' of {kind!r} must be one of {RECOMMENDATION_LIST_TYPES}."
        events = entry.get("events")
        if events is not None:
            if not isinstance(events, list | tuple) or not events:
                return f"the 'events' of {kind!r} must be a non-empty list (or absent: all)."
            unweighted = [name for name in events if name not in weights]
            if weights and unweighted:
                return (
                    f"{kind!r} learns from {unweighted}, which RECOMMENDATION_EVENT_WEIGHTS "
                    "does not weigh."
                )
    return ""


@register()
def check_recommendation_serving_settings(app_configs: Any = None, **kwargs: Any) -> list:
    """The serving settings (docs/recommendations.md, "Serving"): limits, diversity, boosts."""
    if not isinstance(app_settings.user_settings(), dict):
        return []  # reported by check_settings (E010)
    messages: list = []

    def whole(name: str, none_allowed: bool = False) -> bool:
        value = getattr(app_settings, name)
        if value is None and none_allowed:
            return True
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    for name, none_allowed in (
        ("RECOMMENDATION_DEFAULT_LIMIT", False),
        ("RECOMMENDATION_MAX_LIMIT", False),
        ("RECOMMENDATION_MAX_PER_CATEGORY", True),
        ("RECOMMENDATION_SESSION_PRODUCTS", False),
    ):
        if not whole(name, none_allowed):
            messages.append(
                _error(
                    name,
                    getattr(app_settings, name),
                    "must be a whole number, at least 1" + (" (or None)." if none_allowed else "."),
                    f"The default is {DEFAULTS[name]!r}.",
                    "personalization.E060",
                )
            )
    for name, low, high in (
        ("RECOMMENDATION_MMR_LAMBDA", 0.0, 1.0),
        ("RECOMMENDATION_SESSION_DECAY", 0.0, 1.0),
        ("RECOMMENDATION_SESSION_WEIGHT", 0.0, None),
        ("RECOMMENDATION_PRODUCT_CACHE_SECONDS", 0.0, None),
        ("RECOMMENDATION_ATTRIBUTION_WINDOW_DAYS", 0.0, None),
    ):
        value = getattr(app_settings, name)
        if value is None and name == "RECOMMENDATION_MMR_LAMBDA":
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            messages.append(
                _error(
                    name,
                    value,
                    f"must be a number {bounds}.",
                    f"The default is {DEFAULTS[name]!r}.",
                    "personalization.E061",
                )
            )
    boosts = app_settings.RECOMMENDATION_SEGMENT_BOOSTS
    valid = isinstance(boosts, dict) and all(
        isinstance(slug, str)
        and isinstance(factors, dict)
        and all(
            isinstance(condition, str)
            and isinstance(factor, int | float)
            and not isinstance(factor, bool)
            and factor > 0
            for condition, factor in factors.items()
        )
        for slug, factors in boosts.items()
    )
    if not valid:
        messages.append(
            _error(
                "RECOMMENDATION_SEGMENT_BOOSTS",
                boosts,
                "must map segment slugs to {condition: factor} dicts with factors above 0.",
                'For example {"bargain-hunters": {"on_sale": 1.2, "category:Toys": 1.1}}.',
                "personalization.E062",
            )
        )
    limits_ok = whole("RECOMMENDATION_DEFAULT_LIMIT") and whole("RECOMMENDATION_MAX_LIMIT")
    if (
        limits_ok
        and app_settings.RECOMMENDATION_DEFAULT_LIMIT > app_settings.RECOMMENDATION_MAX_LIMIT
    ):
        messages.append(
            _error(
                "RECOMMENDATION_DEFAULT_LIMIT",
                app_settings.RECOMMENDATION_DEFAULT_LIMIT,
                "is above RECOMMENDATION_MAX_LIMIT.",
                "Raise RECOMMENDATION_MAX_LIMIT or lower the default.",
                "personalization.E063",
            )
        )
    return messages


# Segmentation pipeline: (setting, lowest value, None allowed).
SEGMENTATION_WHOLE_NUMBERS = (
    ("SEGMENTATION_IMPUTER_NEIGHBORS", 1, False),
    ("SEGMENTATION_IMPUTER_SAMPLE_SIZE", 1, False),
    ("SEGMENTATION_SAMPLE_SIZE", 1, False),
    ("SEGMENTATION_DBSCAN_MIN_SAMPLES", 1, False),
    ("SEGMENTATION_RANDOM_STATE", 0, False),
    ("SEGMENTATION_PROPENSITY_HORIZON_DAYS", 1, False),
    # The propensity model is tested on the latest snapshot and trained on the earlier ones.
    ("SEGMENTATION_PROPENSITY_SNAPSHOTS", 2, False),
    ("SEGMENTATION_THREADS", 1, True),
)
SEGMENTATION_RFM_WINDOW_NAMES = frozenset(
    {"recent_days", "frequent_days", "frequent_more_than", "top_spend_days", "top_spend_share"}
)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pair(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(map(_number, value))


@register()
def check_segmentation_settings(app_configs: Any = None, **kwargs: Any) -> list:
    """The segmentation pipeline's settings, checked without importing its ML core."""
    if not isinstance(app_settings.user_settings(), dict):
        return []  # reported by check_settings (E010)
    messages: list = []
    scaler = app_settings.SEGMENTATION_SCALER
    if scaler not in ("standard", "minmax"):
        messages.append(
            _error(
                "SEGMENTATION_SCALER",
                scaler,
                'must be "standard" or "minmax".',
                "StandardScaler or MinMaxScaler before the KNN imputation and the clustering.",
                "personalization.E070",
            )
        )
    k_range = app_settings.SEGMENTATION_K_RANGE
    if not (
        _pair(k_range)
        and all(isinstance(k, int) for k in k_range)
        and 2 <= k_range[0] <= k_range[1]
    ):
        messages.append(
            _error(
                "SEGMENTATION_K_RANGE",
                k_range,
                "must be (low, high): whole numbers with 2 <= low <= high.",
                "For example (4, 10).",
                "personalization.E071",
            )
        )
    quantiles = app_settings.SEGMENTATION_CLIP_QUANTILES
    if not (_pair(quantiles) and 0 <= quantiles[0] < quantiles[1] <= 1):
        messages.append(
            _error(
                "SEGMENTATION_CLIP_QUANTILES",
                quantiles,
                "must be (low, high) with 0 <= low < high <= 1.",
                "For example (0.01, 0.99); (0, 1) clips nothing.",
                "personalization.E072",
            )
        )
    threshold = app_settings.SEGMENTATION_LIKELY_TO_BUY_THRESHOLD
    if not (_number(threshold) and 0 <= threshold <= 1):
        messages.append(
            _error(
                "SEGMENTATION_LIKELY_TO_BUY_THRESHOLD",
                threshold,
                "must be a probability between 0 and 1.",
                "The default is 0.5.",
                "personalization.E073",
            )
        )
    for name, lowest, none_allowed in SEGMENTATION_WHOLE_NUMBERS:
        value = getattr(app_settings, name)
        if value is None and none_allowed:
            continue
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= lowest):
            messages.append(
                _error(
                    name,
                    value,
                    f"must be a whole number, at least {lowest}"
                    + (" (or None)." if none_allowed else "."),
                    f"The default is {DEFAULTS[name]!r}.",
                    "personalization.E074",
                )
            )
    lookback = app_settings.SEGMENTATION_LOOKBACK_DAYS
    if lookback is not None and not (_number(lookback) and lookback > 0):
        messages.append(
            _error(
                "SEGMENTATION_LOOKBACK_DAYS",
                lookback,
                "must be a number of days above 0, or None (all events).",
                "The default is 365.",
                "personalization.E074",
            )
        )
    windows = app_settings.SEGMENTATION_RFM_WINDOWS
    if not (
        isinstance(windows, dict)
        and set(windows) <= SEGMENTATION_RFM_WINDOW_NAMES
        and all(_number(value) and value >= 0 for value in windows.values())
    ):
        messages.append(
            _error(
                "SEGMENTATION_RFM_WINDOWS",
                windows,
                "must be a dict of RFMWindows arguments with numbers as values.",
                "Keys: " + ", ".join(sorted(SEGMENTATION_RFM_WINDOW_NAMES)) + ".",
                "personalization.E075",
            )
        )
    return messages
