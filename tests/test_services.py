"""The services mode really uses PostgreSQL, Redis and a Celery worker in another process."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection

from personalization.tasks import check_health

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_database_is_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (name,) = cursor.fetchone()
    assert name.startswith("test_")


def test_cache_round_trips_through_redis() -> None:
    from django_redis.cache import RedisCache

    assert isinstance(caches["default"], RedisCache)
    key = f"services-test-{uuid.uuid4().hex}"
    cache.set(key, {"answer": 42}, timeout=60)
    try:
        assert cache.get(key) == {"answer": 42}
        raw = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
        stored_key = cache.make_and_validate_key(key)
        assert raw.exists(stored_key) == 1
        assert 0 < raw.ttl(stored_key) <= 60
    finally:
        cache.delete(key)
    assert cache.get(key) is None


def test_health_task_runs_in_the_worker_process(celery_worker_process: dict[str, str]) -> None:
    result = check_health.delay()
    payload = result.get(timeout=30)
    assert payload["database"] is True
    assert payload["cache"] is True
    assert payload["pid"] != os.getpid()
    assert result.status == "SUCCESS"
