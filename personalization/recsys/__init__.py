"""Django-free recommendation core: one scikit-learn-like interface for every model.

>>> from personalization import recsys
>>> model = recsys.build("default").fit(interactions)          # doctest: +SKIP
>>> model.recommend(user_id, k=10)                             # doctest: +SKIP

See ``docs/recommendations.md`` for the models, the interface and the offline evaluation.
"""

from .base import (
    FORMAT_VERSION,
    ModelFormatError,
    NotFittedError,
    Recommender,
    load,
)
from .registry import MODELS, PRESETS, available, build, model_class

__all__ = [
    "FORMAT_VERSION",
    "MODELS",
    "PRESETS",
    "ModelFormatError",
    "NotFittedError",
    "Recommender",
    "available",
    "build",
    "load",
    "model_class",
]
