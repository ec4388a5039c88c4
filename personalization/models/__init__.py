"""The app's models, split by domain: ``from personalization.models import Event``."""

from .consent import ConsentCategory, ConsentPolicy, ConsentRecord
from .tracking import Event, IdentityMerge, Session, Visitor

__all__ = [
    "ConsentCategory",
    "ConsentPolicy",
    "ConsentRecord",
    "Event",
    "IdentityMerge",
    "Session",
    "Visitor",
]
