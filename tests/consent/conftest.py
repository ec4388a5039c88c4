"""Fixtures of the consent tests: fresh consent caches, no rate limit unless a test sets one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from personalization.consent.policy import clear_categories_cache, clear_policy_cache

CONSENT_URL = "/personalization/api/consent/"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def consent_caches(settings: Any) -> Iterator[None]:
    """The policy version and categories are cached across requests, and a test's rolled-back
    policies must not leak into the next test through the cache."""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "CONSENT_RATE_PER_IP": "10000/min"}
    clear_policy_cache()
    clear_categories_cache()
    yield
    clear_policy_cache()
    clear_categories_cache()
