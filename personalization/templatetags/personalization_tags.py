"""Template tags of the app: ``{% load personalization_tags %}``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _

from ..conf import app_settings
from ..consent.policy import banner_categories, current_policy_version
from ..consent.records import ordered
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
        "policy_version": current_policy_version(),
    }


@register.inclusion_tag("personalization/consent_banner.html")
def consent_banner() -> dict[str, Any]:
    """The consent banner, its stylesheet and consent.js: the same markup for every visitor.

    Nothing in it depends on the request, so a page with the banner can come from a full-page
    cache: the banner is hidden, and consent.js shows it when the consent cookie is missing or
    was written under another policy version than ``data-version``. With ``CONSENT_SOURCE``
    "tcf" or "onetrust" only the script is rendered; it mirrors the CMP's answer (docs/consent.md).
    """
    source = app_settings.CONSENT_SOURCE
    cmp_map = app_settings.CMP_CATEGORY_MAP.get(source) if source != "banner" else None
    return {
        "banner": source == "banner",
        "categories": banner_categories(),
        "css": static("personalization/consent.css"),
        "src": static("personalization/consent.min.js"),
        "version": current_policy_version(),
        "endpoint": reverse("personalization:api-consent"),
        "cookie": app_settings.CONSENT_COOKIE_NAME,
        "source": source,
        "opt_out": "+".join(ordered(app_settings.OPT_OUT_SIGNAL_CATEGORIES)),
        "cmp_map": json.dumps(cmp_map, separators=(",", ":")) if cmp_map else "",
    }


def _consent_page_link(
    context: template.Context, url_name: str, text: str, *, do_not_sell: bool
) -> dict[str, Any]:
    if app_settings.CONSENT_SOURCE != "banner":
        return {"href": ""}  # a consent-management platform brings its own links
    href = reverse(url_name)
    request = context.get("request")
    if request is not None:
        href += "?" + urlencode({"next": request.path})
    return {"href": href, "text": text, "do_not_sell": do_not_sell}


@register.inclusion_tag("personalization/consent_link.html", takes_context=True)
def consent_preferences_link(context: template.Context, text: str = "") -> dict[str, Any]:
    """A link that reopens the consent banner (consent.js); without script it leads to the
    preferences page. ``text`` replaces the default "Privacy choices"."""
    return _consent_page_link(
        context,
        "personalization:consent-preferences",
        text or _("Privacy choices"),
        do_not_sell=False,
    )


@register.inclusion_tag("personalization/consent_link.html", takes_context=True)
def do_not_sell_link(context: template.Context, text: str = "") -> dict[str, Any]:
    """The CCPA "Do Not Sell or Share My Personal Information" link: consent.js opens the
    choices with marketing (the sale and sharing of personal information) switched off; without
    script it leads to a page that records the opt-out."""
    return _consent_page_link(
        context,
        "personalization:consent-do-not-sell",
        text or _("Do Not Sell or Share My Personal Information"),
        do_not_sell=True,
    )
