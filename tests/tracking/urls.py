"""A tiny site for the tracking tests, independent of the demo shop's views and templates."""

from __future__ import annotations

from django.contrib.auth import get_user_model, login, logout
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from personalization import track

HTML = "<!doctype html><html><body>{}</body></html>"


def page(request: HttpRequest, slug: str = "") -> HttpResponse:
    return HttpResponse(HTML.format(slug or request.path))


async def async_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(HTML.format("async"))


def data(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@csrf_exempt
def form(request: HttpRequest) -> HttpResponse:
    return HttpResponse(HTML.format(request.method))


def missing(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotFound(HTML.format("not found"))


def redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/page/")


def visitor_id(request: HttpRequest) -> JsonResponse:
    """Uses the visitor id, as the tracker template tag does."""
    return JsonResponse({"vid": request.personalization.vid})


@csrf_exempt
def add_to_cart(request: HttpRequest) -> JsonResponse:
    event_id = track(request, "add_to_cart", product=request.POST.get("product"), quantity=2)
    return JsonResponse({"event_id": event_id})


@csrf_exempt
def log_in(request: HttpRequest) -> HttpResponse:
    login(request, get_user_model().objects.get(username=request.POST["username"]))
    return HttpResponse("logged in", content_type="text/plain")


@csrf_exempt
def log_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("logged out", content_type="text/plain")


urlpatterns = [
    path("page/", page),
    path("async/", async_page),
    path("products/<slug:slug>/", page),
    path("data/", data),
    path("form/", form),
    path("missing/", missing),
    path("redirect/", redirect),
    path("static/page/", page),
    path("media/page/", page),
    path("admin/page/", page),
    path("excluded/page/", page),
    path("excluded/vid/", visitor_id),
    path("cart/add/", add_to_cart),
    path("login/", log_in),
    path("logout/", log_out),
]
