"""The app's models, split by domain: ``from personalization.models import Event``."""

from .consent import ConsentCategory, ConsentPolicy, ConsentRecord
from .dedup import CustomerMerge, MergeSuggestion
from .privacy import DailyActivity, DataSubjectRequest, ProductDailyActivity
from .recommendations import RecommenderVersion, TrainingRun
from .segments import (
    Cluster,
    Profile,
    Segment,
    SegmentationRun,
    SegmentMembership,
    SegmentSize,
)
from .serving import (
    NotInterested,
    Placement,
    RecommendationClick,
    RecommendationConversion,
    RecommendationImpression,
)
from .tracking import Event, IdentityMerge, Session, Visitor

__all__ = [
    "CustomerMerge",
    "MergeSuggestion",
    "NotInterested",
    "Placement",
    "RecommendationClick",
    "RecommendationConversion",
    "RecommendationImpression",
    "Cluster",
    "Profile",
    "Segment",
    "SegmentationRun",
    "SegmentMembership",
    "SegmentSize",
    "ConsentCategory",
    "ConsentPolicy",
    "ConsentRecord",
    "DailyActivity",
    "DataSubjectRequest",
    "Event",
    "IdentityMerge",
    "ProductDailyActivity",
    "RecommenderVersion",
    "Session",
    "TrainingRun",
    "Visitor",
]
