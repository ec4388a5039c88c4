"""User-agent parsing (ua-parser 1.x) into the device fields stored with events and sessions.

Raw user agents are never stored: the writer keeps only ``device_type``, ``browser`` and ``os``.
Results are cached per distinct user-agent string, which repeats heavily in real traffic.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ua_parser import parse

# Words that betray crawlers, monitors and HTTP libraries. Checked before ua-parser because it is
# cheap and covers clients that ua-parser does not classify as "Spider".
BOT_RE = re.compile(
    # "(?<!cu)": Cubot is a phone brand, not a robot.
    r"(?<!cu)bot\b|crawl|spider|slurp|scrap|fetch|archiver|monitor|checker|preview|"
    r"curl/|wget/|python-|python/|httpclient|http-client|okhttp|go-http|java/|libwww|"
    r"axios/|node-fetch|phantomjs|lighthouse|pingdom|uptime|facebookexternalhit",
    re.IGNORECASE,
)

MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "Firefox OS", "KaiOS", "Symbian OS"}
)
DESKTOP_OS = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "SUSE",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
    }
)
TABLET_FAMILIES = ("iPad", "Kindle", "Galaxy Tab", "Nexus 7", "Nexus 9", "Nexus 10")
MAX_FIELD = 64


@dataclass(frozen=True)
class DeviceInfo:
    """What is kept of a user agent."""

    device_type: str  # "desktop" | "mobile" | "tablet" | "bot" | "other"
    browser: str
    os: str


def looks_like_bot(user_agent: str) -> bool:
    """The cheap check: an empty user agent or one with a typical robot word."""
    return not user_agent or BOT_RE.search(user_agent) is not None


def _device_type(
    user_agent: str, os_family: str, device_family: str, device_brand: str, device_model: str
) -> str:
    if device_family == "Spider" or looks_like_bot(user_agent):
        return "bot"
    if (
        device_family.startswith(TABLET_FAMILIES)
        or device_brand == "Generic_Android_Tablet"
        or "tablet" in device_family.lower()
        or "tablet" in device_model.lower()
    ):
        return "tablet"
    if os_family in MOBILE_OS or device_family in ("iPhone", "iPod", "Generic Smartphone"):
        return "mobile"
    if os_family in DESKTOP_OS or device_family == "Mac":
        return "desktop"
    return "other"


@functools.lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str) -> DeviceInfo:
    """Device type, browser family and OS family of a user agent (empty strings when unknown)."""
    if not user_agent:
        return DeviceInfo("other", "", "")
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else ""
    os_family = result.os.family if result.os else ""
    device = result.device
    device_type = _device_type(
        user_agent,
        os_family,
        device.family if device else "",
        (device.brand or "") if device else "",
        (device.model or "") if device else "",
    )
    return DeviceInfo(device_type, browser[:MAX_FIELD], os_family[:MAX_FIELD])


# Cached like the parse: the robot-word search costs more than the rest of the middleware's
# checks together, and a site sees the same few hundred user agents over and over.
@functools.lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    """Whether a request with this user agent comes from a robot (or sends no user agent)."""
    return looks_like_bot(user_agent) or parse_user_agent(user_agent).device_type == "bot"
