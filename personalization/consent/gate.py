"""The consent gate: the one function every collection or use of personal data asks.

The visitor's choice travels in a first-party cookie (``CONSENT_COOKIE_NAME``, default
``p13n_consent``) whose value is ``"<policy version>:<granted categories joined by '+'>"``, e.g.
``1:analytics+personalization``; ``1:`` records that everything optional was rejected.

* No cookie, or a cookie that cannot be read: nothing is recorded, so only ``necessary`` is allowed
  when ``CONSENT_REQUIRED`` is True (the default) and every category when it is False.
* ``Sec-GPC: 1`` (when ``HONOUR_GPC``) and ``DNT: 1`` (when ``HONOUR_DNT``) withdraw the
  ``OPT_OUT_SIGNAL_CATEGORIES`` whatever the cookie says.
* ``necessary`` is always allowed.

The answer is computed once per request and kept on it. The consent issue extends this module
(policy versions in the database, the consent log); callers only ever use :func:`allowed` and
:func:`tracking_allowed`, so the rules can grow here without touching them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..conf import CONSENT_CATEGORIES, app_settings

NECESSARY = "necessary"
OPTIONAL_CATEGORIES: frozenset[str] = frozenset(CONSENT_CATEGORIES) - {NECESSARY}
# Either of these lets the app record behaviour (analytics measures it, personalization uses it).
TRACKING_CATEGORIES: tuple[str, ...] = ("analytics", "personalization")

_VERSION_RE = re.compile(r"^[0-9]{1,9}$")
_SEPARATORS_RE = re.compile(r"[+ ,]+")
_CACHE_ATTR = "_p13n_consent_granted"


@dataclass(frozen=True)
class ConsentChoice:
    """What a consent cookie records: the policy version and the categories granted."""

    version: int
    categories: frozenset[str]


def parse_consent_cookie(value: str) -> ConsentChoice | None:
    """Read a consent cookie value; ``None`` when it is malformed.

    Percent-encoding (as ``encodeURIComponent`` writes it) is undone. Unknown category names are
    ignored so that a cookie written under a later policy still grants the categories known here.
    """
    version, separator, categories = unquote(value).strip().partition(":")
    if not separator or not _VERSION_RE.match(version):
        return None
    granted = frozenset(_SEPARATORS_RE.split(categories.strip())) & OPTIONAL_CATEGORIES
    return ConsentChoice(version=int(version), categories=granted)


def _opt_out_signalled(request: Any) -> bool:
    meta = request.META
    return (app_settings.HONOUR_GPC and meta.get("HTTP_SEC_GPC", "").strip() == "1") or (
        app_settings.HONOUR_DNT and meta.get("HTTP_DNT", "").strip() == "1"
    )


def granted_categories(request: Any) -> frozenset[str]:
    """Every category this request's visitor allows (always including ``necessary``)."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    raw = request.COOKIES.get(app_settings.CONSENT_COOKIE_NAME)
    choice = parse_consent_cookie(raw) if raw else None
    if choice is not None:
        granted = set(choice.categories)
    elif app_settings.CONSENT_REQUIRED:
        granted = set()
    else:
        granted = set(OPTIONAL_CATEGORIES)
    if _opt_out_signalled(request):
        granted -= set(app_settings.OPT_OUT_SIGNAL_CATEGORIES)
    granted.add(NECESSARY)
    result = frozenset(granted)
    setattr(request, _CACHE_ATTR, result)
    return result


def allowed(request: Any, category: str) -> bool:
    """Whether the visitor behind ``request`` allows ``category`` (one of CONSENT_CATEGORIES)."""
    if category not in CONSENT_CATEGORIES:
        raise ValueError(f"unknown consent category {category!r}; choose from {CONSENT_CATEGORIES}")
    return category in granted_categories(request)


def tracking_allowed(request: Any) -> bool:
    """Whether behaviour may be recorded: ``analytics`` or ``personalization`` is allowed."""
    granted = granted_categories(request)
    return any(category in granted for category in TRACKING_CATEGORIES)
