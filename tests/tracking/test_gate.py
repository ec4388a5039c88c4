"""The consent gate: cookie parsing, CONSENT_REQUIRED, and the GPC / DNT opt-out signals."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from personalization import consent
from personalization.consent import ConsentChoice, parse_consent_cookie

# The consent gate reads the current policy version from the database (through a cache).
pytestmark = pytest.mark.django_db

OPTIONAL = ("analytics", "personalization", "marketing")


def request_with(cookie: str | None = None, **headers: str) -> Any:
    request = RequestFactory().get("/", headers=headers)
    if cookie is not None:
        request.COOKIES["p13n_consent"] = cookie
    return request


def granted(request: Any) -> set[str]:
    return {c for c in ("necessary", *OPTIONAL) if consent.allowed(request, c)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "1:analytics+personalization",
            ConsentChoice(1, frozenset({"analytics", "personalization"})),
        ),
        ("1:", ConsentChoice(1, frozenset())),
        ("2:marketing", ConsentChoice(2, frozenset({"marketing"}))),
        # As encodeURIComponent writes it.
        ("1%3Aanalytics%2Bmarketing", ConsentChoice(1, frozenset({"analytics", "marketing"}))),
        # A later policy's category is ignored, the known ones still count.
        ("3:analytics+future", ConsentChoice(3, frozenset({"analytics"}))),
        # "necessary" is not something a cookie grants; it is always allowed.
        ("1:necessary", ConsentChoice(1, frozenset())),
    ],
)
def test_parse_reads_version_and_categories(value: str, expected: ConsentChoice) -> None:
    assert parse_consent_cookie(value) == expected


@pytest.mark.parametrize(
    "value", ["", "analytics", ":analytics", "x:analytics", "1.0:analytics", "-1:analytics", "１:"]
)
def test_parse_rejects_malformed_values(value: str) -> None:
    assert parse_consent_cookie(value) is None


def test_without_a_cookie_only_necessary_is_allowed() -> None:
    request = request_with()
    assert granted(request) == {"necessary"}
    assert consent.tracking_allowed(request) is False


def test_granted_categories_are_allowed_and_others_are_not() -> None:
    request = request_with("1:analytics")
    assert granted(request) == {"necessary", "analytics"}
    assert consent.tracking_allowed(request) is True


def test_personalization_alone_allows_tracking() -> None:
    assert consent.tracking_allowed(request_with("1:personalization")) is True


def test_marketing_alone_does_not_allow_tracking() -> None:
    assert consent.tracking_allowed(request_with("1:marketing")) is False


def test_rejecting_everything_leaves_necessary() -> None:
    request = request_with("1:")
    assert granted(request) == {"necessary"}
    assert consent.tracking_allowed(request) is False


def test_a_malformed_cookie_is_no_consent() -> None:
    request = request_with("analytics+personalization")
    assert granted(request) == {"necessary"}
    assert consent.tracking_allowed(request) is False


def test_without_required_consent_everything_is_allowed_until_rejected(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_REQUIRED": False}
    assert granted(request_with()) == {"necessary", *OPTIONAL}
    assert granted(request_with("garbage")) == {"necessary", *OPTIONAL}
    # An explicit choice still wins.
    assert granted(request_with("1:")) == {"necessary"}
    assert granted(request_with("1:analytics")) == {"necessary", "analytics"}


@pytest.mark.parametrize("header", [{"Sec-GPC": "1"}, {"DNT": "1"}])
def test_opt_out_signals_withdraw_marketing(header: dict[str, str]) -> None:
    request = request_with("1:analytics+personalization+marketing", **header)
    assert granted(request) == {"necessary", "analytics", "personalization"}


def test_signals_with_other_values_withdraw_nothing() -> None:
    request = request_with("1:marketing", **{"Sec-GPC": "0", "DNT": "0"})
    assert consent.allowed(request, "marketing") is True


@pytest.mark.parametrize(("header", "setting"), [("Sec-GPC", "HONOUR_GPC"), ("DNT", "HONOUR_DNT")])
def test_signals_can_be_ignored(settings: Any, header: str, setting: str) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, setting: False}
    assert consent.allowed(request_with("1:marketing", **{header: "1"}), "marketing") is True


def test_opt_out_categories_are_configurable(settings: Any) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "CONSENT_REQUIRED": False,
        "OPT_OUT_SIGNAL_CATEGORIES": ["analytics", "personalization", "marketing"],
    }
    request = request_with(**{"Sec-GPC": "1"})
    assert granted(request) == {"necessary"}
    assert consent.tracking_allowed(request) is False


def test_the_cookie_name_is_configurable(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_COOKIE_NAME": "choice"}
    request = RequestFactory().get("/")
    request.COOKIES["choice"] = "1:analytics"
    assert consent.tracking_allowed(request) is True


def test_the_answer_is_worked_out_once_per_request() -> None:
    request = request_with("1:analytics")
    assert consent.allowed(request, "analytics") is True
    request.COOKIES["p13n_consent"] = "1:"
    assert consent.allowed(request, "analytics") is True
    assert consent.allowed(request_with("1:"), "analytics") is False


def test_an_unknown_category_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown consent category"):
        consent.allowed(request_with(), "analytic")
