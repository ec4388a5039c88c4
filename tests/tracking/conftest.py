"""Fixtures of the tracking tests: an empty buffer, a small test site, consenting browsers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import AsyncClient, Client

from personalization.adapters import ProductData
from personalization.conf import DEFAULTS
from personalization.tasks import flush_events
from personalization.tracking.buffer import get_buffer
from personalization.tracking.server import product_path_cache_key

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
BROWSER = {"user-agent": CHROME}
CONSENT_ALL = "1:analytics+personalization"
PRODUCTS = [
    ProductData(id="p13n-1", title="Test mug", url="/products/p13n-test-mug/"),
    ProductData(id="p13n-2", title="Test teapot", url="/products/p13n-test-teapot/"),
]
SITE_PATHS = ["/page/", "/async/", *(p.url for p in PRODUCTS)]


def _empty(buffer: Any) -> None:
    buffer.ack(len(buffer))


@pytest.fixture(autouse=True)
def empty_buffer() -> Iterator[None]:
    """Every test starts and ends with an empty event buffer."""
    _empty(get_buffer())
    yield
    _empty(get_buffer())


@pytest.fixture
def site(settings: Any) -> Iterator[dict[str, Any]]:
    """The test site of ``tests/tracking/urls.py`` with an in-memory catalogue of two products.

    Yields the PERSONALIZATION dict in force; tests may change keys through ``settings``.
    """
    settings.ROOT_URLCONF = "tests.tracking.urls"
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": ("personalization.adapters.InMemoryStoreAdapter", {"products": PRODUCTS}),
        "EXCLUDED_PATH_PREFIXES": [*DEFAULTS["EXCLUDED_PATH_PREFIXES"], "/excluded/"],
    }
    yield settings.PERSONALIZATION
    # The path → product cache outlives the test; other tests must not see this catalogue.
    cache.delete_many([product_path_cache_key(path) for path in SITE_PATHS])


@pytest.fixture
def consenting_client() -> Client:
    """A desktop browser's test client whose visitor accepted analytics and personalization."""
    client = Client(headers={"user-agent": CHROME})
    client.cookies["p13n_consent"] = CONSENT_ALL
    return client


@pytest.fixture
def async_browser() -> AsyncClient:
    """The same for ASGI requests. Pass ``headers=BROWSER`` to each request: AsyncClient does
    not send the headers given to its constructor."""
    client = AsyncClient()
    client.cookies["p13n_consent"] = CONSENT_ALL
    return client


@pytest.fixture
def flush() -> Any:
    """Write what the buffer holds, as the flush task does; returns the number stored."""
    return flush_events
