"""The shopper's side: "Download my data" and "Delete my data" for the logged-in person.

The store links to them from its account page::

    <a href="{% url 'personalization:privacy-export' %}">Download my data</a>
    <a href="{% url 'personalization:privacy-erase' %}?next={{ request.path|urlencode }}">
      Delete my data</a>

The confirmation page renders ``personalization/privacy/erase_confirm.html``, which extends the
site's ``base.html`` and fills its ``title`` and ``content`` blocks; override the template to fit
another layout.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ..conf import app_settings
from .erasure import request_erasure
from .export import export_user


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


@never_cache
@login_required
@require_GET
def download_my_data(request: HttpRequest) -> HttpResponse:
    """Everything held about the logged-in person, as a JSON file to save."""
    data = export_user(request.user.pk, via="account")
    body = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"my-data-{timezone.now():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def erase_my_data(request: HttpRequest) -> HttpResponse:
    """GET: what erasure removes, and a confirmation button. POST: queue the erasure, say so, and
    log the person out when ``ERASURE_LOGS_OUT`` is True."""
    if request.method == "GET":
        return render(
            request, "personalization/privacy/erase_confirm.html", {"next": _safe_next(request)}
        )
    request_erasure(request.user.pk, via="account")
    if app_settings.ERASURE_LOGS_OUT:
        logout(request)
        target = resolve_url(settings.LOGOUT_REDIRECT_URL or "/")
    else:
        target = _safe_next(request)
    # Added after the log-out, which empties the session the messages may be kept in.
    messages.success(
        request,
        _("Your data will be erased. It can take a few minutes; you will not be asked again."),
    )
    return redirect(target)
