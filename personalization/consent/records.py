"""Recording a consent choice: the consent log, the consent cookie, the visitor, withdrawals.

:func:`record_choice` is what the consent API and the preferences pages call. The log keeps only
what proves the choice without identifying more than needed: the visitor id (and the user when
signed in), the policy version, the categories granted and denied, how the choice was made, an
IPv4 /24 or IPv6 /48 network (never the whole address) and a keyed hash of the user agent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.crypto import salted_hmac

from ..conf import CONSENT_CATEGORIES, app_settings
from ..models.consent import ConsentRecord
from ..models.tracking import Visitor
from ..tracking.context import PersonalizationContext
from .gate import (
    OPTIONAL_CATEGORIES,
    ConsentChoice,
    cookie_choice,
    granted_categories,
    opt_out_signalled,
    remember_granted,
)
from .policy import current_policy_version

logger = logging.getLogger(__name__)

UA_HASH_SALT = "personalization.consent.user-agent"
# Methods a browser or an API client may claim; "gpc" and "admin" are recorded by the server.
CLIENT_METHODS = ("banner", "api", "cmp")


def ordered(categories: Iterable[str]) -> list[str]:
    """Optional categories in the canonical order of CONSENT_CATEGORIES."""
    wanted = set(categories)
    return [c for c in CONSENT_CATEGORIES if c in wanted and c in OPTIONAL_CATEGORIES]


def cookie_value(version: int, granted: Iterable[str]) -> str:
    """The consent cookie's value: ``"<version>:<categories joined by '+'>"``."""
    return f"{version}:{'+'.join(ordered(granted))}"


def ip_prefix(address: str) -> str:
    """The network of ``address``: ``/24`` for IPv4, ``/48`` for IPv6; "" when it is no address.

    An IPv4 address mapped into IPv6 (``::ffff:203.0.113.9``) is treated as IPv4.
    """
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def user_agent_hash(user_agent: str) -> str:
    """A keyed hash (HMAC-SHA256 with a key derived from SECRET_KEY) of the user agent, or ""."""
    if not user_agent:
        return ""
    return salted_hmac(UA_HASH_SALT, user_agent, algorithm="sha256").hexdigest()


def request_evidence(request: Any) -> dict[str, str]:
    """The record's ``ip_prefix`` and ``ua_hash`` for this request (REMOTE_ADDR is the client:
    behind a proxy, let the proxy set it)."""
    return {
        "ip_prefix": ip_prefix(request.META.get("REMOTE_ADDR", "")),
        "ua_hash": user_agent_hash(request.META.get("HTTP_USER_AGENT", "")),
    }


def _user(request: Any) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _context(request: Any) -> PersonalizationContext:
    context = getattr(request, "personalization", None)
    if context is None:
        context = request.personalization = PersonalizationContext(request)
    return context


@dataclass(frozen=True)
class RecordedChoice:
    """The outcome of :func:`record_choice`."""

    record: ConsentRecord
    granted: frozenset[str]
    withdrawn: frozenset[str]
    vid: str | None


def record_choice(
    request: Any, response: Any, granted: Iterable[str], method: str
) -> RecordedChoice:
    """Record the visitor's choice under the current policy and answer with the consent cookie.

    ``granted`` lists the optional categories the visitor accepts (``necessary`` and unknown names
    are ignored; callers validate first). The opt-out signals (GPC, DNT) the settings honour take
    their categories out whatever was asked. Then, in this order:

    * the gate answers the new choice for the rest of the request, so the tracking middleware
      gives a new visitor id (cookie ``p13n_vid``) when tracking is now allowed, and deletes the
      visitor cookie when it no longer is;
    * a visitor row is made when tracking is allowed (the record points at it);
    * a :class:`~personalization.models.ConsentRecord` is appended and the consent cookie set;
    * categories granted before and not now are withdrawn: with ``DELETE_ON_WITHDRAWAL`` a task
      (queued after the transaction commits) asks
      :func:`personalization.privacy.erase_visitor_data` to delete what was collected for this
      browser under the categories it now denies.
    """
    version = current_policy_version()
    before = (granted_categories(request) | _cookie_categories(request)) & OPTIONAL_CATEGORIES
    effective = frozenset(ordered(granted))
    if opt_out_signalled(request):
        effective -= set(app_settings.OPT_OUT_SIGNAL_CATEGORIES)
    context = _context(request)
    old_vid = context.cookie_vid
    remember_granted(request, effective)
    context.consent_changed()
    vid = context.vid  # None unless tracking is allowed now
    user = _user(request)
    visitor = None
    if vid is not None:
        visitor, _created = Visitor.objects.get_or_create(vid=vid, defaults={"user": user})
    elif old_vid is not None:
        visitor = Visitor.objects.filter(vid=old_vid).first()
    record = ConsentRecord.objects.create(
        visitor=visitor,
        vid=vid or old_vid or "",
        user=user,
        policy_version=version,
        granted=ordered(effective),
        denied=ordered(OPTIONAL_CATEGORIES - effective),
        method=method,
        **request_evidence(request),
    )
    response.set_cookie(
        app_settings.CONSENT_COOKIE_NAME,
        cookie_value(version, effective),
        max_age=app_settings.CONSENT_COOKIE_AGE,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=False,  # tracker.js and consent.js read it
    )
    withdrawn = frozenset(before - effective)
    if withdrawn and old_vid is not None and app_settings.DELETE_ON_WITHDRAWAL:
        # Every category now denied, not only those just withdrawn: the erasure of behaviour
        # depends on both tracking categories being off.
        _queue_erasure(old_vid, ordered(OPTIONAL_CATEGORIES - effective))
    return RecordedChoice(record=record, granted=effective, withdrawn=withdrawn, vid=vid)


def _cookie_categories(request: Any) -> frozenset[str]:
    # Categories granted under an earlier policy version were used to collect data too.
    choice = cookie_choice(request)
    return choice.categories if choice is not None else frozenset()


def _queue_erasure(vid: str, categories: list[str]) -> None:
    # The erasure writes the buffered events first, so it reaches those captured just before.
    from ..tasks import erase_visitor_data

    def queue() -> None:
        erase_visitor_data.delay(vid, categories)

    transaction.on_commit(queue, robust=True)


def queue_gpc_record(request: Any, choice: ConsentChoice) -> None:
    """Log, once, that a GPC signal overrides a consent that still grants opt-out categories.

    Runs inside the gate, so it only checks a cache key and queues a task; the task writes the
    record (and does nothing when the subject's latest record already says the same).
    """
    evidence = request_evidence(request)
    vid = _context(request).cookie_vid or ""
    granted = ordered(choice.categories - set(app_settings.OPT_OUT_SIGNAL_CATEGORIES))
    fingerprint = "|".join(
        [vid, str(choice.version), "+".join(granted), evidence["ip_prefix"], evidence["ua_hash"]]
    )
    key = "p13n:consent:gpc:" + hashlib.sha256(fingerprint.encode()).hexdigest()
    if not cache.add(key, 1, app_settings.CONSENT_COOKIE_AGE):
        return
    user = _user(request)
    from .tasks import record_gpc_opt_out

    try:
        record_gpc_opt_out.delay(
            vid=vid,
            user_id=user.pk if user is not None else None,
            policy_version=choice.version,
            granted=granted,
            **evidence,
        )
    except Exception:
        cache.delete(key)
        logger.exception("Could not queue the GPC consent record")
