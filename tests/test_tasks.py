"""Celery tasks, run in this process (``apply``); tests/test_services.py runs them in a worker."""

from __future__ import annotations

import os
from unittest import mock

import pytest

from personalization.tasks import check_health


@pytest.mark.django_db
def test_check_health_reports_database_and_cache() -> None:
    payload = check_health.apply().get()
    assert payload["database"] is True
    assert payload["cache"] is True
    assert payload["pid"] > 0
    assert payload["hostname"]


@pytest.mark.django_db
def test_check_health_reports_a_failing_cache_instead_of_raising() -> None:
    with mock.patch("personalization.tasks.cache.set", side_effect=ConnectionError("down")):
        payload = check_health()
    assert payload["cache"] is False
    assert payload["database"] is True
    assert payload["pid"] == os.getpid()
