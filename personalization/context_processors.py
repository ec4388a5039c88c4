"""Template context processors of the app."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .segments.context import EMPTY


class _NoContext:
    """``p13n`` on requests the middleware did not see (error pages, other middleware orders)."""

    segments = EMPTY


_NO_CONTEXT = _NoContext()


def personalization(request: HttpRequest) -> dict[str, Any]:
    """``p13n``: the request's :class:`~personalization.tracking.context.PersonalizationContext`,
    so templates can write ``{% if "high-intent-shoppers" in p13n.segments %}``. Nothing is
    loaded until a template reads an attribute."""
    return {"p13n": getattr(request, "personalization", _NO_CONTEXT)}
