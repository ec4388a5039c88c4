"""Fixtures of the demo shop tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # The category menu and the home page's best sellers are cached; each test starts afresh.
    cache.clear()
