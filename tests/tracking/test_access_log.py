"""Access-log import: the parser on sample lines, and the command end to end."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import sys
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from personalization.models import Event, Session, Visitor
from personalization.tracking import access_log
from personalization.tracking.access_log import (
    LogRecord,
    OccurrenceCounter,
    Sessionizer,
    event_id,
    is_asset,
    line_digest,
    parse_line,
    path_prefixes,
    pseudonymous_vid,
    skip_reason,
    unescape,
)

from .access_log_samples import format_line, generate_log

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
PREFIXES = path_prefixes(["/admin/", "/favicon.ico"], "/static/", "/media/")
TZ = dt.timezone(dt.timedelta(hours=1))


def record(**overrides: object) -> LogRecord:
    values: dict[str, object] = {
        "ip": "192.0.2.1",
        "time": dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC),
        "method": "GET",
        "target": "/",
        "path": "/",
        "query": "",
        "status": 200,
        "referrer": "",
        "user_agent": CHROME,
    }
    values.update(overrides)
    return LogRecord(**values)  # type: ignore[arg-type]


def reason_of(rec: LogRecord) -> str | None:
    return skip_reason(rec, excluded_prefixes=PREFIXES, is_bot=lambda ua: "bot" in ua.lower())


# --- parsing --------------------------------------------------------------------------------------


def test_combined_line_with_apache_escaped_quotes():
    line = (
        '203.0.113.7 - frank [10/Oct/2024:13:55:36 -0700] "GET /products/canvas-tote/?utm_source='
        'nl&utm_medium=email HTTP/1.1" 200 2326 "https://news.example.org/a?q=\\"bags\\"" '
        '"Mozilla/5.0 \\"Embedded\\" build"'
    )
    rec = parse_line(line, "combined")
    assert rec == LogRecord(
        ip="203.0.113.7",
        time=dt.datetime(2024, 10, 10, 20, 55, 36, tzinfo=dt.UTC),
        method="GET",
        target="/products/canvas-tote/?utm_source=nl&utm_medium=email",
        path="/products/canvas-tote/",
        query="utm_source=nl&utm_medium=email",
        status=200,
        referrer='https://news.example.org/a?q="bags"',
        user_agent='Mozilla/5.0 "Embedded" build',
    )


def test_nginx_hex_escapes_and_ipv6():
    line = (
        '2001:db8::1 - - [01/Mar/2025:10:00:00 +0100] "GET /caf%C3%A9/ HTTP/2.0" 200 512 "-" '
        '"Agent \\x22quoted\\x22 caf\\xC3\\xA9" 0.004 "-"'
    )
    rec = parse_line(line, "combined")
    assert rec is not None
    assert rec.ip == "2001:db8::1"
    assert rec.time == dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert rec.path == "/café/"
    assert rec.referrer == ""
    assert rec.user_agent == 'Agent "quoted" café'


def test_common_format_and_combined_lines_read_as_common():
    common = '192.0.2.9 - - [01/Mar/2025:10:00:00 +0000] "HEAD /cart/ HTTP/1.0" 200 -'
    rec = parse_line(common, "common")
    assert rec is not None
    assert (rec.method, rec.path, rec.status, rec.user_agent) == ("HEAD", "/cart/", 200, "")
    assert parse_line(common, "combined") is None
    combined = f'{common} "https://example.com/" "{CHROME}"'
    assert parse_line(combined, "common").referrer == ""


def test_request_targets():
    absolute = parse_line(
        '192.0.2.9 - - [01/Mar/2025:10:00:00 +0000] "GET https://shop.example.com/p/?a=1 HTTP/1.1"'
        ' 200 5 "-" "-"'
    )
    assert (absolute.path, absolute.query) == ("/p/", "a=1")
    http09 = parse_line('192.0.2.9 - - [01/Mar/2025:10:00:00 +0000] "GET /old" 200 5 "-" "-"')
    assert http09.path == "/old"
    fragment = parse_line(
        '192.0.2.9 - - [01/Mar/2025:10:00:00 +0000] "GET /a#top HTTP/1.1" 200 5 "-" "-"'
    )
    assert (fragment.path, fragment.query) == ("/a", "")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "not a log line",
        '203.0.113.250 - - [01/Mar/2025:10:00:00 +0100] "GET /truncated',
        # Impossible date, unknown month, missing time zone.
        '192.0.2.1 - - [31/Feb/2025:10:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-"',
        '192.0.2.1 - - [01/Foo/2025:10:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-"',
        '192.0.2.1 - - [01/Mar/2025:10:00:00] "GET / HTTP/1.1" 200 5 "-" "-"',
        # nginx logs garbage requests (TLS on the plain port) like this.
        '192.0.2.1 - - [01/Mar/2025:10:00:00 +0100] "\\x16\\x03\\x01" 400 157 "-" "-"',
        '192.0.2.1 - - [01/Mar/2025:10:00:00 +0100] "-" 400 0 "-" "-"',
        # An unescaped quote inside a field.
        '192.0.2.1 - - [01/Mar/2025:10:00:00 +0100] "GET /a"b HTTP/1.1" 200 5 "-" "-"',
        # Combined format without the user agent.
        '192.0.2.1 - - [01/Mar/2025:10:00:00 +0100] "GET / HTTP/1.1" 200 5 "-"',
    ],
)
def test_malformed_lines(line):
    assert parse_line(line, "combined") is None


def test_unescape_keeps_an_escaped_backslash_apart_from_what_follows():
    assert unescape(r"a\\x41") == r"a\x41"
    assert unescape(r"tab\there") == "tab\there"
    assert unescape(r"\x41\x42") == "AB"
    assert unescape(r"\xFF") == "\ufffd"


# --- what is kept --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({}, None),
        ({"method": "HEAD"}, None),
        ({"status": 204}, None),
        ({"path": "/products/shoe.html"}, None),
        ({"path": "/products/v1.2/"}, None),
        ({"method": "POST"}, access_log.METHOD),
        ({"method": "OPTIONS", "path": "*"}, access_log.METHOD),
        ({"status": 301}, access_log.STATUS),
        ({"status": 304}, access_log.STATUS),
        ({"status": 404}, access_log.STATUS),
        ({"status": 500}, access_log.STATUS),
        ({"path": "example.com:443"}, access_log.MALFORMED),
        ({"path": "/static/css/site.css"}, access_log.EXCLUDED_PATH),
        ({"path": "/media/p/1.jpg"}, access_log.EXCLUDED_PATH),
        ({"path": "/admin/"}, access_log.EXCLUDED_PATH),
        ({"path": "/favicon.ico"}, access_log.EXCLUDED_PATH),
        ({"path": "/logo.PNG"}, access_log.ASSET),
        ({"path": "/assets/app.js"}, access_log.ASSET),
        ({"path": "/fonts/a.woff2"}, access_log.ASSET),
        ({"user_agent": GOOGLEBOT}, access_log.BOT),
        ({"user_agent": BINGBOT}, access_log.BOT),
        # The first reason in test order wins.
        ({"method": "POST", "status": 404, "user_agent": GOOGLEBOT}, access_log.METHOD),
        ({"path": "/style.css", "user_agent": GOOGLEBOT}, access_log.ASSET),
    ],
)
def test_skip_reasons(overrides, reason):
    assert reason_of(record(**overrides)) == reason


def test_is_asset_looks_at_the_last_segment_only():
    assert is_asset("/a/b.svg")
    assert not is_asset("/archive.2024/")
    assert not is_asset("/")


def test_path_prefixes_take_the_path_of_static_and_media_urls():
    assert path_prefixes(["/admin/", ""], "https://cdn.example.com/assets/", "media/") == (
        "/admin/",
        "/assets/",
        "/media/",
    )
    # A site serving media at its root must not exclude every page.
    assert path_prefixes([], "/", None, "") == ()


# --- identity, sessions, ids ----------------------------------------------------------------------


def test_pseudonymous_vid_is_stable_keyed_and_hides_the_ip():
    vid = pseudonymous_vid("203.0.113.7", CHROME, "secret-1")
    assert vid == pseudonymous_vid("203.0.113.7", CHROME, "secret-1")
    assert vid.startswith("log-")
    assert len(vid) <= Visitor._meta.get_field("vid").max_length
    assert "203.0.113.7" not in vid
    assert vid != pseudonymous_vid("203.0.113.7", GOOGLEBOT, "secret-1")
    assert vid != pseudonymous_vid("203.0.113.8", CHROME, "secret-1")
    assert vid != pseudonymous_vid("203.0.113.7", CHROME, "secret-2")


def test_sessions_split_after_the_idle_timeout():
    sessions = Sessionizer(dt.timedelta(minutes=30))
    t0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
    first = sessions.session_id("v1", t0)
    assert sessions.session_id("v1", t0 + dt.timedelta(minutes=20)) == first
    # Exactly the timeout after the previous hit is still the same visit.
    assert sessions.session_id("v1", t0 + dt.timedelta(minutes=50)) == first
    # Slightly out-of-order lines stay in their session.
    assert sessions.session_id("v1", t0 + dt.timedelta(minutes=49)) == first
    second = sessions.session_id("v1", t0 + dt.timedelta(minutes=80, seconds=1))
    assert second != first
    assert sessions.session_id("v2", t0) not in (first, second)
    # Deterministic: a second import finds the same ids.
    again = Sessionizer(dt.timedelta(minutes=30))
    assert again.session_id("v1", t0) == first


def test_sessionizer_forgets_idle_visitors():
    sessions = Sessionizer(dt.timedelta(minutes=30))
    t0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
    sessions.session_id("old", t0)
    sessions.session_id("new", t0 + dt.timedelta(hours=2))
    sessions.forget_before(t0 + dt.timedelta(hours=2))
    assert len(sessions) == 1


def test_identical_lines_get_distinct_stable_ids():
    counter = OccurrenceCounter()
    t0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
    digest = line_digest(b"same line\n")
    assert digest == line_digest(b"same line\r\n")
    assert [counter.occurrence(digest, t0) for _ in range(3)] == [0, 1, 2]
    assert counter.occurrence(line_digest(b"other"), t0) == 0
    assert event_id(digest, 0) == event_id(digest, 0)
    assert len({event_id(digest, 0), event_id(digest, 1), event_id(line_digest(b"x"), 0)}) == 3
    counter.forget_before(t0 + dt.timedelta(hours=2))
    assert len(counter) == 0


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def sample_store(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": "tests.tracking.access_log_samples.SampleStoreAdapter",
    }


def run_import(path: str, *args: str) -> dict[str, int]:
    """Run the command; return its counters by label ("Events stored", "bot or crawler", ...)."""
    out = io.StringIO()
    call_command("import_access_log", path, *args, stdout=out)
    counts = {}
    for line in out.getvalue().splitlines():
        if match := re.match(r"^\s*(\d+)\s{2}(.+)$", line):
            counts[match[2]] = int(match[1])
        elif match := re.match(r"^([^:]+):\s+(\d+)$", line):
            counts[match[1]] = int(match[2])
    assert "lines/s" in out.getvalue()
    return counts


def write_log(tmp_path, lines: list[str], name: str = "access.log") -> str:
    path = tmp_path / name
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return str(path)


def at(minutes: float) -> dt.datetime:
    return dt.datetime(2025, 3, 1, 10, 0, tzinfo=TZ) + dt.timedelta(minutes=minutes)


HANDMADE = [
    format_line("192.0.2.10", at(0), "GET /?utm_source=nl&utm_campaign=spring HTTP/1.1", 200, 900,
                "https://mail.example.com/inbox?id=1", CHROME),
    format_line("192.0.2.10", at(0), "GET /static/shop.css HTTP/1.1", 200, 90, "-", CHROME),
    format_line("192.0.2.10", at(0), "GET /logo.svg HTTP/1.1", 200, 90, "-", CHROME),
    format_line("192.0.2.10", at(1), "GET /products/canvas-tote/ HTTP/1.1", 200, 900, "-", CHROME),
    format_line("192.0.2.10", at(2), "POST /cart/add/101/ HTTP/1.1", 302, 0, "-", CHROME),
    format_line("192.0.2.10", at(2), "GET /cart/ HTTP/1.1", 200, 900, "-", CHROME),
    format_line("192.0.2.10", at(3), "GET /sale HTTP/1.1", 301, 0, "-", CHROME),
    format_line("192.0.2.10", at(3), "GET /products/gone/ HTTP/1.1", 404, 0, "-", CHROME),
    format_line("192.0.2.10", at(4), "GET /admin/ HTTP/1.1", 200, 900, "-", CHROME),
    format_line("66.249.66.1", at(4), "GET /products/sun-hat/ HTTP/1.1", 200, 9, "-", GOOGLEBOT),
    format_line("40.77.167.2", at(4), "GET /products/sun-hat/ HTTP/1.1", 200, 9, "-", BINGBOT),
    "garbage that is no log line",
    # After 31 minutes of silence: a second visit of the same visitor.
    format_line("192.0.2.10", at(35), "GET /products/sun-hat/ HTTP/1.1", 200, 900, "-", CHROME),
    # IPv6 visitor, the nginx way of escaping; two identical lines are two hits.
    format_line("2001:db8::7", at(5), 'GET /products/sun-hat/ HTTP/1.1', 200, 5, "-",
                'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "x"', style="nginx"),
    format_line("2001:db8::7", at(5), 'GET /products/sun-hat/ HTTP/1.1', 200, 5, "-",
                'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "x"', style="nginx"),
]  # fmt: skip


@pytest.mark.django_db
def test_command_counts_every_skip_reason_and_maps_products(tmp_path, sample_store):
    counts = run_import(write_log(tmp_path, HANDMADE))
    assert counts["Lines read"] == 15
    assert counts["Page hits kept"] == 6
    assert counts[access_log.SKIP_REASONS["malformed"]] == 1
    assert counts[access_log.SKIP_REASONS["method"]] == 1
    assert counts[access_log.SKIP_REASONS["status"]] == 2
    assert counts[access_log.SKIP_REASONS["excluded_path"]] == 2
    assert counts[access_log.SKIP_REASONS["asset"]] == 1
    assert counts[access_log.SKIP_REASONS["bot"]] == 2
    assert counts["Lines skipped"] == 9
    # One event per hit, as the middleware records requests: 4 product pages, 2 other pages.
    assert counts["Events stored"] == 6
    assert counts["Duplicates ignored (already imported)"] == 0

    assert Event.objects.filter(source="log").count() == 6
    assert Event.objects.filter(name="page_view").count() == 2
    views = Counter(Event.objects.filter(name="product_view").values_list("product_id", flat=True))
    assert views == Counter({"101": 1, "111": 3})
    first = Event.objects.get(name="page_view", path="/")
    assert first.occurred_at == at(0)
    assert first.received_at == at(0)
    assert first.referrer_host == "mail.example.com"
    assert first.device_type == "desktop"
    assert first.session.utm_source == "nl"
    assert first.session.utm_campaign == "spring"
    assert first.session.landing_path == "/"
    iphone = Event.objects.filter(path="/products/sun-hat/", device_type="mobile")
    assert iphone.count() == 2  # two identical lines are two hits


@pytest.mark.django_db
def test_sessions_split_on_30_minute_gaps(tmp_path, sample_store):
    run_import(write_log(tmp_path, HANDMADE))
    visitor = Visitor.objects.get(events__path="/cart/")
    sessions = list(visitor.sessions.order_by("started_at"))
    assert len(sessions) == 2
    assert sessions[0].started_at == at(0)
    assert sessions[0].ended_at == at(2)
    assert sessions[1].started_at == at(35)
    assert sessions[1].landing_path == "/products/sun-hat/"
    assert [s.events.count() for s in sessions] == [3, 1]
    assert Visitor.objects.count() == 2  # the bots made no visitor


@pytest.mark.django_db
def test_no_ip_is_stored_anywhere(tmp_path, sample_store):
    lines = generate_log(1500)
    run_import(write_log(tmp_path, [line.text for line in lines]))
    ips = {line.client[0] for line in lines if line.reason is None}
    assert ips
    stored = []
    for model in (Event, Visitor, Session):
        for obj in model.objects.all():
            stored.extend(str(getattr(obj, f.attname)) for f in model._meta.concrete_fields)
    text = "\n".join(stored)
    leaked = [ip for ip in ips if ip in text]
    assert not leaked


@pytest.mark.django_db
@pytest.mark.parametrize("log_format", ["combined", "common"])
def test_generated_log_counts_match_and_reimport_adds_nothing(tmp_path, sample_store, log_format):
    lines = generate_log(3000, log_format, seed=7)
    path = write_log(tmp_path, [line.text for line in lines], "access.log.gz")
    expected = Counter(line.reason for line in lines)
    hits = expected.pop(None)
    counts = run_import(path, "--format", log_format, "--chunk-size", "250")
    assert counts["Lines read"] == 3000
    assert counts["Page hits kept"] == hits
    for reason, count in expected.items():
        assert counts[access_log.SKIP_REASONS[reason]] == count
    assert counts["Events stored"] == hits
    assert Event.objects.count() == hits
    assert Counter(Event.objects.exclude(product_id="").values_list("product_id", flat=True)) == (
        Counter(line.product_id for line in lines if line.product_id)
    )
    sessions = Session.objects.count()

    again = run_import(path, "--format", log_format)
    assert again["Events stored"] == 0
    assert again["Duplicates ignored (already imported)"] == hits
    assert Event.objects.count() == hits
    assert Session.objects.count() == sessions


@pytest.mark.django_db
def test_reimport_after_the_catalog_changed_adds_nothing(tmp_path, settings):
    path = write_log(tmp_path, HANDMADE)
    assert run_import(path)["Events stored"] == 6
    assert not Event.objects.filter(name="product_view").exists()
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": "tests.tracking.access_log_samples.SampleStoreAdapter",
    }
    again = run_import(path)
    assert (again["Events stored"], again["Duplicates ignored (already imported)"]) == (0, 6)


@pytest.mark.django_db
def test_reads_standard_input(monkeypatch, sample_store):
    data = "".join(line + "\n" for line in HANDMADE).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    counts = run_import("-")
    assert counts["Lines read"] == 15
    assert counts["Events stored"] == 6


@pytest.mark.django_db
def test_gzip_on_standard_input(monkeypatch, sample_store):
    data = gzip.compress("".join(line + "\n" for line in HANDMADE).encode())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run_import("-")["Events stored"] == 6


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="cannot open"):
        call_command("import_access_log", str(tmp_path / "nope.log"))


def test_unknown_format_is_refused():
    with pytest.raises(CommandError):
        call_command("import_access_log", "-", "--format", "json")
