"""A tiny site for the browser tests of tracker.js: pages marked up with data-p13n-* attributes.

Every page loads the tracker through ``{% personalization_tracker %}``; none has inline script.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt

# A 1x1 transparent GIF, stretched by the width and height attributes.
PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

PRODUCT_PAGE = """{% load personalization_tags %}<!doctype html>
<html><head><title>Test mug</title>
<script src="/tracker-test/datalayer.js"></script>
{% personalization_tracker %}
</head><body>
<main data-p13n-product-page="mug-1">
  <h1>Test mug</h1>
  <img id="main-image" data-p13n-image="front" src="{{ pixel }}" width="300" height="200" alt="">
  <form id="add" data-p13n-action="add_to_cart" action="/tracker-test/cart/" method="post"
        target="sink">
    <input name="quantity" value="3"><button>Add to cart</button>
  </form>
  <button id="wish" type="button" data-p13n-action="wishlist_add">Add to wishlist</button>
  <section data-p13n-list="related">
    <a id="related" href="/tracker-test/other/" data-p13n-product="teapot-2">Teapot</a>
  </section>
  <form id="search" data-p13n-search action="/tracker-test/cart/" method="get" target="sink">
    <input type="search" name="q"><button>Search</button>
  </form>
  <iframe name="sink" title="sink" width="1" height="1"></iframe>
  <div style="height: 3000px"></div>
  <img id="detail" data-p13n-image="detail" src="{{ pixel }}" width="300" height="200" alt="">
</main>
</body></html>"""

OTHER_PAGE = """{% load personalization_tags %}<!doctype html>
<html><head><title>Other</title>{% personalization_tracker %}</head>
<body><p>Another page.</p></body></html>"""

# Entries a tag manager pushed before the tracker loaded: the tracker replays them.
DATALAYER_JS = """window.dataLayer = window.dataLayer || [];
window.dataLayer.push({event: "gtm.js", "gtm.start": 1});
window.dataLayer.push({event: "view_item", ecommerce: {items: [{item_id: "mug-1"}]}});
window.dataLayer.push({event: "select_promotion", ecommerce: {promotion_id: "summer"}});
"""


def _render(source: str, request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(source)
    return HttpResponse(template.render({"pixel": PIXEL}, request))


def product(request: HttpRequest) -> HttpResponse:
    return _render(PRODUCT_PAGE, request)


def other(request: HttpRequest) -> HttpResponse:
    return _render(OTHER_PAGE, request)


def datalayer(request: HttpRequest) -> HttpResponse:
    return HttpResponse(DATALAYER_JS, content_type="text/javascript")


@csrf_exempt
@xframe_options_sameorigin
def cart(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("personalization/", include("personalization.urls")),
    path("tracker-test/product/", product),
    path("tracker-test/other/", other),
    path("tracker-test/datalayer.js", datalayer),
    path("tracker-test/cart/", cart),
]
