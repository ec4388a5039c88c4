"""Serving recommendations (personalization.recommendations.serving) over a stub store.

The trained lists are replaced by :class:`FakeStore` (the contract of ``store.py``), the catalogue
by an in-memory adapter, so each test states exactly what the models would say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory

from personalization.adapters import InMemoryStoreAdapter, OrderData, OrderLineData, ProductData
from personalization.recommendations import serving, store
from personalization.tracking.context import PersonalizationContext

CONSENT_ALL = "1:analytics+personalization"
CONSENT_ANALYTICS = "1:analytics"
VID = "visitor-aaaaaaaaaaaa"


def product(pid: str, category: str = "mugs", **fields: Any) -> ProductData:
    return ProductData(
        id=pid, title=f"Product {pid}", category=category, url=f"/products/{pid}/", **fields
    )


# 12 products in three categories; "x1" is unpublished, "x2" sold out, "s1" on sale.
PRODUCTS = [
    *(product(f"m{i}", "mugs") for i in range(1, 5)),
    *(product(f"t{i}", "teapots") for i in range(1, 5)),
    product("b1", "bowls"),
    product("s1", "bowls", price=Decimal("5"), compare_at_price=Decimal("9")),
    product("x1", "bowls", published=False),
    product("x2", "bowls", in_stock=False),
]


@dataclass
class FakeStore:
    """The trained lists, by hand: ``persons[(key, kind)]``, ``products[(id, kind)]``."""

    persons: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict)
    products: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict)
    trending: list[tuple[str, float]] = field(default_factory=list)
    versions: dict[str, Any] = field(
        default_factory=lambda: {
            kind: SimpleNamespace(pk=n)
            for n, kind in enumerate(
                ["default", "buy_again", "similar", "bought_together", "trending"], start=11
            )
        }
    )


def ranking(*ids: str) -> list[tuple[str, float]]:
    return [(pid, float(len(ids) - i)) for i, pid in enumerate(ids)]


@pytest.fixture
def fake_store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    fake = FakeStore()
    monkeypatch.setattr(
        store, "for_person", lambda key, kind="default": fake.persons.get((key, kind))
    )
    monkeypatch.setattr(store, "for_product", lambda pid, kind: fake.products.get((pid, kind)))
    monkeypatch.setattr(store, "trending", lambda: list(fake.trending))
    monkeypatch.setattr(store, "active_version", lambda name="default": fake.versions.get(name))
    return fake


@pytest.fixture
def catalogue(settings: Any) -> Iterator[dict[str, Any]]:
    """The in-memory catalogue and orders; the product cache off so that tests see changes."""
    orders: list[OrderData] = []
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "STORE_ADAPTER": (
            "personalization.adapters.InMemoryStoreAdapter",
            {"products": PRODUCTS, "orders": orders},
        ),
        "RECOMMENDATION_PRODUCT_CACHE_SECONDS": 0,
        "RECOMMENDATION_MAX_PER_CATEGORY": None,
    }
    # Per-person lists (recent views, dismissed, purchases) live in the cache, product data in
    # the process's memo: start afresh.
    cache.clear()
    serving.product_memo.clear()
    yield {"orders": orders}
    cache.clear()
    serving.product_memo.clear()


def make_request(
    path: str = "/",
    *,
    consent: str | None = CONSENT_ALL,
    vid: str = VID,
    user: Any = None,
    segments: frozenset[str] | None = None,
) -> Any:
    request = RequestFactory().get(path)
    if consent:
        request.COOKIES["p13n_consent"] = consent
    request.COOKIES["p13n_vid"] = vid
    request.user = user or AnonymousUser()
    request.personalization = PersonalizationContext(request)
    if segments is not None:
        request.personalization.segments = segments
    return request


def ids(rec: serving.Recommendation) -> list[str]:
    return rec.product_ids


pytestmark = pytest.mark.django_db


# --- sources ----------------------------------------------------------------------------------


def test_for_you_uses_the_persons_precomputed_list(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.persons[(f"v:{VID}", "default")] = ranking("m1", "t1", "m2")
    fake_store.trending = ranking("b1")
    rec = serving.recommend(make_request(), "home", source="for_you")
    assert ids(rec) == ["m1", "t1", "m2"]
    assert (rec.placement, rec.source, rec.kind, rec.version_id) == (
        "home",
        "for_you",
        "default",
        11,
    )
    assert rec.personal is True
    assert [item.position for item in rec] == [1, 2, 3]
    assert rec.items[0].url == f"/personalization/api/recommendations/click/{rec.id}/m1/"


def test_new_visitor_gets_trending(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("b1", "m3")
    rec = serving.recommend(make_request(vid="visitor-bbbbbbbbbbbb"), "for_you")
    assert ids(rec) == ["b1", "m3"]
    assert (rec.kind, rec.version_id) == ("trending", 15)


def test_session_views_are_blended_in_at_once(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("b1", "m3", "m4")
    fake_store.products[("t1", "similar")] = ranking("t2", "t3")
    # Viewing t1's page (one request) makes the next list lead with t1's neighbours.
    serving.recommend(make_request("/products/t1/"), "similar", product="t1")
    rec = serving.recommend(make_request(), "for_you")
    assert ids(rec) == ["t2", "t3", "b1", "m3", "m4"]


def test_session_blend_can_be_turned_off(
    fake_store: FakeStore, catalogue: Any, settings: Any
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "RECOMMENDATION_SESSION_WEIGHT": 0}
    fake_store.trending = ranking("b1", "m3")
    fake_store.products[("t1", "similar")] = ranking("t2")
    serving.recommend(make_request("/products/t1/"), "similar", product="t1")
    assert ids(serving.recommend(make_request(), "for_you")) == ["b1", "m3"]


def test_similar_excludes_the_product_viewed(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.products[("m1", "similar")] = ranking("m1", "m2", "m3")
    rec = serving.recommend(
        make_request("/products/m1/"), "product_similar", source="similar", product="m1"
    )
    assert ids(rec) == ["m2", "m3"]
    assert rec.kind == "similar"


def test_similar_needs_a_product(fake_store: FakeStore, catalogue: Any) -> None:
    rec = serving.recommend(make_request(), "similar")
    assert not rec and rec.reason == "no_product"


def test_bought_together_of_the_cart(
    fake_store: FakeStore, catalogue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        InMemoryStoreAdapter, "cart_product_ids", lambda self, request: ["m1", "t1"]
    )
    fake_store.products[("m1", "bought_together")] = ranking("t1", "m2")
    fake_store.products[("t1", "bought_together")] = ranking("m1", "t3")
    rec = serving.recommend(make_request("/cart/"), "cart", source="bought_together")
    assert sorted(ids(rec)) == ["m2", "t3"]  # both baskets' partners, without the cart itself


def test_bought_together_falls_back_to_similar(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.products[("m1", "similar")] = ranking("m2")
    rec = serving.recommend(make_request(), "bought_together", product="m1")
    assert ids(rec) == ["m2"]
    assert rec.kind == "similar"


def test_recently_viewed_newest_first_without_the_current_page(
    fake_store: FakeStore, catalogue: Any
) -> None:
    for pid in ("m1", "t1", "b1"):
        serving.recommend(make_request(f"/products/{pid}/"), "trending")
    rec = serving.recommend(make_request("/products/t1/"), "recently_viewed")
    assert ids(rec) == ["b1", "m1"]
    assert rec.kind == "recently_viewed" and rec.version_id is None


def test_buy_again_keeps_purchases_that_other_lists_drop(
    fake_store: FakeStore, catalogue: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user("ann", password="x")
    catalogue["orders"].append(
        OrderData(
            "N-1",
            str(user.pk),
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            (OrderLineData("m1", 1, Decimal("10")),),
        )
    )
    fake_store.persons[(f"u:{user.pk}", "buy_again")] = ranking("m1")
    fake_store.persons[(f"u:{user.pk}", "default")] = ranking("m1", "m2")
    request = make_request(user=user)
    assert ids(serving.recommend(request, "buy_again")) == ["m1"]
    assert ids(serving.recommend(make_request(user=user), "for_you")) == ["m2"]


def test_buy_again_is_empty_for_a_visitor(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("m1")
    assert ids(serving.recommend(make_request(), "buy_again")) == []


def test_unknown_source_is_an_error(fake_store: FakeStore, catalogue: Any) -> None:
    with pytest.raises(serving.UnknownSource):
        serving.recommend(make_request(), "sidebar")


@pytest.mark.parametrize(("limit", "expected"), [(None, 8), ("3", 3), (0, 1), (1000, 50)])
def test_limit(limit: Any, expected: int) -> None:
    assert serving.clamp_limit(limit) == expected


def test_bad_limit() -> None:
    with pytest.raises(ValueError, match="whole number"):
        serving.clamp_limit("many")


# --- rules and consent ------------------------------------------------------------------------


def test_unpublished_and_sold_out_are_never_shown(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("x1", "x2", "unknown", "m1")
    assert ids(serving.recommend(make_request(), "trending")) == ["m1"]


def test_no_product_twice_on_one_page(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.trending = ranking("m1", "m2", "m3", "m4")
    fake_store.products[("t1", "similar")] = ranking("m1", "m2", "t2")
    request = make_request("/products/t1/")
    first = serving.recommend(request, "similar", product="t1", limit=2)
    second = serving.recommend(request, "trending", limit=4)
    assert ids(first) == ["m1", "m2"]
    assert ids(second) == ["m3", "m4"]
    # Another page view starts afresh.
    assert ids(serving.recommend(make_request(), "trending", limit=2)) == ["m1", "m2"]


def test_category_cap(fake_store: FakeStore, catalogue: Any, settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "RECOMMENDATION_MAX_PER_CATEGORY": 2}
    fake_store.trending = ranking("m1", "m2", "m3", "t1")
    assert ids(serving.recommend(make_request(), "trending")) == ["m1", "m2", "t1"]


def test_mmr_setting_diversifies(fake_store: FakeStore, catalogue: Any, settings: Any) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "RECOMMENDATION_MMR_LAMBDA": 0.3}
    fake_store.trending = ranking("m1", "m2", "m3", "t1")
    assert ids(serving.recommend(make_request(), "trending"))[:2] == ["m1", "t1"]


def test_segment_boosts(fake_store: FakeStore, catalogue: Any, settings: Any) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "RECOMMENDATION_SEGMENT_BOOSTS": {"bargain-hunters": {"on_sale": 4.0}},
    }
    fake_store.persons[(f"v:{VID}", "default")] = ranking("m1", "m2", "s1")
    plain = serving.recommend(make_request(segments=frozenset()), "for_you")
    hunter = serving.recommend(make_request(segments=frozenset({"bargain-hunters"})), "for_you")
    assert ids(plain) == ["m1", "m2", "s1"]
    assert ids(hunter)[0] == "s1"


def test_personal_lists_need_consent(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.persons[(f"v:{VID}", "default")] = ranking("m1")
    fake_store.trending = ranking("m1")
    for consent in (None, CONSENT_ANALYTICS):
        request = make_request(consent=consent)
        for source in ("for_you", "recently_viewed", "buy_again", "bought_together"):
            rec = serving.recommend(request, source, product="t1")
            assert not rec and rec.reason == "consent"
        # Trending is the same for everyone: served without consent, and not personal.
        trending = serving.recommend(request, "trending")
        assert ids(trending) == ["m1"] and trending.personal is False


def test_not_interested_is_respected(fake_store: FakeStore, catalogue: Any) -> None:
    from personalization.models import NotInterested

    fake_store.persons[(f"v:{VID}", "default")] = ranking("m1", "m2")
    assert ids(serving.recommend(make_request(), "for_you")) == ["m1", "m2"]
    NotInterested.objects.create(vid=VID, product_id="m1")
    cache.delete(serving.dismissed_key(None, VID))
    assert ids(serving.recommend(make_request(), "for_you")) == ["m2"]
    # Every list shown to this visitor leaves it out, trending included.
    fake_store.trending = ranking("m1", "m3")
    assert ids(serving.recommend(make_request(), "trending")) == ["m3"]
    # Another visitor is not affected.
    fake_store.persons[("v:visitor-cccccccccccc", "default")] = ranking("m1", "m2")
    assert ids(serving.recommend(make_request(vid="visitor-cccccccccccc"), "for_you")) == [
        "m1",
        "m2",
    ]


def test_cart_from_session_events_without_adapter_support(
    fake_store: FakeStore, catalogue: Any
) -> None:
    from personalization.models import Event, Session, Visitor

    request = make_request()
    session_id = request.personalization.session_id
    visitor = Visitor.objects.create(vid=VID)
    session = Session.objects.create(id=session_id, visitor=visitor)
    for name, pid in [("add_to_cart", "m1"), ("add_to_cart", "m2"), ("remove_from_cart", "m1")]:
        Event.objects.create(name=name, visitor=visitor, session=session, product_id=pid)
    fake_store.trending = ranking("m1", "m2", "m3")
    assert ids(serving.recommend(request, "for_you")) == ["m1", "m3"]


def test_product_data_is_cached(fake_store: FakeStore, catalogue: Any, settings: Any) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "RECOMMENDATION_PRODUCT_CACHE_SECONDS": 60,
    }
    fake_store.trending = ranking("m1", "m2")
    calls = []
    original = InMemoryStoreAdapter.get_products

    def counting(self: Any, product_ids: Any) -> Any:
        calls.append(list(product_ids))
        return original(self, calls[-1])

    InMemoryStoreAdapter.get_products = counting  # type: ignore[method-assign]
    try:
        serving.recommend(make_request(), "trending")
        serving.recommend(make_request(), "trending")
    finally:
        InMemoryStoreAdapter.get_products = original  # type: ignore[method-assign]
    assert calls == [["m1", "m2"]]


def test_a_broken_store_shows_nothing(
    fake_store: FakeStore, catalogue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> list:
        raise ConnectionError("cache down")

    monkeypatch.setattr(store, "trending", broken)
    rec = serving.recommend(make_request(), "trending")
    assert not rec
    # A store adapter that fails (the product data) does not break the page either.
    fake_store.persons[(f"v:{VID}", "default")] = ranking("m1")
    monkeypatch.setattr(InMemoryStoreAdapter, "get_products", lambda self, ids: broken())
    assert not serving.recommend(make_request(), "for_you")


# --- template tags ----------------------------------------------------------------------------


def render(source: str, request: Any, **context: Any) -> str:
    return Template("{% load personalization_tags %}" + source).render(
        Context({"request": request, **context})
    )


def test_tag_renders_the_widget(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.persons[(f"v:{VID}", "default")] = ranking("m1", "m2", "m3")
    html = render('{% recommended_for_you limit=2 placement="home" %}', make_request())
    assert 'data-p13n-rec-placement="home"' in html
    assert "Recommended for you" in html
    assert html.count('class="p13n-recs-item"') == 2
    assert "/personalization/api/recommendations/click/" in html
    assert 'data-p13n-not-interested="m1"' in html
    assert 'data-p13n-feedback-url="/personalization/api/recommendations/feedback/"' in html


def test_tag_as_variable(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.products[("m1", "similar")] = ranking("m2", "m3")
    html = render(
        "{% similar_products product as recs %}{{ recs.placement }}:"
        "{% for item in recs %}{{ item.product.title }};{% endfor %}",
        make_request(),
        product=SimpleNamespace(pk="m1"),
    )
    assert html == "similar:Product m2;Product m3;"


def test_tag_template_override(
    fake_store: FakeStore, catalogue: Any, tmp_path: Any, settings: Any
) -> None:
    (tmp_path / "mine.html").write_text(
        "{{ title }}|{% for item in rec %}{{ item.id }}{% endfor %}"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    fake_store.trending = ranking("m1", "t1")
    html = render('{% trending template="mine.html" title="Hot" %}', make_request())
    assert html == "Hot|m1t1"


def test_tags_render_nothing_without_consent(fake_store: FakeStore, catalogue: Any) -> None:
    fake_store.persons[(f"v:{VID}", "default")] = ranking("m1")
    fake_store.products[("m1", "similar")] = ranking("m2")
    fake_store.products[("m1", "bought_together")] = ranking("m2")
    fake_store.trending = ranking("t1")
    request = make_request(consent=None)
    for tag in (
        "{% recommended_for_you %}",
        "{% similar_products product %}",
        "{% bought_together product %}",
        "{% recently_viewed %}",
        "{% buy_again %}",
    ):
        assert render(tag, request, product="m1").strip() == ""
    trending = render("{% trending %}", request)
    assert "Trending now" in trending and "data-p13n-not-interested" not in trending


def test_tag_syntax_errors() -> None:
    with pytest.raises(TemplateSyntaxError, match="unknown option"):
        Template("{% load personalization_tags %}{% trending colour='red' %}")
    with pytest.raises(TemplateSyntaxError, match="unexpected"):
        Template("{% load personalization_tags %}{% trending product %}")


def test_demo_adapter_reads_the_open_cart(django_user_model: Any) -> None:
    from demo_shop.shop.adapter import ShopAdapter
    from demo_shop.shop.models import Cart, CartItem
    from tests.factories import make_product

    user = django_user_model.objects.create_user("cat", password="x")
    mug, pot, old = make_product("Mug"), make_product("Pot"), make_product("Old")
    ordered = Cart.objects.create(user=user, status=Cart.ORDERED)
    CartItem.objects.create(cart=ordered, product=old)
    cart = Cart.objects.create(user=user)
    CartItem.objects.create(cart=cart, product=mug)
    CartItem.objects.create(cart=cart, product=pot)
    request = RequestFactory().get("/")
    request.user = user
    assert sorted(ShopAdapter().cart_product_ids(request)) == sorted([str(mug.pk), str(pot.pk)])
    request.user = AnonymousUser()
    request.session = SimpleNamespace(session_key=None)
    assert ShopAdapter().cart_product_ids(request) == []
    anonymous = Cart.objects.create(session_key="s" * 32)
    CartItem.objects.create(cart=anonymous, product=old)
    request.session = SimpleNamespace(session_key="s" * 32)
    assert ShopAdapter().cart_product_ids(request) == [str(old.pk)]


# --- system checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("RECOMMENDATION_DEFAULT_LIMIT", 0, "personalization.E060"),
        ("RECOMMENDATION_MAX_PER_CATEGORY", "3", "personalization.E060"),
        ("RECOMMENDATION_MMR_LAMBDA", 1.5, "personalization.E061"),
        ("RECOMMENDATION_SESSION_DECAY", -0.1, "personalization.E061"),
        ("RECOMMENDATION_ATTRIBUTION_WINDOW_DAYS", "7", "personalization.E061"),
        (
            "RECOMMENDATION_SEGMENT_BOOSTS",
            {"bargain-hunters": {"on_sale": 0}},
            "personalization.E062",
        ),
        ("RECOMMENDATION_SEGMENT_BOOSTS", ["on_sale"], "personalization.E062"),
        ("RECOMMENDATION_DEFAULT_LIMIT", 60, "personalization.E063"),
    ],
)
def test_serving_settings_are_checked(settings: Any, name: str, value: Any, check_id: str) -> None:
    from personalization.checks import check_recommendation_serving_settings

    assert check_recommendation_serving_settings() == []
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, name: value}
    assert [m.id for m in check_recommendation_serving_settings()] == [check_id]


def test_lists_about_a_product_are_not_capped(
    fake_store: FakeStore, catalogue: Any, settings: Any
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "RECOMMENDATION_MAX_PER_CATEGORY": 2}
    fake_store.products[("t1", "similar")] = ranking("m1", "m2", "m3", "t2")
    assert ids(serving.recommend(make_request(), "similar", product="t1")) == [
        "m1",
        "m2",
        "m3",
        "t2",
    ]
    fake_store.trending = ranking("m1", "m2", "m3", "t2")
    assert ids(serving.recommend(make_request(), "trending")) == ["m1", "m2", "t2"]
