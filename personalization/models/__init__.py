"""The app's models, split by domain: ``from personalization.models import Event``."""

from .tracking import Event, IdentityMerge, Session, Visitor

__all__ = ["Event", "IdentityMerge", "Session", "Visitor"]
