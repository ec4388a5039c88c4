"""Cost of TrackingMiddleware on the demo shop's product pages, measured in one process.

Seeds a demo shop into a fresh SQLite file (``manage.py seed_demo``), builds WSGI handlers from
the demo's settings and times product-page requests through them, rotating their order on every
round so that drift of the machine (other processes, CPU frequency, caches) falls on all alike:

* **with**: the demo's middleware, ``personalization.middleware.TrackingMiddleware`` included;
* **context only**: the middleware replaced by :class:`ContextOnlyMiddleware`, which attaches
  ``request.personalization`` (what the recommendation widgets read: consent, visitor, session)
  and records nothing, sets no cookie. The page is the same as with the middleware, widgets
  included, so *with / context only* is the cost of tracking: the target's ratio;
* **without**: no middleware at all. The product page then has no visitor context, so its two
  personal widgets (``similar_products``, ``bought_together``) render nothing: *with / without*
  compares two different pages and is printed for information.

Every request comes from one of ``--visitors`` simulated browsers with a desktop or phone
User-Agent, the consent cookie (analytics + personalization) and the cookies the site set
earlier (the visitor id), so the middleware does all of its work: consent, visitor, session
(cache), product lookup (cached), the ``product_view`` event into the buffer, the product view
remembered for ``recently_viewed``, the tracker tag's signed token.

The settings are the embedded mode of the demo shop (SQLite, local-memory cache, in-process
event buffer), and the recommenders are trained as ``make demo`` trains them. The buffer's
flusher thread writes the events to the database in the background, as it does in that mode.
Its CPU time is reported on its own; it shares the process (and the GIL) with
the requests of every handler, so it slows all alike and the ratio does not include it.

Prints p50 and p90 latency of each handler, the ratios of the medians (target: with / context
only at most 1.05), the median CPU time of the request thread (which other processes on the
machine do not inflate, as they do the latency) and its ratios, and the flusher's cost per page
view. Run from the repository root::

    .venv/bin/python benchmarks/middleware_overhead.py
    .venv/bin/python benchmarks/middleware_overhead.py --iterations 5000 --products 1000
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from browsers import USER_AGENTS  # benchmarks/ is sys.path[0] when run as a script

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_MODULE = "benchmarks.bench_settings"
MIDDLEWARE = "personalization.middleware.TrackingMiddleware"
CONTEXT_ONLY = "benchmarks.middleware_overhead.ContextOnlyMiddleware"
TARGET = 1.05
CONSENT = "1:analytics+personalization"
REFERRERS = ["", "https://www.google.com/", "http://127.0.0.1:8000/", "https://news.example.org/"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=3000, help="timed requests per handler")
    parser.add_argument(
        "--warmup",
        type=int,
        default=300,
        help="untimed requests per handler after one visit of every product page",
    )
    parser.add_argument("--visitors", type=int, default=50, help="simulated browsers")
    parser.add_argument("--products", type=int, default=1000, help="seed_demo --products")
    parser.add_argument("--customers", type=int, default=200, help="seed_demo --customers")
    parser.add_argument("--months", type=int, default=2, help="seed_demo --months")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


class ContextOnlyMiddleware:
    """Attaches ``request.personalization`` as TrackingMiddleware does, and nothing else."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        from personalization.tracking.context import PersonalizationContext

        request.personalization = PersonalizationContext(request)
        return self.get_response(request)


class Browser:
    """A visitor's User-Agent and cookie jar."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self.cookies: dict[str, str] = {"p13n_consent": CONSENT}

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def update(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            for morsel in SimpleCookie(value).values():
                if morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(morsel.key, None)
                else:
                    self.cookies[morsel.key] = morsel.value


def environ(path: str, browser: Browser, referrer: str) -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": browser.user_agent,
        "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9",
        "HTTP_COOKIE": browser.header(),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if referrer:
        env["HTTP_REFERER"] = referrer
    return env


def call(handler: Any, env: dict[str, Any], browser: Browser) -> tuple[int, int, str]:
    """One request through ``handler``: (wall ns, CPU ns of this thread, status line). The body
    is read and the response closed inside the timing, as a WSGI server would."""
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = status, headers
        return lambda data: None

    began, began_cpu = time.perf_counter_ns(), time.thread_time_ns()
    response = handler(env, start_response)
    try:
        b"".join(response)
    finally:
        response.close()
    took, took_cpu = time.perf_counter_ns() - began, time.thread_time_ns() - began_cpu
    browser.update(answer["headers"])
    return took, took_cpu, answer["status"]


def page(handler: Any, env: dict[str, Any], browser: Browser) -> str:
    """The body of one untimed request."""
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["headers"] = headers
        return lambda data: None

    response = handler(env, start_response)
    try:
        body = b"".join(response).decode()
    finally:
        response.close()
    browser.update(answer["headers"])
    return body


def thread_cpu_seconds(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_view_cost(paths: list[str]) -> float:
    """Mean seconds of a product lookup that misses the cache (the adapter asks the store)."""
    from django.core.cache import cache

    from personalization.tracking.server import product_id_for_path, product_path_cache_key

    total = 0.0
    for path in paths:
        cache.delete(product_path_cache_key(path))
        began = time.perf_counter()
        product_id_for_path(path)
        total += time.perf_counter() - began
    return total / len(paths)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="p13n-mw-bench-") as tmp:
        os.environ.update(
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            SQLITE_PATH=str(Path(tmp) / "bench.sqlite3"),
            DEBUG="0",
        )
        for name in ("DATABASE_URL", "REDIS_URL"):
            os.environ.pop(name, None)
        sys.path.insert(0, str(REPO_ROOT))
        return run(args, rng)


def run(args: argparse.Namespace, rng: random.Random) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.test.utils import override_settings

    from demo_shop.shop.models import Product
    from personalization.models.tracking import Event
    from personalization.recommendations.attribution import flush_impressions
    from personalization.tasks import flush_events
    from personalization.tracking.buffer import get_buffer

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command(
        "seed_demo",
        products=args.products,
        customers=args.customers,
        months=args.months,
        stdout=io.StringIO(),
    )
    # As `make demo` does: the product pages show trained recommendations.
    call_command("train_recommenders", stdout=io.StringIO())
    print(
        f"Seeded the demo shop and trained its recommenders in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    seeded_events = Event.objects.count()

    assert MIDDLEWARE in settings.MIDDLEWARE, "the demo settings must include the middleware"
    tracked = WSGIHandler()
    # A handler keeps the middleware chain it was built with.
    with override_settings(
        MIDDLEWARE=[CONTEXT_ONLY if m == MIDDLEWARE else m for m in settings.MIDDLEWARE]
    ):
        context_only = WSGIHandler()
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != MIDDLEWARE]):
        plain = WSGIHandler()
    handlers = {"with": tracked, "context only": context_only, "without": plain}

    paths = [p.get_absolute_url() for p in Product.objects.filter(is_published=True)]
    browsers = [Browser(rng.choice(USER_AGENTS)) for _ in range(args.visitors)]
    for browser in browsers:
        # The first visit sets the visitor cookie (and whatever else the shop sets).
        call(tracked, environ("/", browser, ""), browser)
    assert all("p13n_vid" in b.cookies for b in browsers), "the middleware set no visitor cookie"

    # The pages compared: the same widgets with the middleware and with the context only.
    widgets = {
        name: sum(
            page(handler, environ(path, browsers[0], ""), browsers[0]).count('data-p13n-rec="')
            for path in paths[:20]
        )
        for name, handler in handlers.items()
    }
    if widgets["with"] != widgets["context only"] or not widgets["with"]:
        print(f"UNEXPECTED: recommendation lists on 20 product pages: {widgets}")
        flush_events()
        flush_impressions()
        return 1

    timings: dict[str, list[int]] = {name: [] for name in handlers}
    cpu: dict[str, list[int]] = {name: [] for name in handlers}
    statuses: set[str] = set()
    buffer = get_buffer()
    # Warm-up: every product page once (steady state: the path -> product answers are cached
    # for a day; the cost of a first view is measured apart below), then random pages.
    warmup = [*paths, *(rng.choice(paths) for _ in range(args.warmup))]
    names = list(handlers)
    for iteration in range(len(warmup) + args.iterations):
        browser = rng.choice(browsers)
        path = warmup[iteration] if iteration < len(warmup) else rng.choice(paths)
        referrer = rng.choice(REFERRERS)
        shift = iteration % len(names)
        for name in names[shift:] + names[:shift]:
            took, took_cpu, status = call(handlers[name], environ(path, browser, referrer), browser)
            statuses.add(status)
            if iteration >= len(warmup):
                timings[name].append(took)
                cpu[name].append(took_cpu)

    flusher = next(t for t in threading.enumerate() if t.name == "personalization-flusher")
    flusher_cpu = thread_cpu_seconds(flusher.native_id)
    flush_events()
    # Before the database's folder is removed: the flusher threads would write at exit.
    flush_impressions()
    recorded = Event.objects.count() - seeded_events
    tracked_views = len(warmup) + args.iterations + len(browsers) + 20
    miss = first_view_cost(paths[: min(len(paths), 300)])
    if statuses != {"200 OK"} or len(buffer):
        print(f"UNEXPECTED: statuses {statuses}, {len(buffer)} events left in the buffer")
        return 1

    print(
        f"\nMiddleware overhead on product pages: {args.iterations} timed requests per handler "
        f"(after {len(warmup)} warm-up), order rotated, {len(paths)} products, "
        f"{len(browsers)} visitors, embedded mode (SQLite, local-memory cache, in-process buffer)\n"
    )
    ms = 1e6
    print(f"{'latency':<22}{'p50 ms':>9}{'p90 ms':>9}{'mean ms':>9}{'CPU p50 ms':>12}")
    labels = {
        "without": "without middleware",
        "context only": "context only",
        "with": "with middleware",
    }
    for name, label in labels.items():
        values = timings[name]
        print(
            f"{label:<22}{percentile(values, 0.5) / ms:>9.2f}{percentile(values, 0.9) / ms:>9.2f}"
            f"{statistics.fmean(values) / ms:>9.2f}{percentile(cpu[name], 0.5) / ms:>12.2f}"
        )

    def ratios(base: str) -> tuple[float, float, float]:
        return (
            percentile(timings["with"], 0.5) / percentile(timings[base], 0.5),
            percentile(timings["with"], 0.9) / percentile(timings[base], 0.9),
            percentile(cpu["with"], 0.5) / percentile(cpu[base], 0.5),
        )

    print(
        f"\nrecommendation lists on 20 product pages: {widgets['with']} with the middleware and "
        f"with the context only, {widgets['without']} without the middleware"
    )
    print(
        f"flusher thread: {flusher_cpu:.2f} s CPU for {recorded} product views recorded "
        f"({flusher_cpu / max(recorded, 1) * 1e6:.0f} us per view, outside the request; "
        f"{tracked_views} tracked requests)"
    )
    print(
        f"first view of a product path (the adapter's lookup, then cached for a day): "
        f"+{miss * 1000:.2f} ms"
    )
    ratio, p90_ratio, cpu_ratio = ratios("without")
    print(
        f"with / without (a different page: no personal widgets without the context): "
        f"median {ratio:.3f}, p90 {p90_ratio:.3f}, median CPU {cpu_ratio:.3f}"
    )
    ratio, p90_ratio, cpu_ratio = ratios("context only")
    print(
        f"with / context only: p90 ratio {p90_ratio:.3f}; "
        f"ratio of the median CPU times {cpu_ratio:.3f}"
    )
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(
        f"ratio of medians, with / context only (the same page): {ratio:.3f} "
        f"(target <= {TARGET}: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
