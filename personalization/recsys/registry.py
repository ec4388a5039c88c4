"""Model names → classes, and named configurations such as ``default``."""

from __future__ import annotations

from typing import Any

from .base import Recommender
from .buy_again import BuyAgainRecommender
from .content import ContentRecommender
from .ease import EASERecommender
from .hybrid import HybridRecommender
from .item_knn import ItemKNNRecommender
from .popular import PopularRecommender
from .surprise_models import KNNBaselineRecommender, SVDRecommender

MODELS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        PopularRecommender,
        ItemKNNRecommender,
        EASERecommender,
        SVDRecommender,
        KNNBaselineRecommender,
        ContentRecommender,
        BuyAgainRecommender,
        HybridRecommender,
    )
}

#: Named configurations: a model name and its hyperparameters. ``default`` is the best
#: "recommended for you" configuration found offline (docs/recommendations.md).
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": (
        "hybrid",
        {
            "components": [
                ["ease", {"l2": 600.0}, 1.0],
                ["buy_again", {}, 4.0],
            ],
            "fallback": "popular",
        },
    ),
}


def model_class(name: str) -> type[Recommender]:
    """The class registered under ``name``."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown recommender {name!r}; known: {', '.join(available())}") from None


def available() -> list[str]:
    """Every name :func:`build` accepts."""
    return sorted([*MODELS, *PRESETS])


def build(name: str, **params: Any) -> Recommender:
    """A new, unfitted model: a registered model or a preset, ``params`` overriding its own."""
    if name in PRESETS:
        model_name, preset = PRESETS[name]
        return model_class(model_name)(**{**preset, **params})
    return model_class(name)(**params)
