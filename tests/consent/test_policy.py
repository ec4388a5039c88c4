"""Policy versions: the current one, its cache, and the gate's treatment of older choices."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import timezone

from personalization import consent
from personalization.consent.policy import (
    VERSION_CACHE_KEY,
    banner_categories,
    cached_policy_version,
    current_policy_version,
)
from personalization.models import ConsentCategory, ConsentPolicy

pytestmark = pytest.mark.django_db


def request_with(cookie: str | None = None, **headers: str) -> Any:
    request = RequestFactory().get("/", headers=headers)
    if cookie is not None:
        request.COOKIES["p13n_consent"] = cookie
    return request


def test_the_installed_policy_is_version_1() -> None:
    assert ConsentPolicy.objects.filter(version=1).exists()
    assert current_policy_version() == 1


def test_without_any_policy_version_1_is_current() -> None:
    ConsentPolicy.objects.all().delete()
    assert current_policy_version() == 1


def test_the_newest_published_policy_is_current_and_cached(
    django_assert_num_queries: Any,
) -> None:
    ConsentPolicy.objects.create(version=2)
    assert current_policy_version() == 2
    with django_assert_num_queries(0):
        assert current_policy_version() == 2
    assert cached_policy_version() == 2


def test_saving_or_deleting_a_policy_clears_the_cache() -> None:
    assert current_policy_version() == 1
    policy = ConsentPolicy.objects.create(version=3)
    assert cached_policy_version() is None
    assert current_policy_version() == 3
    policy.delete()
    assert current_policy_version() == 1


@pytest.fixture
def cache_timeouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The timeouts with which the policy version is cached."""
    from personalization.consent import policy as policy_module

    timeouts: list[int] = []
    real_set = policy_module.cache.set

    def spy(key: str, value: Any, timeout: int) -> None:
        if key == VERSION_CACHE_KEY:
            timeouts.append(timeout)
        real_set(key, value, timeout)

    monkeypatch.setattr(policy_module.cache, "set", spy)
    return timeouts


def test_a_policy_published_later_becomes_current_when_its_time_comes(
    monkeypatch: pytest.MonkeyPatch, cache_timeouts: list[int]
) -> None:
    from personalization.consent import policy as policy_module

    later = timezone.now() + dt.timedelta(hours=1)
    ConsentPolicy.objects.create(version=2, published_at=later)
    assert current_policy_version() == 1
    assert cache_timeouts == [policy_module.CACHE_TIMEOUT]
    monkeypatch.setattr(policy_module.timezone, "now", lambda: later + dt.timedelta(seconds=1))
    policy_module.clear_policy_cache()
    assert current_policy_version() == 2


def test_the_cache_of_a_soon_published_policy_expires_at_publication(
    cache_timeouts: list[int],
) -> None:
    ConsentPolicy.objects.create(version=2, published_at=timezone.now() + dt.timedelta(seconds=30))
    assert current_policy_version() == 1
    assert 1 <= cache_timeouts[0] <= 31


def test_a_choice_under_an_older_version_counts_as_no_choice() -> None:
    ConsentPolicy.objects.create(version=2)
    old = request_with("1:analytics+personalization+marketing")
    assert not consent.allowed(old, "analytics")
    assert not consent.tracking_allowed(old)
    assert consent.allowed(old, "necessary")
    current = request_with("2:analytics")
    assert consent.allowed(current, "analytics")
    assert not consent.allowed(current, "marketing")


def test_an_old_choice_without_required_consent_allows_everything(settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_REQUIRED": False}
    ConsentPolicy.objects.create(version=2)
    assert consent.allowed(request_with("1:"), "marketing")
    assert not consent.allowed(request_with("2:"), "marketing")


def test_the_opt_out_signals_still_apply_to_a_current_choice() -> None:
    request = request_with("1:analytics+marketing", **{"Sec-GPC": "1"})
    assert consent.allowed(request, "analytics")
    assert not consent.allowed(request, "marketing")
    assert not consent.allowed(request_with("1:marketing", DNT="1"), "marketing")


def test_banner_categories_follow_the_merchants_order_with_necessary_first() -> None:
    ConsentCategory.objects.filter(slug="marketing").update(order=0, name="Ads")
    ConsentCategory.objects.filter(slug="necessary").update(order=9)
    categories = banner_categories()
    assert [c.slug for c in categories] == [
        "necessary",
        "marketing",
        "analytics",
        "personalization",
    ]
    assert categories[1].name == "Ads"
    assert categories[0].necessary and not categories[1].necessary


def test_banner_categories_are_cached_and_cleared_when_the_merchant_edits(
    django_assert_num_queries: Any,
) -> None:
    banner_categories()
    with django_assert_num_queries(0):
        banner_categories()
    category = ConsentCategory.objects.get(slug="analytics")
    category.description = "We count visits."
    category.save()
    assert next(c for c in banner_categories() if c.slug == "analytics").description == (
        "We count visits."
    )


def test_a_missing_category_row_is_shown_with_its_installed_wording() -> None:
    ConsentCategory.objects.all().delete()
    categories = banner_categories()
    assert [c.slug for c in categories] == [
        "necessary",
        "analytics",
        "personalization",
        "marketing",
    ]
    assert categories[3].name == "Marketing"
    assert "sale or sharing" in categories[3].description


def test_installed_wording_is_translated_and_edited_wording_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from personalization.consent import policy as policy_module

    monkeypatch.setattr(policy_module, "_", lambda text: f"«{text}»")
    ConsentCategory.objects.filter(slug="analytics").update(name="Statistics")
    categories = {c.slug: c for c in banner_categories()}
    assert categories["analytics"].name == "Statistics"
    assert categories["marketing"].name == "«Marketing»"
    assert categories["marketing"].description.startswith("«Lets us use")
