"""The consent pages for browsers without script: the preferences and "Do Not Sell or Share".

``{% consent_preferences_link %}`` and ``{% do_not_sell_link %}`` point here; consent.js turns
them into the banner instead. Both pages are ordinary forms with Django's CSRF token, are never
cached, and record the choice like the banner does (method ``banner``). Their templates,
``personalization/consent_preferences.html`` and ``personalization/consent_do_not_sell.html``,
extend the site's ``base.html`` and fill its ``title`` and ``content`` blocks; override them to
fit another layout.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..conf import app_settings
from .gate import OPTIONAL_CATEGORIES, current_choice, gpc_signalled
from .policy import banner_categories
from .records import ordered, record_choice


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _saved(request: HttpRequest) -> HttpResponse:
    response = redirect(_safe_next(request))
    messages.success(request, _("Your privacy choices were saved."), fail_silently=True)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """GET: a switch per category, set to the current choice. POST: record ``action`` "accept"
    (everything), "reject" (nothing) or "save" (the ``granted`` boxes ticked)."""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "accept":
            granted = list(OPTIONAL_CATEGORIES)
        elif action == "reject":
            granted = []
        else:
            granted = request.POST.getlist("granted")
        response = _saved(request)
        record_choice(request, response, ordered(granted), "banner")
        return response
    choice = current_choice(request)
    granted = choice.categories if choice is not None else frozenset()
    return render(
        request,
        "personalization/consent_preferences.html",
        {
            "categories": banner_categories(),
            "granted": granted,
            "chosen": choice is not None,
            "gpc": gpc_signalled(request),
            "opt_out": ordered(app_settings.OPT_OUT_SIGNAL_CATEGORIES),
            "next": _safe_next(request),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def do_not_sell(request: HttpRequest) -> HttpResponse:
    """GET: what opting out means, and a button. POST: record the current choice without the
    ``OPT_OUT_SIGNAL_CATEGORIES`` (marketing: the sale and sharing of personal information)."""
    choice = current_choice(request)
    granted = choice.categories if choice is not None else frozenset()
    if request.method == "POST":
        response = _saved(request)
        kept = granted - set(app_settings.OPT_OUT_SIGNAL_CATEGORIES)
        record_choice(request, response, ordered(kept), "banner")
        return response
    opted_out = choice is not None and not granted & set(app_settings.OPT_OUT_SIGNAL_CATEGORIES)
    return render(
        request,
        "personalization/consent_do_not_sell.html",
        {"next": _safe_next(request), "opted_out": opted_out},
    )
