"""Which event properties are sensitive: moved out of ``Event.properties`` (plain JSON that
analytics reads and filters) into ``Event.sensitive`` (encrypted at rest) by the event writer."""

from __future__ import annotations

from typing import Any

from ..conf import app_settings


def split_sensitive(properties: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(plain, sensitive)``: the top-level properties named in ``SENSITIVE_EVENT_PROPERTIES``
    (compared without case) go to ``sensitive``. ``properties`` itself is returned as ``plain``
    when it has none of them."""
    names = app_settings.SENSITIVE_EVENT_PROPERTIES
    if not properties or not names:
        return properties, {}
    wanted = {name.lower() for name in names}
    hits = [key for key in properties if key.lower() in wanted]
    if not hits:
        return properties, {}
    plain = dict(properties)
    return plain, {key: plain.pop(key) for key in hits}
