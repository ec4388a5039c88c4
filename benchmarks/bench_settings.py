"""Settings of the benchmarks: the demo shop's, with the limits a load test would hit raised.

The ingest rate limits are raised (the throttles still run, and still cost their cache round
trips), and on Redis the cache keys, the Celery queue and the event list carry a prefix of their
own (``P13N_BENCH_PREFIX``), so a benchmark neither disturbs nor counts anything of a demo or a
test run on the same Redis. Everything else, consent included, is the demo shop's.
"""

import os

from demo_shop.settings import *  # noqa: F403
from demo_shop.settings import CACHES, PERSONALIZATION, REDIS_URL

BENCH_PREFIX = os.environ.get("P13N_BENCH_PREFIX", "p13n-bench")

PERSONALIZATION = {
    **PERSONALIZATION,
    # Per second, so the throttles' histories stay as short as under a real site's limits.
    "INGEST_RATE_PER_VISITOR": "100000/s",
    "INGEST_RATE_PER_IP": "100000/s",
}
if os.environ.get("P13N_BENCH_LIVE_SEGMENTS") == "0":
    # benchmarks/ingest.py --no-live-segments: the flush does not re-evaluate dynamic segments.
    PERSONALIZATION["SEGMENTS_LIVE_ON_INGEST"] = False
if os.environ.get("P13N_BENCH_FLUSH_SIZE"):
    # Events per flush batch (and per write transaction); benchmarks/ingest.py --flush-size.
    PERSONALIZATION["BUFFER_FLUSH_SIZE"] = int(os.environ["P13N_BENCH_FLUSH_SIZE"])
if REDIS_URL:
    CACHES["default"]["KEY_PREFIX"] = BENCH_PREFIX
    CELERY_TASK_DEFAULT_QUEUE = BENCH_PREFIX
    PERSONALIZATION["EVENT_BUFFER"] = (
        "personalization.tracking.buffer.RedisBuffer",
        {"key": f"{BENCH_PREFIX}:events"},
    )

# Task results (unprefixed keys) leave Redis a minute after the run rather than a day.
CELERY_RESULT_EXPIRES = 60

# Static files from the source folders, as in the tests: a benchmark runs no collectstatic.
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"personalization": {"handlers": ["console"], "level": "WARNING"}},
}
