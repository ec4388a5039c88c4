"""Django admin for the app, one module per domain (imported here so autodiscover finds them)."""

from . import privacy, tracking

__all__ = ["privacy", "tracking"]
