"""Django admin for the app, one module per domain (imported here so autodiscover finds them)."""

from . import consent, privacy, recommendations, serving, tracking

__all__ = ["consent", "privacy", "recommendations", "serving", "tracking"]
