"""The consent gate: the one function every collection or use of personal data asks.

The visitor's choice travels in a first-party cookie (``CONSENT_COOKIE_NAME``, default
``p13n_consent``) whose value is ``"<policy version>:<granted categories joined by '+'>"``, e.g.
``1:analytics+personalization``; ``1:`` records that everything optional was rejected.

* No cookie, a cookie that cannot be read, or a cookie written under another policy version than
  the current one (:func:`~.policy.current_policy_version`): there is no choice, so only
  ``necessary`` is allowed when ``CONSENT_REQUIRED`` is True (the default) and every category when
  it is False. A new policy version therefore asks everybody again.
* ``Sec-GPC: 1`` (when ``HONOUR_GPC``) and ``DNT: 1`` (when ``HONOUR_DNT``) withdraw the
  ``OPT_OUT_SIGNAL_CATEGORIES`` (``marketing``, which covers the sale and sharing of personal
  information) whatever the cookie says. When a GPC browser's cookie still grants one of them, the
  opt-out is written to the consent log once, by a task (:mod:`.records`).
* ``necessary`` is always allowed.

The answer is computed once per request and kept on it. Callers only ever use :func:`allowed` and
:func:`tracking_allowed`, so the rules can grow here without touching them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from asgiref.sync import sync_to_async

from ..conf import CONSENT_CATEGORIES, app_settings
from .policy import cached_policy_version, current_policy_version

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


def gpc_signalled(request: Any) -> bool:
    """Whether the browser sends ``Sec-GPC: 1`` and HONOUR_GPC is on."""
    return bool(app_settings.HONOUR_GPC) and request.META.get("HTTP_SEC_GPC", "").strip() == "1"


def opt_out_signalled(request: Any) -> bool:
    """Whether the request carries an opt-out signal the settings honour (GPC or DNT)."""
    return gpc_signalled(request) or (
        bool(app_settings.HONOUR_DNT) and request.META.get("HTTP_DNT", "").strip() == "1"
    )


def cookie_choice(request: Any) -> ConsentChoice | None:
    """The choice the consent cookie records, whatever its policy version; None without one."""
    raw = request.COOKIES.get(app_settings.CONSENT_COOKIE_NAME)
    return parse_consent_cookie(raw) if raw else None


def current_choice(request: Any) -> ConsentChoice | None:
    """The cookie's choice if it was made under the current policy version, else None."""
    choice = cookie_choice(request)
    if choice is None or choice.version != current_policy_version():
        return None
    return choice


def granted_categories(request: Any) -> frozenset[str]:
    """Every category this request's visitor allows (always including ``necessary``)."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    choice = current_choice(request)
    if choice is not None:
        granted = set(choice.categories)
    elif app_settings.CONSENT_REQUIRED:
        granted = set()
    else:
        granted = set(OPTIONAL_CATEGORIES)
    if opt_out_signalled(request):
        withdrawn = granted & set(app_settings.OPT_OUT_SIGNAL_CATEGORIES)
        granted -= withdrawn
        if withdrawn and choice is not None and gpc_signalled(request):
            from .records import queue_gpc_record

            queue_gpc_record(request, choice)
    granted.add(NECESSARY)
    result = frozenset(granted)
    setattr(request, _CACHE_ATTR, result)
    return result


def remember_granted(request: Any, granted: frozenset[str]) -> None:
    """Make the gate answer ``granted`` for the rest of this request (a choice just recorded)."""
    setattr(request, _CACHE_ATTR, frozenset(granted) | {NECESSARY})


def allowed(request: Any, category: str) -> bool:
    """Whether the visitor behind ``request`` allows ``category`` (one of CONSENT_CATEGORIES)."""
    if category not in CONSENT_CATEGORIES:
        raise ValueError(f"unknown consent category {category!r}; choose from {CONSENT_CATEGORIES}")
    return category in granted_categories(request)


def tracking_allowed(request: Any) -> bool:
    """Whether behaviour may be recorded: ``analytics`` or ``personalization`` is allowed."""
    granted = granted_categories(request)
    return any(category in granted for category in TRACKING_CATEGORIES)


async def aprepare(request: Any) -> None:
    """Work out the gate's answer for ``request`` in a worker thread when it may need the database
    (policy version not cached) or a task (a GPC opt-out to record); async code (the async path of
    the middleware) calls this first, and the synchronous gate then answers from the request."""
    if getattr(request, _CACHE_ATTR, None) is not None:
        return
    if app_settings.CONSENT_COOKIE_NAME not in request.COOKIES:
        return
    if cached_policy_version() is not None and not gpc_signalled(request):
        return
    await sync_to_async(granted_categories)(request)
