"""Consent: the gate every collection path calls, policy versions and the consent log.

Export and erasure live in :mod:`personalization.privacy`.
"""

from .gate import (
    TRACKING_CATEGORIES,
    ConsentChoice,
    allowed,
    aprepare,
    granted_categories,
    parse_consent_cookie,
    tracking_allowed,
)

__all__ = [
    "TRACKING_CATEGORIES",
    "ConsentChoice",
    "allowed",
    "aprepare",
    "granted_categories",
    "parse_consent_cookie",
    "tracking_allowed",
]
