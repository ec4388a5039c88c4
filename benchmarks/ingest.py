"""Ingest throughput: batches posted to the demo shop served by gunicorn on PostgreSQL and Redis.

Sets everything up and tears it down again (always, even on failure or Ctrl-C):

1. (re)creates the benchmark database (``--database-url``, default ``p13n_bench``) and migrates it;
2. starts gunicorn (``demo_shop.wsgi``, DEBUG off, ``benchmarks.bench_settings``: the demo's
   settings with raised ingest rate limits and Redis keys of the benchmark's own) and a Celery
   worker (``--celery-concurrency`` processes, which flush different shards of the buffer at
   once) with an embedded beat that runs ``personalization.flush_events``, as in production;
3. gets a token per simulated visitor from ``GET /personalization/api/token/`` with a consent
   cookie, builds the batches (realistic events: page and product views, clicks, cart, dwell,
   scroll, search; UUID event ids, client timestamps, URLs with UTM parameters), posts a warm-up,
   then posts the batches from ``--concurrency`` threads and counts the events the API accepted
   (202 answers);
4. polls the ``Event`` table until every accepted event is stored, and prints events/s
   ACCEPTED (accepted events / time from the first post to the last answer) and STORED (rows /
   time from the first post to the moment the last row was seen), with the CPU time each part
   used: the load generator shares the machine's cores with the servers.

Run from the repository root::

    .venv/bin/python benchmarks/ingest.py              # 200,000 events, batches of 500
    .venv/bin/python benchmarks/ingest.py --events 50000 --workers 2 --concurrency 4
    .venv/bin/python benchmarks/ingest.py --no-live-segments   # no segment evaluation in flushes
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from browsers import USER_AGENTS  # benchmarks/ is sys.path[0] when run as a script

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_MODULE = "benchmarks.bench_settings"
TARGET = 10_000  # events/s, stored
CONSENT_COOKIE = "p13n_consent=1:analytics+personalization"
TOKEN_PATH = "/personalization/api/token/"
EVENTS_PATH = "/personalization/api/events/"
# (name, about a product, weight): roughly what tracker.js sends on a shop's pages.
EVENT_MIX = [
    ("product_click", True, 20),
    ("image_view", True, 15),
    ("dwell", False, 20),
    ("scroll_depth", False, 20),
    ("add_to_cart", True, 8),
    ("wishlist_add", True, 3),
    ("search", False, 6),
    ("page_view", False, 8),
]
START_TIMEOUT = 60.0  # seconds for gunicorn and the worker to come up on a busy machine
STOP_TIMEOUT = 20.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/p13n_bench",
        help="PostgreSQL database to DROP and recreate for the run (default %(default)s)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/12",
        help="Redis for the cache, the buffer and Celery; only keys under the benchmark's prefix "
        "are written and removed (default %(default)s)",
    )
    parser.add_argument("--events", type=int, default=200_000, help="events to post (timed)")
    parser.add_argument("--batch", type=int, default=500, help="events per request")
    parser.add_argument("--concurrency", type=int, default=4, help="posting threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument(
        "--celery-concurrency",
        type=int,
        default=2,
        help="Celery worker processes: flushes of different buffer shards run in parallel",
    )
    parser.add_argument("--visitors", type=int, default=200, help="simulated visitors (tokens)")
    parser.add_argument(
        "--no-live-segments",
        dest="live_segments",
        action="store_false",
        help="PERSONALIZATION['SEGMENTS_LIVE_ON_INGEST'] = False: the flush stores events "
        "without re-evaluating the dynamic segments of their people (the app's default is True)",
    )
    parser.add_argument(
        "--flush-size",
        type=int,
        default=0,
        help="PERSONALIZATION['BUFFER_FLUSH_SIZE'] for the run (default: the app's, 500)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=300.0,
        help="seconds to wait after the last post for the rows to be stored",
    )
    return parser.parse_args()


# --- services --------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"--database-url must name a plain database, not {name!r}")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def clear_redis(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for binding in ("_kombu.binding.", "_kombu.binding_permanent."):
            keys += list(client.scan_iter(match=f"{binding}{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def service_env(args: argparse.Namespace, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        DEBUG="0",
        P13N_BENCH_PREFIX=prefix,
        P13N_BENCH_FLUSH_SIZE=str(args.flush_size or ""),
        P13N_BENCH_LIVE_SEGMENTS="1" if args.live_segments else "0",
        PYTHONPATH=str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        # A session of its own, so that stopping it reaches every process it forked.
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # SIGTERM: gunicorn's graceful stop, Celery's warm shutdown.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)


def log_tail(path: Path, limit: int = 4000) -> str:
    return path.read_text(errors="replace")[-limit:] if path.exists() else ""


@contextmanager
def services(args: argparse.Namespace, workdir: Path) -> Iterator[dict[str, subprocess.Popen]]:
    """Fresh database and Redis keys, gunicorn and a Celery worker; all removed afterwards."""
    prefix = f"p13n-bench-{uuid.uuid4().hex[:8]}"
    env = service_env(args, prefix)
    python = sys.executable
    processes: dict[str, subprocess.Popen] = {}
    recreate_database(args.database_url)
    try:
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO_ROOT, env=env, check=True,
        )  # fmt: skip
        gunicorn = [python, "-m", "gunicorn", "demo_shop.wsgi:application"]
        gunicorn += ["--bind", f"127.0.0.1:{args.port}", "--workers", str(args.workers)]
        if args.threads > 1:
            gunicorn += ["--worker-class", "gthread", "--threads", str(args.threads)]
        processes["gunicorn"] = start(gunicorn, env, workdir / "gunicorn.log")
        celery = [python, "-m", "celery", "-A", "demo_shop", "worker", "--beat"]
        celery += [
            "--schedule",
            str(workdir / "beat-schedule"),
            "--concurrency",
            str(args.celery_concurrency),
        ]
        celery += ["--queues", prefix, "--loglevel", "WARNING", "--without-mingle"]
        celery += ["--without-gossip"]
        processes["celery"] = start(celery, env, workdir / "celery.log")
        wait_until_serving(args.port, processes, workdir)
        yield processes
    finally:
        for process in processes.values():
            stop(process)
        clear_redis(args.redis_url, prefix)
        drop_database(args.database_url)


def wait_until_serving(port: int, processes: dict[str, subprocess.Popen], workdir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited:\n{log_tail(workdir / f'{name}.log')}")
        with suppress(OSError):
            status, _body, _headers = request(port, "GET", "/", None, {})
            if status < 500:
                return
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer in time:\n{log_tail(workdir / 'gunicorn.log')}")


# --- HTTP ------------------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes, http.client.HTTPMessage]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        if own:
            conn.close()


@dataclass
class Visitor:
    token: str
    user_agent: str


def get_visitors(port: int, count: int, rng: random.Random) -> list[Visitor]:
    visitors = []
    for _ in range(count):
        ua = rng.choice(USER_AGENTS)
        status, body, _headers = request(
            port, "GET", TOKEN_PATH, None, {"Cookie": CONSENT_COOKIE, "User-Agent": ua}
        )
        if status != 200:
            raise SystemExit(f"GET {TOKEN_PATH} answered {status}: {body[:300]!r}")
        visitors.append(Visitor(json.loads(body)["token"], ua))
    return visitors


def make_event(rng: random.Random, now_ms: int) -> dict:
    name, about_product, _weight = rng.choices(EVENT_MIX, weights=[m[2] for m in EVENT_MIX])[0]
    product = str(rng.randint(1, 1000))
    event: dict = {
        "event_id": str(uuid.uuid4()),
        "name": name,
        "timestamp": now_ms - rng.randint(0, 60_000),
        "url": f"https://shop.example/products/p-{product}/"
        + (
            "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
            if rng.random() < 0.2
            else ""
        ),
        "referrer": rng.choice(["", "https://www.google.com/", "https://shop.example/"]),
    }
    if about_product:
        event["product_id"] = product
    if name == "add_to_cart":
        event["properties"] = {"quantity": rng.randint(1, 3)}
    elif name == "dwell":
        event["properties"] = {"seconds": rng.randint(1, 120)}
    elif name == "scroll_depth":
        event["properties"] = {"percent": rng.choice([25, 50, 75, 100])}
    elif name == "search":
        event["properties"] = {"query": rng.choice(["shoes", "red dress", "lamp", "mug"])}
    elif name == "product_click":
        event["properties"] = {"list": rng.choice(["related", "search", "category"])}
    elif name == "image_view":
        event["properties"] = {"image": "front", "trigger": rng.choice(["click", "visible"])}
    return event


@dataclass
class Batch:
    body: bytes
    headers: dict[str, str]
    events: int


def make_batches(
    visitors: list[Visitor], events: int, size: int, rng: random.Random
) -> list[Batch]:
    now_ms = int(time.time() * 1000)
    batches = []
    for start_index in range(0, events, size):
        n = min(size, events - start_index)
        visitor = visitors[len(batches) % len(visitors)]
        payload = {
            "token": visitor.token,
            "source": "js",
            "events": [make_event(rng, now_ms) for _ in range(n)],
        }
        headers = {
            "Content-Type": "application/json",
            "Cookie": CONSENT_COOKIE,
            "User-Agent": visitor.user_agent,
        }
        batches.append(Batch(json.dumps(payload).encode(), headers, n))
    return batches


@dataclass
class PostResult:
    accepted: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def post_all(port: int, batches: list[Batch], concurrency: int) -> PostResult:
    """Post every batch from ``concurrency`` threads, each with a connection of its own."""
    todo: queue.SimpleQueue[Batch] = queue.SimpleQueue()
    for batch in batches:
        todo.put(batch)
    result = PostResult()
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while True:
                try:
                    batch = todo.get_nowait()
                except queue.Empty:
                    return
                began = time.perf_counter()
                try:
                    status, body, _headers = request(
                        port, "POST", EVENTS_PATH, batch.body, batch.headers, conn
                    )
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    with lock:
                        result.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                took = time.perf_counter() - began
                with lock:
                    result.requests += 1
                    result.latencies.append(took)
                    if status == 202:
                        result.accepted += json.loads(body)["accepted"]
                    else:
                        result.failures.append(f"HTTP {status}: {body[:200]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


# --- measuring -------------------------------------------------------------------------------


def table_state(conn: Any) -> tuple[int, int]:
    """(rows, highest id) of the event table."""
    return conn.execute(
        "SELECT count(*), coalesce(max(id), 0) FROM personalization_event"
    ).fetchone()


def wait_for_rows(
    conn: Any,
    base: tuple[int, int],
    new: int,
    timeout: float,
) -> tuple[int, float]:
    """Poll until ``new`` rows more than ``base`` exist; return (new rows, perf_counter then).

    The highest id (an index lookup) is polled every 50 ms; the rows are counted (a scan, too
    costly to repeat that often) only when the highest id says they could all be there.
    """
    deadline = time.perf_counter() + timeout
    rows, top = base
    while True:
        now = time.perf_counter()
        if top - base[1] >= new:
            rows, top = table_state(conn)
            if rows - base[0] >= new:
                return rows - base[0], now
        if now > deadline:
            return table_state(conn)[0] - base[0], now
        time.sleep(0.05)
        top = conn.execute("SELECT coalesce(max(id), 0) FROM personalization_event").fetchone()[0]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# PostgreSQL's own processes, whose work (WAL, checkpoints, vacuum) the benchmark's writes cause.
POSTGRES_AUXILIARY = ("walwriter", "checkpointer", "background writer", "autovacuum")


def _proc_stat(pid: str) -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds) of a process from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return command, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _title(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cpu_snapshot(roots: dict[str, int], database: str) -> dict[str, dict[str, float]]:
    """CPU seconds used so far, per process, of each named process tree, of PostgreSQL's
    backends of ``database`` and its auxiliary processes, and of Redis."""
    stats = {pid: s for pid in os.listdir("/proc") if pid.isdigit() and (s := _proc_stat(pid))}
    children: dict[int, list[int]] = {}
    for pid, (_command, parent, _cpu) in stats.items():
        children.setdefault(parent, []).append(int(pid))
    others = set(roots.values())

    def tree(pid: int) -> dict[str, float]:
        # A root's subtree stops at the other roots (this script is the servers' parent).
        found = {str(pid): stats[str(pid)][2]} if str(pid) in stats else {}
        for child in children.get(pid, []):
            if child not in others:
                found.update(tree(child))
        return found

    snapshot = {name: tree(pid) for name, pid in roots.items()}
    snapshot["postgresql"] = {}
    snapshot["redis"] = {}
    for pid, (command, _parent, cpu) in stats.items():
        if command.startswith("postgres"):
            title = _title(pid)
            if f" {database} " in title or any(word in title for word in POSTGRES_AUXILIARY):
                snapshot["postgresql"][pid] = cpu
        elif command.startswith("redis-server"):
            snapshot["redis"][pid] = cpu
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])
    snapshot["whole machine (busy)"] = {
        "all": (sum(int(f) for f in fields[:8]) - idle) / CLOCK_TICKS
    }
    return snapshot


def cpu_used(before: dict[str, float], after: dict[str, float]) -> float:
    """CPU seconds used between two snapshots by processes alive at the second one."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    sys.path.insert(0, str(REPO_ROOT))
    import psycopg

    dsn = urlunsplit(urlsplit(args.database_url)._replace(scheme="postgresql"))
    with tempfile.TemporaryDirectory(prefix="p13n-bench-") as tmp, services(
        args, Path(tmp)
    ) as processes, psycopg.connect(dsn, autocommit=True) as db:  # fmt: skip
        visitors = get_visitors(args.port, args.visitors, rng)
        warmup = make_batches(visitors, args.batch * args.workers * 4, args.batch, rng)
        batches = make_batches(visitors, args.events, args.batch, rng)
        # Warm-up: every worker imports its views, opens its connections, fills its caches.
        warm = post_all(args.port, warmup, args.concurrency)
        if warm.failures:
            raise SystemExit(f"warm-up failed: {warm.failures[:3]}")
        warm_rows, _seen = wait_for_rows(db, (0, 0), warm.accepted, args.drain_timeout)
        if warm_rows < warm.accepted:
            raise SystemExit(f"warm-up events were not stored ({warm_rows}/{warm.accepted})")
        base = table_state(db)

        roots = {name: process.pid for name, process in processes.items()}
        roots["load generator (this script)"] = os.getpid()
        database = urlsplit(args.database_url).path.lstrip("/")
        cpu_before = cpu_snapshot(roots, database)
        began = time.perf_counter()
        posted = post_all(args.port, batches, args.concurrency)
        answered = time.perf_counter()
        stored, seen = wait_for_rows(db, base, posted.accepted, args.drain_timeout)
        cpu_after = cpu_snapshot(roots, database)

    accept_time, store_time = answered - began, seen - began
    accepted_rate = posted.accepted / accept_time
    stored_rate = stored / store_time
    print(
        f"\nIngest benchmark: {args.events:,} events in batches of {args.batch}, "
        f"{args.concurrency} posting threads, gunicorn {args.workers} worker(s) x "
        f"{args.threads} thread(s), Celery concurrency {args.celery_concurrency} (flush batches of "
        f"{args.flush_size or 'the default'}), {args.visitors} visitors, "
        f"live segments {'on' if args.live_segments else 'off'}, {os.cpu_count()} CPUs\n"
    )
    print(f"{'':<10}{'events':>10}{'seconds':>10}{'events/s':>12}")
    print(f"{'accepted':<10}{posted.accepted:>10,}{accept_time:>10.2f}{accepted_rate:>12,.0f}")
    print(f"{'stored':<10}{stored:>10,}{store_time:>10.2f}{stored_rate:>12,.0f}")
    print(
        f"\nrequests: {posted.requests}, failed: {len(posted.failures)}; latency per batch "
        f"p50 {percentile(posted.latencies, 0.5) * 1000:.0f} ms, "
        f"p90 {percentile(posted.latencies, 0.9) * 1000:.0f} ms"
    )
    for failure in posted.failures[:5]:
        print(f"  {failure}")
    print(f"\nCPU seconds during the timed run ({store_time:.1f} s wall, {os.cpu_count()} CPUs):")
    for name in cpu_after:
        used = cpu_used(cpu_before[name], cpu_after[name])
        per_event = used / max(stored, 1) * 1e6
        print(f"  {name:<30}{used:>8.1f} s  {per_event:>6.0f} us/event")
    print(f"  (the machine's capacity in that time: {store_time * (os.cpu_count() or 1):.1f} s)")
    print(
        f"\nstored {stored_rate:,.0f} events/s = {stored_rate / TARGET:.2f} x the target of "
        f"{TARGET:,} events/s ({'met' if stored_rate >= TARGET else 'NOT met'}); accepted "
        f"{accepted_rate:,.0f} events/s = {accepted_rate / TARGET:.2f} x"
    )
    complete = stored == posted.accepted and not posted.failures
    if not complete:
        print(f"INCOMPLETE: {stored} of {posted.accepted} accepted events stored")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
