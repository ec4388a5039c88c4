"""System checks of the segmentation pipeline's settings (personalization.E070–E075)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from personalization.checks import check_segmentation_settings


def ids(**settings) -> list[str]:
    with override_settings(PERSONALIZATION=settings):
        return [message.id for message in check_segmentation_settings()]


def test_the_defaults_pass() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"SEGMENTATION_SCALER": "robust"}, "personalization.E070"),
        ({"SEGMENTATION_K_RANGE": (1, 5)}, "personalization.E071"),
        ({"SEGMENTATION_K_RANGE": (6, 4)}, "personalization.E071"),
        ({"SEGMENTATION_K_RANGE": (2.5, 4)}, "personalization.E071"),
        ({"SEGMENTATION_CLIP_QUANTILES": (0.9, 0.1)}, "personalization.E072"),
        ({"SEGMENTATION_CLIP_QUANTILES": 0.99}, "personalization.E072"),
        ({"SEGMENTATION_LIKELY_TO_BUY_THRESHOLD": 1.5}, "personalization.E073"),
        ({"SEGMENTATION_PROPENSITY_SNAPSHOTS": 1}, "personalization.E074"),
        ({"SEGMENTATION_IMPUTER_SAMPLE_SIZE": "1000"}, "personalization.E074"),
        ({"SEGMENTATION_THREADS": 0}, "personalization.E074"),
        ({"SEGMENTATION_LOOKBACK_DAYS": -3}, "personalization.E074"),
        ({"SEGMENTATION_RFM_WINDOWS": {"recent_weeks": 4}}, "personalization.E075"),
        ({"SEGMENTATION_RFM_WINDOWS": {"recent_days": "30"}}, "personalization.E075"),
    ],
)
def test_bad_values_are_reported(settings, expected) -> None:
    assert ids(**settings) == [expected]


def test_none_is_allowed_where_documented() -> None:
    assert ids(SEGMENTATION_THREADS=None, SEGMENTATION_LOOKBACK_DAYS=None) == []
    assert ids(SEGMENTATION_RFM_WINDOWS={"recent_days": 14, "top_spend_share": 0.1}) == []
