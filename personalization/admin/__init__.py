"""Django admin for the app, one module per domain (imported here so autodiscover finds them)."""

from . import consent, privacy, recommendations, tracking

__all__ = ["consent", "privacy", "recommendations", "tracking"]
