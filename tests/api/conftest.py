"""Fixtures of the API tests: an empty event buffer, the consent policy version cached, and a
visitor with a token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from personalization.consent.policy import current_policy_version
from personalization.tracking.buffer import get_buffer
from tests.api.support import Visitor, make_visitor


@pytest.fixture(autouse=True)
def empty_buffer() -> Iterator[None]:
    """Each test starts and ends with an empty event buffer."""
    buf = get_buffer()
    buf.ack(len(buf))
    yield
    buf = get_buffer()
    buf.ack(len(buf))


@pytest.fixture(autouse=True)
def policy_version_cached(django_db_blocker: Any) -> None:
    """The consent policy version in the cache, as on a running site: the ingest path then
    reads no database, which the tests without the ``django_db`` mark hold it to. (Without
    this they depend on an earlier test having left the version in the cache.)"""
    with django_db_blocker.unblock():
        current_policy_version()


@pytest.fixture
def visitor() -> Visitor:
    return make_visitor()
