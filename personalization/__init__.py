"""Data-driven personalization for Django stores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tracking.server import track

__version__ = "0.1.0"
__all__ = ["track"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the package is imported before Django's app registry is ready.
    if name == "track":
        from .tracking.server import track

        return track
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
