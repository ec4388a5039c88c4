"""Template tags of the app: ``{% load personalization_tags %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.templatetags.static import static
from django.urls import reverse

from ..conf import app_settings
from ..tracking import tokens

register = template.Library()


@register.inclusion_tag("personalization/tracker.html", takes_context=True)
def personalization_tracker(context: template.Context) -> dict[str, Any]:
    """The ``<script defer>`` tag of tracker.js with its settings as data attributes.

    Renders nothing when tracking is disabled. The visitor token is embedded only when this
    request may be tracked; otherwise the script waits for consent and then fetches a token from
    the token endpoint (docs/tracking.md).
    """
    if not app_settings.TRACKING_ENABLED:
        return {"enabled": False}
    request = context.get("request")
    state = getattr(request, "personalization", None)
    token = ""
    if state is not None and state.tracking and state.vid:
        token = tokens.issue(state.vid)
    return {
        "enabled": True,
        "src": static("personalization/tracker.min.js"),
        "endpoint": reverse("personalization:api-events"),
        "token_url": reverse("personalization:api-token"),
        "token": token,
        "consent_cookie": app_settings.CONSENT_COOKIE_NAME,
        "consent_required": app_settings.CONSENT_REQUIRED,
    }
