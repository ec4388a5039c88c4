"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest

# The Celery worker fixture of the tests marked ``services``; the Playwright browser fixtures.
pytest_plugins = ["tests.services", "tests.playwright_fixtures"]

SERVICES_CONFIGURED = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``services`` run only when DATABASE_URL and REDIS_URL are set.

    They are deselected (not skipped) in the embedded mode; with the URLs set, an unreachable
    service makes them fail.
    """
    if SERVICES_CONFIGURED:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("services") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
