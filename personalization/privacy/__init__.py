"""Data-subject rights and privacy by design: export, erasure, pseudonyms, encryption, retention.

The public API (docs/privacy.md)::

    from personalization.privacy import export_user, erase_user, erase_visitor_data
    from personalization.privacy import pseudonymous_key, register_export_section

The functions that touch the database are imported on first use, so that the models can import
:mod:`personalization.privacy.fields` without an import cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

from .pseudonyms import pseudonymous_key, visitor_pseudonym
from .registry import (
    Subject,
    register_erasure_handler,
    register_export_section,
    user_cache_key,
    visitor_cache_key,
)

_LAZY = {
    "export_user": "export",
    "export_visitor": "export",
    "erase_user": "erasure",
    "erase_visitor_data": "erasure",
    "request_erasure": "erasure",
    "purge_expired_events": "retention",
    "purge_expired_sessions": "retention",
}

__all__ = [
    "Subject",
    "erase_user",
    "erase_visitor_data",
    "export_user",
    "export_visitor",
    "pseudonymous_key",
    "purge_expired_events",
    "purge_expired_sessions",
    "register_erasure_handler",
    "register_export_section",
    "request_erasure",
    "user_cache_key",
    "visitor_cache_key",
    "visitor_pseudonym",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
