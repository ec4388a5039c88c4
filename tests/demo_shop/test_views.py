"""The demo shop's pages, cart, checkout, wishlist, accounts, pictures and back office."""

from __future__ import annotations

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from demo_shop.shop.models import (
    Cart,
    CartItem,
    CustomerProfile,
    Order,
    Review,
    WishlistItem,
)
from demo_shop.shop.placeholders import placeholder_svg
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog() -> dict:
    kitchen = make_category("Kitchen", colour="#aa3300")
    garden = make_category("Garden")
    teapot = make_product(
        "Brown Betty Teapot",
        category=kitchen,
        price="24.00",
        compare_at_price=Decimal("30.00"),
        stock=5,
        brand="Brewco",
        tags="tea, ceramic",
        description="Holds four cups.",
        image_count=3,
    )
    kettle = make_product("Stovetop Kettle", category=kitchen, price="35.50", stock=2)
    spade = make_product("Border Spade", category=garden, price="19.99", stock=0)
    hidden = make_product("Secret Teacup", category=kitchen, is_published=False)
    return {
        "kitchen": kitchen,
        "garden": garden,
        "teapot": teapot,
        "kettle": kettle,
        "spade": spade,
        "hidden": hidden,
    }


@pytest.fixture
def ann() -> object:
    return make_user("ann", first_name="Ann")


@pytest.fixture
def ann_client(client: Client, ann) -> Client:
    client.force_login(ann)
    return client


def add(client: Client, product, quantity: int = 1):
    return client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": quantity})


def open_cart_lines(**cart_filter) -> dict[str, int]:
    cart = Cart.objects.get(status=Cart.OPEN, **cart_filter)
    return {item.product.name: item.quantity for item in cart.items.select_related("product")}


def checkout_data(**overrides) -> dict[str, str]:
    data = {
        "name": "Ann Smith",
        "address": "1 High Street",
        "city": "York",
        "postcode": "YO1 7HH",
        "country": "United Kingdom",
        "remember": "on",
    }
    data.update(overrides)
    return data


# --- pages ------------------------------------------------------------------------------------


def test_home_lists_new_sale_and_popular_products_with_tracking_markup(client, catalog) -> None:
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    html = response.content.decode()
    teapot = catalog["teapot"]
    assert f'data-p13n-product="{teapot.pk}" data-p13n-list="home:new"' in html
    assert f'data-p13n-product="{teapot.pk}" data-p13n-list="home:sale"' in html
    assert 'data-p13n-list="home:popular:kitchen"' in html
    assert "Secret Teacup" not in html
    assert '<section class="recommendations" data-p13n-placement="home"></section>' in html
    # Header: categories from the context processor, search box, cart count.
    assert 'href="/categories/garden/"' in html
    assert 'action="/search/"' in html
    assert response.context["cart_item_count"] == 0


def test_category_page_sorts_and_paginates(client, catalog) -> None:
    url = reverse("shop:category", args=["kitchen"])
    by_price = client.get(url, {"sort": "-price"})
    assert by_price.status_code == 200
    assert [p.name for p in by_price.context["page"]] == ["Stovetop Kettle", "Brown Betty Teapot"]
    by_name = client.get(url, {"sort": "name"})
    assert [p.name for p in by_name.context["page"]] == ["Brown Betty Teapot", "Stovetop Kettle"]
    assert 'data-p13n-list="category:kitchen"' in by_name.content.decode()

    for n in range(30):
        make_product(f"Pot {n:02d}", category=catalog["garden"])
    first = client.get(reverse("shop:category", args=["garden"]), {"sort": "newest"})
    assert len(first.context["page"]) == 24
    second = client.get(reverse("shop:category", args=["garden"]), {"sort": "newest", "page": 2})
    assert len(second.context["page"]) == 7
    assert "sort=newest&amp;page=1" in second.content.decode()
    assert client.get(reverse("shop:category", args=["nope"])).status_code == 404


def test_product_page_shows_price_stock_gallery_and_actions(client, catalog) -> None:
    teapot = catalog["teapot"]
    Review.objects.create(product=teapot, user=make_user(), rating=5, title="Lovely")
    Review.objects.create(product=teapot, user=make_user(), rating=4)
    response = client.get(teapot.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-p13n-product-page="{teapot.pk}"' in html
    assert "£24.00" in html and "£30.00" in html  # price and was-price
    assert "Only 5 left" in html
    for number in (1, 2, 3):
        assert f'src="/products/{teapot.slug}/images/{number}.svg"' in html
        assert f'data-p13n-image="{number}"' in html
    assert 'data-p13n-image="4"' not in html
    assert re.search(
        rf'data-p13n-action="add_to_cart" data-p13n-product="{teapot.pk}">.*?'
        r"<button[^>]*>Add to cart</button>",
        html,
        re.S,
    )
    assert "4.5 out of 5" in html and "Lovely" in html
    assert 'href="/search/?q=ceramic"' in html
    assert 'data-p13n-placement="product_similar"' in html
    assert 'data-p13n-placement="product_bought_together"' in html
    # Anonymous visitors are asked to log in instead of seeing the review and wishlist forms.
    assert 'action="/products/brown-betty-teapot/review/"' not in html
    assert "wishlist_add" not in html


def test_sold_out_and_unpublished_products(client, catalog) -> None:
    sold_out = client.get(catalog["spade"].get_absolute_url())
    assert sold_out.status_code == 200
    assert "Add to cart" not in sold_out.content.decode()
    assert client.get(catalog["hidden"].get_absolute_url()).status_code == 404


def test_logged_in_customer_reviews_a_product_once(ann_client, catalog) -> None:
    teapot = catalog["teapot"]
    page = ann_client.get(teapot.get_absolute_url()).content.decode()
    assert f'action="/products/{teapot.slug}/review/"' in page
    url = reverse("shop:review", args=[teapot.slug])
    response = ann_client.post(url, {"rating": 4, "title": "Good", "body": "Pours well."})
    assert response.status_code == 302
    ann_client.post(url, {"rating": 2, "title": "Drips", "body": ""})
    review = Review.objects.get(product=teapot)
    assert (review.rating, review.title) == (2, "Drips")
    invalid = ann_client.post(url, {"rating": 9})
    assert invalid.status_code == 200
    assert invalid.context["review_form"].errors["rating"]


def test_search_by_name_tag_brand_and_category(client, catalog) -> None:
    def names(query: str) -> list[str]:
        response = client.get(reverse("shop:search"), {"q": query})
        assert response.status_code == 200
        return [p.name for p in response.context["page"]]

    assert names("kettle") == ["Stovetop Kettle"]
    assert names("ceramic") == ["Brown Betty Teapot"]
    assert names("brewco") == ["Brown Betty Teapot"]
    assert names("garden") == ["Border Spade"]
    assert names("kitchen tea") == ["Brown Betty Teapot"]  # every word must match
    assert names("teacup") == []  # unpublished
    assert names("") == []
    html = client.get(reverse("shop:search"), {"q": "tea"}).content.decode()
    assert 'data-p13n-search="tea"' in html
    assert 'data-p13n-list="search"' in html


def test_svg_placeholder_image(client, catalog) -> None:
    teapot = catalog["teapot"]
    response = client.get(teapot.image_url(2))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "max-age=86400" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    body = response.content.decode()
    assert body.startswith("<svg") and ">BB</text>" in body and "2/3" in body
    assert "picture 2 of 3" in body
    assert body != client.get(teapot.image_url(1)).content.decode()
    again = client.get(teapot.image_url(2), headers={"if-none-match": response["ETag"]})
    assert again.status_code == 304
    assert client.get(teapot.image_url(4)).status_code == 404
    assert client.get(catalog["hidden"].image_url(1)).status_code == 404


def test_placeholder_escapes_names_and_wraps_long_ones() -> None:
    svg = placeholder_svg('Salt & <Pepper> "Mill"', "not-a-colour", 1, 1)
    assert "&amp;" in svg and "&lt;Pepper&gt;" in svg and "<Pepper>" not in svg
    long_name = "An Extraordinarily Long Product Name That Goes On And On Across Many Lines"
    assert placeholder_svg(long_name, "#fff", 1, 1).count("<tspan") == 3


# --- cart ------------------------------------------------------------------------------------


def test_anonymous_cart_add_update_remove(client, catalog) -> None:
    teapot, kettle = catalog["teapot"], catalog["kettle"]
    response = add(client, teapot)
    assert response.status_code == 302 and response["Location"] == reverse("shop:cart")
    add(client, teapot, 2)
    add(client, kettle)
    session_key = client.session.session_key
    assert open_cart_lines(user=None, session_key=session_key) == {
        "Brown Betty Teapot": 3,
        "Stovetop Kettle": 1,
    }
    page = client.get(reverse("shop:cart"))
    assert page.context["cart_item_count"] == 4
    assert page.context["total"] == Decimal("107.50")
    html = page.content.decode()
    assert f'data-p13n-action="remove_from_cart" data-p13n-product="{kettle.pk}"' in html
    assert 'data-p13n-placement="cart"' in html

    client.post(reverse("shop:cart_update", args=[teapot.pk]), {"quantity": 2})
    assert open_cart_lines(user=None)["Brown Betty Teapot"] == 2
    client.post(reverse("shop:cart_remove", args=[kettle.pk]))
    assert open_cart_lines(user=None) == {"Brown Betty Teapot": 2}
    client.post(reverse("shop:cart_update", args=[teapot.pk]), {"quantity": 0})
    assert open_cart_lines(user=None) == {}


def test_cart_quantities_are_capped_by_stock_and_sold_out_is_refused(client, catalog) -> None:
    add(client, catalog["kettle"], 5)
    assert open_cart_lines(user=None) == {"Stovetop Kettle": 2}
    client.post(reverse("shop:cart_update", args=[catalog["kettle"].pk]), {"quantity": 50})
    assert open_cart_lines(user=None) == {"Stovetop Kettle": 2}
    response = add(client, catalog["spade"])
    assert response.status_code == 302
    assert open_cart_lines(user=None) == {"Stovetop Kettle": 2}
    assert add(client, catalog["hidden"]).status_code == 404


def test_cart_changes_need_post_and_csrf(catalog) -> None:
    strict = Client(enforce_csrf_checks=True)
    url = reverse("shop:cart_add", args=[catalog["teapot"].pk])
    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403
    assert not CartItem.objects.exists()


def test_anonymous_cart_is_adopted_at_log_in(client, catalog, ann) -> None:
    add(client, catalog["teapot"], 2)
    response = client.post(reverse("shop:login"), {"username": "ann", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert open_cart_lines(user=ann) == {"Brown Betty Teapot": 2}
    assert not Cart.objects.filter(user=None).exists()
    assert client.get(reverse("shop:cart")).context["cart_item_count"] == 2


def test_anonymous_cart_merges_into_the_users_open_cart(client, catalog, ann) -> None:
    own = Cart.objects.create(user=ann)
    CartItem.objects.create(cart=own, product=catalog["teapot"], quantity=1)
    add(client, catalog["teapot"], 2)
    add(client, catalog["kettle"])
    client.post(reverse("shop:login"), {"username": "ann", "password": DEFAULT_PASSWORD})
    assert open_cart_lines(user=ann) == {"Brown Betty Teapot": 3, "Stovetop Kettle": 1}
    assert Cart.objects.count() == 1


# --- checkout and orders -------------------------------------------------------------------


def test_checkout_needs_log_in(client, catalog) -> None:
    add(client, catalog["teapot"])
    response = client.get(reverse("shop:checkout"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/checkout/"


def test_checkout_form_is_prefilled_from_the_profile(ann_client, ann, catalog) -> None:
    CustomerProfile.objects.create(user=ann, address="2 Low Road", city="Leeds", country="UK")
    add(ann_client, catalog["teapot"])
    response = ann_client.get(reverse("shop:checkout"))
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert (initial["name"], initial["address"], initial["city"]) == ("Ann", "2 Low Road", "Leeds")


def test_checkout_creates_the_order_and_decrements_stock(ann_client, ann, catalog) -> None:
    teapot, kettle = catalog["teapot"], catalog["kettle"]
    add(ann_client, teapot, 2)
    add(ann_client, kettle)
    cart = Cart.objects.get(user=ann)

    response = ann_client.post(reverse("shop:checkout"), checkout_data())

    order = Order.objects.get(user=ann)
    assert response.status_code == 302
    assert response["Location"] == reverse("shop:order", args=[order.number])
    assert order.total == Decimal("83.50")
    assert order.email == "ann@example.com"
    assert (order.shipping_name, order.shipping_city) == ("Ann Smith", "York")
    lines = {
        line.product_id: (line.quantity, line.unit_price, line.line_total)
        for line in order.lines.all()
    }
    assert lines == {
        teapot.pk: (2, Decimal("24.00"), Decimal("48.00")),
        kettle.pk: (1, Decimal("35.50"), Decimal("35.50")),
    }
    teapot.refresh_from_db()
    kettle.refresh_from_db()
    assert (teapot.stock, kettle.stock) == (3, 1)
    cart.refresh_from_db()
    assert cart.status == Cart.ORDERED
    assert CustomerProfile.objects.get(user=ann).address == "1 High Street"

    page = ann_client.get(response["Location"])
    assert page.status_code == 200
    assert "£83.50" in page.content.decode()
    assert page.context["cart_item_count"] == 0
    account = ann_client.get(reverse("shop:account")).content.decode()
    assert f'href="/orders/{order.number}/"' in account


def test_checkout_refuses_out_of_stock_items(ann_client, ann, catalog) -> None:
    kettle, teapot = catalog["kettle"], catalog["teapot"]
    add(ann_client, teapot)
    add(ann_client, kettle, 2)
    kettle.stock = 1
    kettle.save()

    response = ann_client.post(reverse("shop:checkout"), checkout_data(), follow=True)

    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    messages = [str(m) for m in response.context["messages"]]
    assert any("Not enough stock" in m and "Stovetop Kettle (only 1 left)" in m for m in messages)
    assert not Order.objects.exists()
    teapot.refresh_from_db()
    kettle.refresh_from_db()
    assert (teapot.stock, kettle.stock) == (5, 1)
    assert Cart.objects.get(user=ann).status == Cart.OPEN
    assert "Only 1 left." in response.content.decode()


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(ann_client) -> None:
    response = ann_client.post(reverse("shop:checkout"), checkout_data())
    assert response.status_code == 302 and response["Location"] == reverse("shop:cart")
    assert not Order.objects.exists()


def test_order_page_is_only_for_its_owner(client, ann, catalog) -> None:
    client.force_login(ann)
    add(client, catalog["teapot"])
    client.post(reverse("shop:checkout"), checkout_data())
    url = reverse("shop:order", args=[Order.objects.get().number])
    assert client.get(url).status_code == 200

    client.force_login(make_user("bob"))
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


# --- wishlist and accounts -----------------------------------------------------------------


def test_wishlist_toggle(ann_client, ann, catalog) -> None:
    teapot = catalog["teapot"]
    toggle = reverse("shop:wishlist_toggle", args=[teapot.pk])
    response = ann_client.post(toggle, {"next": teapot.get_absolute_url()})
    assert response["Location"] == teapot.get_absolute_url()
    assert WishlistItem.objects.filter(user=ann, product=teapot).exists()
    page = ann_client.get(teapot.get_absolute_url()).content.decode()
    assert f'data-p13n-action="wishlist_remove" data-p13n-product="{teapot.pk}"' in page
    wishlist = ann_client.get(reverse("shop:wishlist"))
    assert wishlist.status_code == 200
    assert 'data-p13n-list="wishlist"' in wishlist.content.decode()

    ann_client.post(toggle, {"next": "https://evil.example/"})
    assert not WishlistItem.objects.exists()
    page = ann_client.get(teapot.get_absolute_url()).content.decode()
    assert f'data-p13n-action="wishlist_add" data-p13n-product="{teapot.pk}"' in page


def test_wishlist_needs_log_in(client, catalog) -> None:
    assert client.get(reverse("shop:wishlist")).status_code == 302
    client.post(reverse("shop:wishlist_toggle", args=[catalog["teapot"].pk]))
    assert not WishlistItem.objects.exists()


def test_sign_up_creates_the_account_and_logs_in(client) -> None:
    assert client.get(reverse("shop:signup")).status_code == 200
    response = client.post(
        reverse("shop:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": "a-Long-pass-phrase-42",
            "password2": "a-Long-pass-phrase-42",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    assert CustomerProfile.objects.filter(user=user).exists()
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.get(reverse("shop:account")).status_code == 200


def test_log_in_page_and_log_out_by_post(client, ann) -> None:
    assert client.get(reverse("shop:login")).status_code == 200
    client.force_login(ann)
    assert client.get(reverse("shop:logout")).status_code == 405
    response = client.post(reverse("shop:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_account_page_edits_the_profile(ann_client, ann) -> None:
    page = ann_client.get(reverse("shop:account"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/wishlist/"' in html and "No orders yet." in html
    assert 'data-p13n-placement="account"' in html
    assert not CustomerProfile.objects.exists()  # looking creates nothing
    ann_client.post(
        reverse("shop:account"),
        {
            "first_name": "Annie",
            "last_name": "Smith",
            "email": "annie@example.com",
            "city": "Bath",
            "country": "UK",
        },
    )
    ann.refresh_from_db()
    assert (ann.first_name, ann.email) == ("Annie", "annie@example.com")
    assert CustomerProfile.objects.get(user=ann).city == "Bath"


# --- back office ---------------------------------------------------------------------------


def test_admin_changelists_and_order_page_render_for_a_superuser(client, ann, catalog) -> None:
    client.force_login(ann)
    add(client, catalog["teapot"])
    client.post(reverse("shop:checkout"), checkout_data())
    Review.objects.create(product=catalog["teapot"], user=ann, rating=3)
    WishlistItem.objects.create(user=ann, product=catalog["kettle"])
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(admin)
    for model in (
        "category",
        "product",
        "order",
        "review",
        "cart",
        "wishlistitem",
        "customerprofile",
    ):
        response = client.get(reverse(f"admin:shop_{model}_changelist"))
        assert response.status_code == 200, model
    filtered = client.get(reverse("admin:shop_product_changelist"), {"stock": "out"})
    assert list(filtered.context["cl"].queryset) == [catalog["spade"]]
    order = Order.objects.get()
    page = client.get(reverse("admin:shop_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert "Brown Betty Teapot" in page.content.decode()


def test_ensure_demo_admin_creates_the_superuser_once_and_prints_log_ins() -> None:
    customer = make_user("customer0001", password="demo-password")
    CustomerProfile.objects.create(user=customer, persona="bargain_hunter")
    out = StringIO()
    call_command("ensure_demo_admin", stdout=out)
    call_command("ensure_demo_admin", stdout=out)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    text = out.getvalue()
    assert text.count("Created the superuser") == 1
    assert "Admin log-in: admin / admin at /admin/" in text
    assert "Demo customer log-in: customer0001 / demo-password" in text
