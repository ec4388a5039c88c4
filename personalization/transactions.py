"""Work that runs once the current database transaction commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction


def on_commit_robust(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Call ``func(*args, **kwargs)`` after the current transaction commits (at once outside a
    transaction); an exception it raises is logged by Django, not raised.

    Django logs a failing robust callback by its ``__qualname__``, which ``functools.partial``
    objects lack (the logging call itself then raises ``AttributeError`` and the original error
    escapes), so the call is wrapped in a function that carries ``func``'s name.
    """

    def callback() -> None:
        func(*args, **kwargs)

    callback.__qualname__ = getattr(func, "__qualname__", repr(func))
    transaction.on_commit(callback, robust=True)
