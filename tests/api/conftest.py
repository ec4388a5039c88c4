"""Fixtures of the API tests: an empty event buffer and a visitor with a token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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


@pytest.fixture
def visitor() -> Visitor:
    return make_visitor()
