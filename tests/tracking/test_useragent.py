"""User-agent parsing into device type, browser and OS; robot detection."""

from __future__ import annotations

import pytest

from personalization.tracking.useragent import (
    DeviceInfo,
    is_bot,
    looks_like_bot,
    parse_user_agent,
)

from .conftest import CHROME, IPHONE

IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.0 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Safari/605.1.15"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (CHROME, DeviceInfo("desktop", "Chrome", "Windows")),
        (MAC_SAFARI, DeviceInfo("desktop", "Safari", "Mac OS X")),
        (IPHONE, DeviceInfo("mobile", "Mobile Safari", "iOS")),
        (ANDROID_PHONE, DeviceInfo("mobile", "Chrome Mobile", "Android")),
        (IPAD, DeviceInfo("tablet", "Mobile Safari", "iOS")),
        (ANDROID_TABLET, DeviceInfo("tablet", "Chrome", "Android")),
        (GOOGLEBOT, DeviceInfo("bot", "Googlebot", "Other")),
        ("curl/8.5.0", DeviceInfo("bot", "curl", "Other")),
        ("SomethingUnheardOf/1.0", DeviceInfo("other", "Other", "Other")),
        ("", DeviceInfo("other", "", "")),
    ],
)
def test_user_agents_are_classified(ua: str, expected: DeviceInfo) -> None:
    got = parse_user_agent(ua)
    assert got.device_type == expected.device_type
    if expected.browser not in ("Other", ""):
        assert got.browser == expected.browser
    if expected.os not in ("Other", ""):
        assert got.os == expected.os


@pytest.mark.parametrize(
    "ua",
    [
        GOOGLEBOT,
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "python-requests/2.31.0",
        "Wget/1.21",
        "facebookexternalhit/1.1",
        "",
    ],
)
def test_robots_and_scripts_are_bots(ua: str) -> None:
    assert is_bot(ua) is True


@pytest.mark.parametrize("ua", [CHROME, IPHONE, ANDROID_TABLET, HEADLESS, CUBOT_PHONE])
def test_browsers_are_not_bots(ua: str) -> None:
    assert is_bot(ua) is False


def test_ua_parser_spiders_without_a_robot_word_are_bots() -> None:
    # No word of the cheap check, but ua-parser knows this crawler as a "Spider" device.
    for ua in ("Mozilla/5.0 (compatible; Daum/4.1)", "Mozilla/5.0 (compatible; Yeti/1.1)"):
        assert looks_like_bot(ua) is False
        assert is_bot(ua) is True
        assert parse_user_agent(ua).device_type == "bot"


def test_results_are_cached() -> None:
    ua = CHROME + " cache-probe"
    before = parse_user_agent.cache_info().hits
    first = parse_user_agent(ua)
    assert parse_user_agent(ua) is first
    assert parse_user_agent.cache_info().hits == before + 1
