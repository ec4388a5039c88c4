"""Settings for the test suite: the demo shop's, made faster and isolated.

With ``DATABASE_URL`` and ``REDIS_URL`` set (the second CI mode) the tests run on PostgreSQL and
Redis, and the tests marked ``services`` go through a real Celery worker process.
"""

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

from demo_shop.settings import *  # noqa: F403
from demo_shop.settings import CACHES, PERSONALIZATION, REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
# WhiteNoise serves static files from the source folders, as under runserver, instead of warning
# in every test that STATIC_ROOT was never collected.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if REDIS_URL:
    # Keep test keys apart from a demo running on the same Redis.
    CACHES["default"]["KEY_PREFIX"] = "p13n-test-" + os.environ.get("PYTEST_XDIST_WORKER", "main")
    # The cache gets the next Redis database: tests that call cache.clear() (FLUSHDB) must not
    # wipe the broker's queues and bindings while a worker is running.
    _redis = urlsplit(REDIS_URL)
    _cache_db = (int(_redis.path.strip("/") or 0) + 1) % 16
    CACHES["default"]["LOCATION"] = urlunsplit(_redis._replace(path=f"/{_cache_db}"))
    # A queue of this test run's own, so that no other worker on the same Redis (a demo's, another
    # run's) takes its tasks. The services fixture starts its worker with CELERY_QUEUE set to it.
    CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE") or f"p13n-test-{uuid.uuid4().hex}"

PERSONALIZATION = {**PERSONALIZATION}
if REDIS_URL:
    # This run's own event list, flushed by this run's worker (it shares the queue's name).
    PERSONALIZATION["EVENT_BUFFER"] = (
        "personalization.tracking.buffer.RedisBuffer",
        {"key": f"{CELERY_TASK_DEFAULT_QUEUE}:events"},
    )
else:
    # No flusher thread: a test writes buffered events when it calls flush_events().
    PERSONALIZATION["EVENT_BUFFER"] = (
        "personalization.tracking.buffer.InProcessBuffer",
        {"background": False},
    )
