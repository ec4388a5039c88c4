"""A realistic access-log generator and a store adapter with fixed products, for the log tests.

Each generated line comes with what the importer should make of it (skip reason or page hit, and
the product id), so a test can check the counts of a log of any size exactly.
``python -m tests.tracking.access_log_samples 100000 > access.log`` writes a log for timing.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from dataclasses import dataclass

from personalization.adapters import InMemoryStoreAdapter, ProductData
from personalization.tracking import access_log

SLUGS = (
    "trail-runner-shoe", "canvas-tote", "wool-beanie", "rain-jacket", "leather-belt",
    "linen-shirt", "city-backpack", "ankle-boot", "silk-scarf", "denim-jacket",
    "sports-sock", "sun-hat",
)  # fmt: skip
PRODUCTS = tuple(
    ProductData(id=str(100 + n), title=slug.replace("-", " ").title(), url=f"/products/{slug}/")
    for n, slug in enumerate(SLUGS)
)
PRODUCT_BY_PATH = {p.url: p.id for p in PRODUCTS}


class SampleStoreAdapter(InMemoryStoreAdapter):
    """The in-memory adapter over :data:`PRODUCTS` (settings can only pass plain data)."""

    def __init__(self) -> None:
        super().__init__(products=PRODUCTS)


HUMAN_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    'Version/17.3 Safari/605.1.15 "Embedded" build',
)
BOT_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)
PAGES = ("/", "/categories/shoes/", "/categories/bags/", "/search/?q=rain+boots", "/cart/")
ASSETS = (
    "/static/css/shop.css",
    "/static/js/app.js",
    "/media/products/tote.jpg",
    "/favicon.ico",
    "/logo.svg",
    "/fonts/inter.woff2",
)
REFERRERS = (
    "-",
    "https://www.google.com/search?q=tote+bag",
    'https://news.example.org/article?id=7&q="best bags"',
    "https://www.facebook.com/",
)
CAMPAIGNS = (
    "",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale",
    "?utm_source=facebook&utm_medium=cpc&utm_campaign=retarget",
)
MALFORMED_LINES = (
    '203.0.113.250 - - [01/Mar/2025:10:00:00 +0100] "GET /truncated',
    "this is not an access log line",
    '198.51.100.3 - - [31/Feb/2025:10:00:00 +0100] "GET / HTTP/1.1" 200 512 "-" "curl/8.5"',
)


@dataclass(frozen=True)
class SampleLine:
    """A generated line and what the importer must make of it."""

    text: str
    reason: str | None  # a key of access_log.SKIP_REASONS, or None for a page hit
    product_id: str | None
    client: tuple[str, str]  # (ip, user agent)
    time: dt.datetime


def quote(value: str, style: str) -> str:
    """Quote a field as Apache (``\\"``) or nginx (``\\x22``, non-ASCII as ``\\xHH``) does."""
    if value == "-":
        return '"-"'
    if style == "nginx":
        escaped = "".join(
            c
            if 32 <= ord(c) < 127 and c not in '"\\'
            else "".join(f"\\x{b:02X}" for b in c.encode())
            for c in value
        )
    else:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_line(
    ip: str,
    when: dt.datetime,
    request: str,
    status: int,
    size: int,
    referrer: str,
    agent: str,
    *,
    log_format: str = "combined",
    style: str = "apache",
) -> str:
    """One access-log line; ``when`` must be aware (its offset is written)."""
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
    line = f'{ip} - - [{stamp}] "{request}" {status} {size}'
    if log_format == "combined":
        line += f" {quote(referrer, style)} {quote(agent or '-', style)}"
    return line


class LogGenerator:
    """Visits of humans (pages, their assets, forms, errors) and crawls of bots, interleaved."""

    def __init__(self, seed: int = 0, log_format: str = "combined") -> None:
        self.rng = random.Random(seed)
        self.log_format = log_format
        self.tz = dt.timezone(dt.timedelta(hours=1))
        self.start = dt.datetime(2025, 3, 1, 8, 0, tzinfo=self.tz)

    def ip(self) -> str:
        rng = self.rng
        if rng.random() < 0.25:
            return f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
        octets = (rng.choice((192, 198, 203)), rng.randrange(256), rng.randrange(256))
        return ".".join(map(str, octets)) + f".{rng.randrange(1, 255)}"

    def line(
        self,
        client: tuple[str, str],
        when: dt.datetime,
        method: str,
        target: str,
        status: int,
        referrer: str,
        reason: str | None,
    ) -> SampleLine:
        text = format_line(
            client[0],
            when,
            f"{method} {target} HTTP/1.1",
            status,
            self.rng.randrange(200, 40000),
            referrer,
            client[1],
            log_format=self.log_format,
            style=self.rng.choice(("apache", "nginx")),
        )
        path = target.partition("?")[0]
        product = PRODUCT_BY_PATH.get(path) if reason is None else None
        return SampleLine(text, reason, product, client, when.astimezone(dt.UTC))

    def visit(self, at: dt.datetime) -> list[SampleLine]:
        rng = self.rng
        combined = self.log_format == "combined"
        client = (self.ip(), rng.choice(HUMAN_AGENTS) if combined else "")
        lines = []
        referrer = rng.choice(REFERRERS)
        campaign = rng.choice(CAMPAIGNS)
        when = at
        for number in range(rng.randint(1, 8)):
            roll = rng.random()
            if roll < 0.45:
                target = rng.choice(PRODUCTS).url
            elif roll < 0.85:
                target = rng.choice(PAGES)
            else:
                target = "/products/discontinued-item/"
            if number == 0:
                target += campaign if "?" not in target else ""
            status, reason = (404, access_log.STATUS) if "discontinued" in target else (200, None)
            lines.append(self.line(client, when, "GET", target, status, referrer, reason))
            page_url = f"https://shop.example.com{target}"
            for asset in rng.sample(ASSETS, rng.randint(0, 3)):
                asset_reason = (
                    access_log.EXCLUDED_PATH
                    if asset.startswith(("/static/", "/media/", "/favicon.ico"))
                    else access_log.ASSET
                )
                lines.append(self.line(client, when, "GET", asset, 200, page_url, asset_reason))
            if rng.random() < 0.08:
                lines.append(
                    self.line(
                        client, when, "POST", "/cart/add/101/", 302, page_url, access_log.METHOD
                    )
                )
            if rng.random() < 0.05:
                lines.append(
                    self.line(client, when, "GET", "/sale", 301, page_url, access_log.STATUS)
                )
            if rng.random() < 0.03:
                lines.append(
                    self.line(
                        client,
                        when,
                        "GET",
                        "/admin/login/",
                        200,
                        page_url,
                        access_log.EXCLUDED_PATH,
                    )
                )
            referrer = page_url
            # Mostly seconds to minutes between pages; sometimes a break long enough to end a visit.
            gap = rng.expovariate(1 / 40) if rng.random() < 0.95 else rng.uniform(1900, 4000)
            when += dt.timedelta(seconds=int(gap) + 1)
        return lines

    def crawl(self, at: dt.datetime) -> list[SampleLine]:
        if self.log_format != "combined":
            return []
        ip = f"66.249.{self.rng.randrange(64, 96)}.{self.rng.randrange(1, 255)}"
        client = (ip, self.rng.choice(BOT_AGENTS))
        lines = []
        when = at
        for _ in range(self.rng.randint(1, 5)):
            target = self.rng.choice((*PAGES, *(p.url for p in PRODUCTS)))
            lines.append(self.line(client, when, "GET", target, 200, "-", access_log.BOT))
            when += dt.timedelta(seconds=self.rng.randint(1, 20))
        return lines

    def generate(self, n_lines: int) -> list[SampleLine]:
        """About ``n_lines`` lines (exactly that many), sorted by time as a server writes them."""
        rng = self.rng
        lines: list[SampleLine] = []
        at = self.start
        while len(lines) < n_lines:
            at += dt.timedelta(seconds=rng.randint(0, 6))
            roll = rng.random()
            if roll < 0.12:
                lines.extend(self.crawl(at))
            elif roll < 0.125:
                text = rng.choice(MALFORMED_LINES)
                lines.append(SampleLine(text, access_log.MALFORMED, None, ("", ""), at))
            else:
                lines.extend(self.visit(at))
        lines.sort(key=lambda line: line.time)
        return lines[:n_lines]


def generate_log(n_lines: int, log_format: str = "combined", seed: int = 0) -> list[SampleLine]:
    """A reproducible sample log of ``n_lines`` lines."""
    return LogGenerator(seed=seed, log_format=log_format).generate(n_lines)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    fmt = sys.argv[2] if len(sys.argv) > 2 else "combined"
    sys.stdout.writelines(line.text + "\n" for line in generate_log(count, fmt))
