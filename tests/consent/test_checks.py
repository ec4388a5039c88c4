"""System checks of the consent settings (ids personalization.E030 to E034)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from personalization.checks import check_consent_settings


def ids(**overrides: Any) -> list[str]:
    with override_settings(PERSONALIZATION=overrides):
        return [message.id for message in check_consent_settings()]


def test_the_defaults_pass() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"CONSENT_LOG_RETENTION_DAYS": 0}, "personalization.E030"),
        ({"CONSENT_LOG_RETENTION_DAYS": "365"}, "personalization.E030"),
        ({"DELETE_ON_WITHDRAWAL": "yes"}, "personalization.E031"),
        ({"CONSENT_SOURCE": "cookiebot"}, "personalization.E032"),
        ({"CONSENT_RATE_PER_IP": "lots"}, "personalization.E034"),
        ({"CONSENT_SOURCE": "tcf", "CMP_CATEGORY_MAP": {}}, "personalization.E033"),
        (
            {"CONSENT_SOURCE": "tcf", "CMP_CATEGORY_MAP": {"tcf": {"analytics": ["1"]}}},
            "personalization.E033",
        ),
        (
            {"CONSENT_SOURCE": "onetrust", "CMP_CATEGORY_MAP": {"onetrust": {"ads": ["C0004"]}}},
            "personalization.E033",
        ),
        (
            {"CONSENT_SOURCE": "onetrust", "CMP_CATEGORY_MAP": {"onetrust": {"marketing": []}}},
            "personalization.E033",
        ),
    ],
)
def test_bad_values_are_reported(overrides: dict[str, Any], expected: str) -> None:
    assert ids(**overrides) == [expected]


@pytest.mark.parametrize("source", ["tcf", "onetrust"])
def test_the_default_cmp_maps_pass(source: str) -> None:
    assert ids(CONSENT_SOURCE=source) == []


def test_a_partial_cmp_map_passes() -> None:
    mapping = {"tcf": {"analytics": [1, 9]}}
    assert ids(CONSENT_SOURCE="tcf", CMP_CATEGORY_MAP=mapping) == []


def test_the_csrf_middleware_is_needed(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "csrf" not in m]
    assert ids() == ["personalization.W030"]
