"""Django admin for the app, one module per domain (imported here so autodiscover finds them)."""

from . import consent, dedup, privacy, recommendations, segments, serving, tracking

__all__ = [
    "consent",
    "dedup",
    "privacy",
    "recommendations",
    "segments",
    "serving",
    "tracking",
]
