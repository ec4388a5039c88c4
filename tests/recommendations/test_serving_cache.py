"""What serving keeps between requests: the demo cart's products, the widget's item markup, the
click links, and the product views remembered on pages without a widget."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings

from demo_shop.shop import services
from demo_shop.shop.adapter import ShopAdapter, cart_products_cache_key
from demo_shop.shop.models import Cart
from personalization.adapters import ProductData
from personalization.recommendations import serving, store
from personalization.templatetags import personalization_tags
from personalization.tracking.context import PersonalizationContext
from personalization.tracking.server import product_path_cache_key
from tests.factories import make_product, make_user

CONSENT_ALL = "1:analytics+personalization"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
VID = "visitor-cccccccccccc"


def cart_request(user: Any = None, session_key: str | None = None) -> Any:
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = SimpleNamespace(session_key=session_key)
    return request


# --- the demo adapter's cart ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_cart_is_read_once_until_it_changes(django_assert_num_queries: Any) -> None:
    cache.clear()
    user = make_user()
    mug, pot = make_product("Mug"), make_product("Pot")
    request = cart_request(user)
    adapter = ShopAdapter()
    cart = Cart.objects.create(user=user)
    services.add_to_cart(cart, mug)
    with django_assert_num_queries(1):
        assert adapter.cart_product_ids(request) == [str(mug.pk)]
        assert adapter.cart_product_ids(request) == [str(mug.pk)]
    services.add_to_cart(cart, pot)
    assert sorted(adapter.cart_product_ids(request)) == sorted([str(mug.pk), str(pot.pk)])
    services.remove_from_cart(cart, mug)
    assert adapter.cart_product_ids(request) == [str(pot.pk)]
    cart.status = Cart.ORDERED
    cart.save()
    assert adapter.cart_product_ids(request) == []
    # A change made without the cart being loaded (e.g. a bulk delete of items) is seen too.
    again = Cart.objects.create(user=user)
    services.add_to_cart(again, mug)
    assert adapter.cart_product_ids(request) == [str(mug.pk)]
    again.items.all().delete()
    assert adapter.cart_product_ids(request) == []
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_cart_is_cached_per_session_and_forgotten_at_adoption() -> None:
    cache.clear()
    mug = make_product("Mug")
    cart = Cart.objects.create(session_key="k" * 32)
    services.add_to_cart(cart, mug)
    anonymous = cart_request(session_key="k" * 32)
    assert ShopAdapter().cart_product_ids(anonymous) == [str(mug.pk)]
    assert cache.get(cart_products_cache_key(session_key="k" * 32)) == [str(mug.pk)]
    user = make_user()
    assert ShopAdapter().cart_product_ids(cart_request(user)) == []
    cart.user = user
    cart.save()
    assert ShopAdapter().cart_product_ids(cart_request(user)) == [str(mug.pk)]
    assert cache.get(cart_products_cache_key(session_key="k" * 32)) is None
    cache.clear()


@pytest.mark.django_db
def test_a_cart_read_inside_a_transaction_is_not_cached() -> None:
    user = make_user()
    cart = Cart.objects.create(user=user)
    services.add_to_cart(cart, make_product("Mug"))
    cache.delete(cart_products_cache_key(user_id=user.pk))
    assert ShopAdapter().cart_product_ids(cart_request(user))
    assert cache.get(cart_products_cache_key(user_id=user.pk)) is None


# --- the widget's item markup -----------------------------------------------------------------


@pytest.fixture
def shop(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ProductData]]:
    """Two products in an in-memory catalogue, trending in that order."""
    products = {
        "m1": ProductData(id="m1", title="Mug <b>", url="/products/m1/", category="mugs"),
        "t1": ProductData(id="t1", title="Teapot", url="/products/t1/", category="teapots"),
    }
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": (
            "personalization.adapters.InMemoryStoreAdapter",
            {"products": list(products.values())},
        ),
        "RECOMMENDATION_PRODUCT_CACHE_SECONDS": 0,
    }
    monkeypatch.setattr(store, "trending", lambda: [("m1", 2.0), ("t1", 1.0)])
    monkeypatch.setattr(store, "active_version", lambda name="default": None)
    cache.clear()
    personalization_tags._item_fragments.clear()
    yield products
    cache.clear()
    personalization_tags._item_fragments.clear()


def consenting_request(path: str = "/") -> Any:
    request = RequestFactory().get(path)
    request.COOKIES["p13n_consent"] = CONSENT_ALL
    request.COOKIES["p13n_vid"] = VID
    request.user = AnonymousUser()
    request.personalization = PersonalizationContext(request)
    return request


def render(source: str, request: Any) -> str:
    return Template("{% load personalization_tags %}" + source).render(
        Context({"request": request})
    )


def rec_id(html: str) -> str:
    return html.split('data-p13n-rec="', 1)[1].split('"', 1)[0]


@pytest.mark.django_db
def test_cached_item_markup_gets_each_lists_links(shop: dict[str, ProductData]) -> None:
    first = render("{% trending %}", consenting_request())
    second = render("{% trending %}", consenting_request())
    assert rec_id(first) != rec_id(second)
    for html in (first, second):
        click = f"/personalization/api/recommendations/click/{rec_id(html)}/"
        assert html.count(f'href="{click}') == 2
        assert f'href="{click}m1/"' in html and f'href="{click}t1/"' in html
        assert "Mug &lt;b&gt;" in html and "<b>" not in html
        assert html.count('data-p13n-not-interested="') == 2
    # The fragments are the same markup the template renders; only the links differ.
    assert first.replace(rec_id(first), "") == second.replace(rec_id(second), "")


@pytest.mark.django_db
def test_item_markup_follows_product_changes_and_consent(
    shop: dict[str, ProductData], settings: Any
) -> None:
    render("{% trending %}", consenting_request())
    products = [ProductData(id="m1", title="Big mug", url="/products/m1/"), shop["t1"]]
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": ("personalization.adapters.InMemoryStoreAdapter", {"products": products}),
    }
    html = render("{% trending %}", consenting_request())
    assert "Big mug" in html and "Mug &lt;b&gt;" not in html
    # Without the personalization consent trending has no "Not interested" buttons.
    request = consenting_request()
    request.COOKIES["p13n_consent"] = "1:analytics"
    request.personalization = PersonalizationContext(request)
    html = render("{% trending %}", request)
    assert "Big mug" in html and "data-p13n-not-interested" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("markup", "links"),
    [("<i>{{ item.title }}</i>", 0), ('<a href="{{ item.url }}">{{ item.url }}</a>', 2)],
)
def test_an_overriding_item_template_may_use_the_link_any_number_of_times(
    shop: dict[str, ProductData], settings: Any, tmp_path: Any, markup: str, links: int
) -> None:
    folder = tmp_path / "personalization" / "recommendations"
    folder.mkdir(parents=True)
    (folder / "item.html").write_text(markup)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    html = render("{% trending %}", consenting_request())
    click = f"/personalization/api/recommendations/click/{rec_id(html)}/"
    assert html.count(click) == 2 * links
    assert "<i>Mug &lt;b&gt;</i>" in html or links


@pytest.mark.django_db
def test_click_links_follow_the_script_prefix(shop: dict[str, ProductData]) -> None:
    from django.urls import set_script_prefix

    plain = serving.click_url_maker("00000000-0000-4000-8000-00000000000a")("m1")
    set_script_prefix("/shop/")
    try:
        prefixed = serving.click_url_maker("00000000-0000-4000-8000-00000000000a")("m 1")
    finally:
        set_script_prefix("/")
    assert (
        plain
        == "/personalization/api/recommendations/click/00000000-0000-4000-8000-00000000000a/m1/"
    )
    assert prefixed == "/shop" + plain.replace("/m1/", "/m%201/")


# --- product views on pages without a widget --------------------------------------------------


@pytest.mark.django_db
def test_a_product_page_without_widget_counts_for_recently_viewed(
    shop: dict[str, ProductData], settings: Any
) -> None:
    def visit(path: str, vid: str, consent: str) -> None:
        client = Client(headers={"user-agent": CHROME})
        client.cookies["p13n_consent"] = consent
        client.cookies["p13n_vid"] = vid
        with override_settings(ROOT_URLCONF="tests.tracking.urls"):  # pages without widgets
            assert client.get(path).status_code == 200

    try:
        visit("/products/m1/", VID, CONSENT_ALL)
        visit("/products/t1/", VID, CONSENT_ALL)
        rec = serving.recommend(consenting_request("/page/"), "recently_viewed")
        assert rec.product_ids == ["t1", "m1"]
        # Without the personalization consent the view is not remembered.
        visit("/products/m1/", "visitor-dddddddddddd", "1:analytics")
        request = consenting_request("/page/")
        request.COOKIES["p13n_vid"] = "visitor-dddddddddddd"
        request.personalization = PersonalizationContext(request)
        assert not serving.recommend(request, "recently_viewed")
    finally:
        cache.delete_many([product_path_cache_key(f"/products/{pid}/") for pid in shop])


@pytest.mark.django_db
def test_demo_products_in_a_batch_have_their_own_urls() -> None:
    products = [make_product("Mug"), make_product("Blue pot")]
    found = ShopAdapter().get_products([str(p.pk) for p in products])
    for product in products:
        data = found[str(product.pk)]
        assert (data.url, data.image_url) == (product.get_absolute_url(), product.image_url(1))
        assert data == ShopAdapter().get_product(str(product.pk))


# --- the person's state -----------------------------------------------------------------------


class CountingCache:
    """The cache, counting the reads of ``serving``."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.append("get")
        return cache.get(key, default)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        self.reads.append("get_many")
        return cache.get_many(keys)

    def __getattr__(self, name: str) -> Any:
        return getattr(cache, name)


def user_request(user: Any) -> Any:
    request = consenting_request()
    request.user = user
    return request


@pytest.mark.django_db
def test_a_persons_views_dismissals_and_purchases_are_read_in_one_round_trip(
    shop: dict[str, ProductData], monkeypatch: pytest.MonkeyPatch
) -> None:
    from personalization.privacy.registry import user_cache_key

    user = make_user("prefetched")
    cache.set(user_cache_key(user.pk, "rec-recent"), [("t1", "s1")])
    cache.set(user_cache_key(user.pk, "rec-dismissed"), {"m1"})
    cache.set(user_cache_key(user.pk, "rec-purchased"), {"t1"})
    counting = CountingCache()
    monkeypatch.setattr(serving, "cache", counting)

    state = serving.request_state(user_request(user))

    assert serving.recent_views(state) == [("t1", "s1")]
    assert serving.dismissed_ids(state) == {"m1"}
    assert serving.purchased_ids(state) == {"t1"}
    assert counting.reads == ["get_many"]


@pytest.mark.django_db
def test_what_the_cache_does_not_hold_is_loaded_from_the_database(
    shop: dict[str, ProductData],
) -> None:
    from personalization.models import NotInterested

    user = make_user("uncached")
    NotInterested.objects.create(user=user, product_id="m1")

    state = serving.request_state(user_request(user))

    assert serving.recent_views(state) == []
    assert serving.dismissed_ids(state) == {"m1"}
    assert serving.purchased_ids(state) == set()
    # ... and kept for the next request, which reads all three in one round trip.
    assert serving.dismissed_ids(serving.request_state(user_request(user))) == {"m1"}
