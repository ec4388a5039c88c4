"""The registry that lets each feature add its data to exports and erasures.

Export and erasure know the tracking data (visitors, sessions, events, identity merges), the
consent log, the retention aggregates and the store's own data (through the adapter). Features
that keep more about a person (profiles, segments, recommendations shown) register here, from
their ``AppConfig.ready()`` or a module it imports, instead of editing the export or erasure code::

    from personalization.privacy import (
        Subject, register_erasure_handler, register_export_section,
    )

    def export_segments(subject: Subject) -> list[dict]:
        return [{"segment": m.segment.name, "since": m.created_at.isoformat()}
                for m in Membership.objects.filter(user_id=subject.user_id)]

    def erase_segments(subject: Subject) -> dict[str, int]:
        if not subject.covers("personalization"):
            return {}
        deleted, _ = Membership.objects.filter(user_id=subject.user_id).delete()
        return {"segment_memberships": deleted}

    register_export_section("segments", export_segments)
    register_erasure_handler(erase_segments)

A section returns JSON-serialisable data (dates as ISO strings). A handler deletes or anonymises
what it owns and returns counts per data type, which go into the audit record. Handlers run in
registration order, inside the erasure's transaction, and must be idempotent.

Per-person cache keys follow one prefix convention, ``p13n:user:<user id>:`` and
``p13n:visitor:<vid>:`` (build them with :func:`user_cache_key` / :func:`visitor_cache_key`):
with django-redis, erasure deletes every key under those prefixes (``delete_pattern``). Other
cache backends cannot list keys, so a feature that caches per person also deletes its exact keys
in its erasure handler; that works with every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

USER_CACHE_PREFIX = "p13n:user:"
VISITOR_CACHE_PREFIX = "p13n:visitor:"


@dataclass(frozen=True)
class Subject:
    """The person (or browser) an export or erasure is about.

    ``user_id`` is the user's primary key (None for an anonymous browser); ``visitor_ids`` and
    ``vids`` are the primary keys and cookie ids of the visitors that belong to them.
    ``categories`` is the erasure's scope: None for everything (a data-subject request), or the
    consent categories the browser no longer allows (a withdrawal).
    """

    user_id: Any = None
    visitor_ids: tuple[int, ...] = ()
    vids: tuple[str, ...] = ()
    categories: frozenset[str] | None = field(default=None)

    def covers(self, *categories: str) -> bool:
        """Whether the data collected under ``categories`` is to be erased: always for a full
        erasure, else only when none of them is allowed any longer."""
        return self.categories is None or set(categories) <= self.categories


ExportSection = Callable[[Subject], Any]
ErasureHandler = Callable[[Subject], Mapping[str, int]]

_sections: dict[str, ExportSection] = {}
_handlers: list[ErasureHandler] = []


def register_export_section(name: str, fn: ExportSection) -> ExportSection:
    """Add section ``name`` to every export; ``fn(subject)`` returns its JSON-serialisable data.

    Raises ValueError when another function already registered that name.
    """
    current = _sections.get(name)
    if current is not None and current is not fn:
        raise ValueError(f"An export section named {name!r} is already registered.")
    _sections[name] = fn
    return fn


def register_erasure_handler(fn: ErasureHandler) -> ErasureHandler:
    """Run ``fn(subject)`` at every erasure; it returns ``{data type: rows erased}``.

    Registering the same function twice has no effect.
    """
    if fn not in _handlers:
        _handlers.append(fn)
    return fn


def export_sections() -> dict[str, ExportSection]:
    """The registered sections, in registration order."""
    return dict(_sections)


def erasure_handlers() -> list[ErasureHandler]:
    """The registered handlers, in registration order."""
    return list(_handlers)


def user_cache_key(user_id: Any, *parts: Any) -> str:
    """A cache key about one user: ``p13n:user:<id>:<parts joined by ':'>``."""
    return ":".join([f"{USER_CACHE_PREFIX}{user_id}", *map(str, parts)])


def visitor_cache_key(vid: str, *parts: Any) -> str:
    """A cache key about one browser: ``p13n:visitor:<vid>:<parts joined by ':'>``."""
    return ":".join([f"{VISITOR_CACHE_PREFIX}{vid}", *map(str, parts)])
