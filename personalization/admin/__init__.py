"""Django admin for the app, one module per domain (imported here so autodiscover finds them)."""

from . import consent, privacy, tracking

__all__ = ["consent", "privacy", "tracking"]
