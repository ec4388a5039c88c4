"""Consent: the gate every collection path calls (records, export and erasure come later)."""

from .gate import (
    TRACKING_CATEGORIES,
    ConsentChoice,
    allowed,
    granted_categories,
    parse_consent_cookie,
    tracking_allowed,
)

__all__ = [
    "TRACKING_CATEGORIES",
    "ConsentChoice",
    "allowed",
    "granted_categories",
    "parse_consent_cookie",
    "tracking_allowed",
]
