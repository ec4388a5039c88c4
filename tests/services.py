"""Pytest plugin for the tests marked ``services``: a real Celery worker in a subprocess.

The worker runs the demo shop's Celery app with the test settings, against pytest-django's test
database and the same Redis as the tests, and consumes only this run's own queue
(``CELERY_TASK_DEFAULT_QUEUE`` of ``tests.settings``). Tests that use it must also use
``transactional_db``: the worker is another process and sees committed rows only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_START_TIMEOUT = 60.0  # seconds; Django set-up, checks and app imports on a busy machine
WORKER_STOP_TIMEOUT = 15.0


def database_url_for(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(name)))


def _require_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        problem = str(exc)
    else:
        return
    finally:
        client.close()
    pytest.fail(f"REDIS_URL={url} is set but Redis does not answer: {problem}", pytrace=False)


def _log_tail(path: Path, limit: int = 8000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-limit:] or "(the worker wrote nothing)"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # SIGTERM is Celery's warm shutdown: the current task finishes, then the worker exits.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(WORKER_STOP_TIMEOUT)


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, django_db_blocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Start a Celery worker on the test database and this run's queue; stop it at the end.

    Yields ``{"node": ..., "queue": ..., "log": ...}``. Fails (never skips) when the services
    are not configured or the worker does not answer a ping in time; the failure shows the
    worker's log.
    """
    from django.conf import settings
    from django.db import connection

    from demo_shop.celery import app

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not (database_url and redis_url):
        pytest.fail("The services tests need both DATABASE_URL and REDIS_URL.", pytrace=False)
    _require_redis(redis_url)

    with django_db_blocker.unblock():
        # After django_db_setup the connection points at the test database (test_<name>).
        test_database = connection.settings_dict["NAME"]
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    node = f"p13n-test-{uuid.uuid4().hex[:12]}@localhost"
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for(database_url, test_database),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "demo_shop",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        queue,
        "-n",
        node,
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(app, process, node, log_path)
        yield {"node": node, "queue": queue, "log": str(log_path)}
    finally:
        # Stopped before django_db_setup tears down: PostgreSQL refuses to drop a database that
        # the worker is still connected to.
        _stop(process)
        _delete_queue(app, queue)


def _delete_queue(app, queue: str) -> None:
    """Remove this run's queue and its bindings from Redis, where they would otherwise stay."""
    with app.connection_for_write() as conn:
        bound = app.amqp.queues[queue](conn.default_channel)
        bound.declare()  # the channel deletes only the bindings it knows of
        bound.delete()


def _wait_until_ready(app, process: subprocess.Popen, node: str, log_path: Path) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"The Celery worker exited with code {process.returncode} before it answered.\n"
                f"--- worker log ---\n{_log_tail(log_path)}",
                pytrace=False,
            )
        if app.control.ping(destination=[node], timeout=1.0):
            return
    pytest.fail(
        f"The Celery worker {node} did not answer a ping within {WORKER_START_TIMEOUT:.0f}s.\n"
        f"--- worker log ---\n{_log_tail(log_path)}",
        pytrace=False,
    )
