"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

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


@pytest.fixture(autouse=True)
def eager_tasks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Queued tasks run in the test's own process and transaction, as in the embedded mode.

    In the services mode a task queued by a test without a worker would otherwise wait in the
    broker and run later, during another test, in the worker. Tests that use the real worker
    (the ``celery_worker_process`` fixture) keep the broker.
    """
    if "celery_worker_process" in request.fixturenames:
        yield
        return
    from celery import current_app

    conf = current_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager = conf.task_eager_propagates = True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def flushes_not_asked_for() -> None:
    """Each test starts with no flush asked for by this process (the per-process debounce)."""
    from personalization.tracking import buffer

    buffer._asked_until.clear()
