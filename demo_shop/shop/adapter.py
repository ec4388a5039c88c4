"""The demo shop's StoreAdapter: how the personalization app reads this store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import Resolver404, resolve, reverse

from personalization.adapters import (
    CustomerData,
    OrderData,
    OrderLineData,
    ProductData,
    StoreAdapter,
)

from .models import Cart, CartItem, CustomerProfile, Order, Product, Review, WishlistItem

ORDER_CHUNK = 2000
_SLUG_SLOT = "0slug0"
#: Seconds a cart's product ids stay cached. Every change forgets them (and again once its
#: transaction commits); the limit bounds what a read racing a change could leave behind.
CART_PRODUCTS_TTL = 10 * 60


def cart_products_cache_key(*, user_id: Any = None, session_key: str = "") -> str:
    """Where ``cart_product_ids`` keeps the cart of a user, or else of an anonymous session."""
    if user_id is not None:
        return f"shop:cart-products:u:{user_id}"
    return f"shop:cart-products:s:{session_key}"


def _forget_cart_products(user_id: Any, session_key: str) -> None:
    keys = [cart_products_cache_key(session_key=session_key)] if session_key else []
    if user_id is not None:
        keys.append(cart_products_cache_key(user_id=user_id))
    if keys:
        cache.delete_many(keys)


def forget_cart_products(user_id: Any, session_key: str) -> None:
    """Forget the cached products of the carts of ``user_id`` and ``session_key``: now, and
    once the transaction commits (a concurrent read may have cached the old rows meanwhile)."""
    _forget_cart_products(user_id, session_key)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _forget_cart_products(user_id, session_key))


@receiver(post_save, sender=Cart, dispatch_uid="shop_cart_products_cart_saved")
@receiver(post_delete, sender=Cart, dispatch_uid="shop_cart_products_cart_deleted")
def _cart_changed(sender: type, instance: Cart, **kwargs: Any) -> None:
    forget_cart_products(instance.user_id, instance.session_key)


@receiver(post_save, sender=CartItem, dispatch_uid="shop_cart_products_item_saved")
@receiver(post_delete, sender=CartItem, dispatch_uid="shop_cart_products_item_deleted")
def _cart_item_changed(sender: type, instance: CartItem, **kwargs: Any) -> None:
    if CartItem.cart.is_cached(instance):
        forget_cart_products(instance.cart.user_id, instance.cart.session_key)
        return
    owner = Cart.objects.filter(pk=instance.cart_id).values_list("user_id", "session_key")
    for user_id, session_key in owner:
        forget_cart_products(user_id, session_key)


def product_data(product: Product, urls: tuple[str, str] | None = None) -> ProductData:
    """The product as the app sees it; ``urls`` (page, first image) when already known."""
    url, image_url = urls or (product.get_absolute_url(), product.image_url(1))
    return ProductData(
        id=str(product.pk),
        title=product.name,
        description=product.description,
        category=product.category.name,
        brand=product.brand,
        price=product.price,
        tags=tuple(product.tag_list),
        in_stock=product.in_stock,
        published=product.is_published,
        url=url,
        image_url=image_url,
        compare_at_price=product.compare_at_price,
    )


class ShopAdapter(StoreAdapter):
    def get_product(self, product_id: str) -> ProductData | None:
        try:
            product = Product.objects.select_related("category").get(pk=int(product_id))
        except (Product.DoesNotExist, ValueError, TypeError):
            return None
        return product_data(product)

    def get_products(self, product_ids: Iterable[str]) -> dict[str, ProductData]:
        ids = [int(i) for i in product_ids if str(i).isdigit()]
        products = Product.objects.select_related("category").filter(pk__in=ids)
        # Two reverse() calls per batch instead of two per product (slugs need no quoting): a
        # recommendation list that missed the cache asks for 24 products at once.
        page = reverse("shop:product", args=[_SLUG_SLOT])
        image = reverse("shop:product_image", args=[_SLUG_SLOT, 1])
        return {
            str(p.pk): product_data(
                p, (page.replace(_SLUG_SLOT, p.slug, 1), image.replace(_SLUG_SLOT, p.slug, 1))
            )
            for p in products
        }

    def iter_products(self) -> Iterator[ProductData]:
        for product in Product.objects.select_related("category").order_by("pk").iterator(2000):
            yield product_data(product)

    def iter_orders(
        self, since: dt.datetime | None = None, customer_id: str | None = None
    ) -> Iterator[OrderData]:
        orders = Order.objects.order_by("created_at", "pk").prefetch_related("lines")
        if since is not None:
            orders = orders.filter(created_at__gte=since)
        if customer_id is not None:
            orders = orders.filter(user_id=customer_id)
        for order in orders.iterator(chunk_size=ORDER_CHUNK):
            yield OrderData(
                id=order.number,
                customer_id=str(order.user_id) if order.user_id else None,
                timestamp=order.created_at,
                currency=order.currency,
                lines=tuple(
                    OrderLineData(str(line.product_id), line.quantity, line.line_total)
                    for line in order.lines.all()
                ),
            )

    def cart_product_ids(self, request: HttpRequest) -> list[str]:
        """The products in the open cart that ``services.get_cart`` would pick (the newest open
        cart of the user, or of the session for an anonymous visitor).

        Asked on every page with recommendations, so the answer is cached per user or session
        until the cart changes (the receivers below forget it), and the query on a miss is
        hand-written: building the same query with the ORM costs several times more than
        running it.
        """
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            owner, value = "c.user_id = %s", user.pk
            key = cart_products_cache_key(user_id=user.pk)
        else:
            value = getattr(getattr(request, "session", None), "session_key", None)
            if not value:
                return []
            owner = "c.user_id IS NULL AND c.session_key = %s"
            key = cart_products_cache_key(session_key=value)
        cached = cache.get(key)
        if cached is not None:
            return list(cached)
        sql = (
            f"SELECT i.product_id FROM {CartItem._meta.db_table} i WHERE i.cart_id = "
            f"(SELECT c.id FROM {Cart._meta.db_table} c WHERE c.status = %s AND {owner} "
            "ORDER BY c.updated_at DESC LIMIT 1)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [Cart.OPEN, value])
            found = [str(row[0]) for row in cursor.fetchall()]
        # Inside a transaction the rows may be uncommitted (and rolled back): not for others.
        if not connection.in_atomic_block:
            cache.set(key, found, CART_PRODUCTS_TTL)
        return found

    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """The customer's profile, orders, wishlist and reviews, for "Download my data"."""
        profile = CustomerProfile.objects.filter(user_id=customer_id).first()
        orders = Order.objects.filter(user_id=customer_id).prefetch_related("lines__product")
        return {
            "profile": None
            if profile is None
            else {
                name: getattr(profile, name)
                for name in ("phone", "address", "city", "postcode", "country", "birth_year")
            },
            "orders": [
                {
                    "number": order.number,
                    "created_at": order.created_at,
                    "email": order.email,
                    "total": order.total,
                    "currency": order.currency,
                    "shipping": {
                        "name": order.shipping_name,
                        "address": order.shipping_address,
                        "city": order.shipping_city,
                        "postcode": order.shipping_postcode,
                        "country": order.shipping_country,
                    },
                    "lines": [
                        {
                            "product": line.product.name,
                            "quantity": line.quantity,
                            "unit_price": line.unit_price,
                            "line_total": line.line_total,
                        }
                        for line in order.lines.all()
                    ],
                }
                for order in orders
            ],
            "wishlist": [
                {"product": item.product.name, "added_at": item.added_at}
                for item in WishlistItem.objects.filter(user_id=customer_id).select_related(
                    "product"
                )
            ],
            "reviews": [
                {
                    "product": review.product.name,
                    "rating": review.rating,
                    "title": review.title,
                    "body": review.body,
                    "created_at": review.created_at,
                }
                for review in Review.objects.filter(user_id=customer_id).select_related("product")
            ],
        }

    def iter_customer_attributes(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Country and birth year (no contact details) of the customers who gave them."""
        rows = CustomerProfile.objects.order_by("user_id").values_list(
            "user_id", "country", "birth_year"
        )
        for user_id, country, birth_year in rows.iterator(chunk_size=ORDER_CHUNK):
            attributes = {"country": country} if country else {}
            if birth_year:
                attributes["birth_year"] = birth_year
            if attributes:
                yield str(user_id), attributes

    def iter_customers(self, ids: Iterable[str] | None = None) -> Iterator[CustomerData]:
        """Name, e-mail and the profile's phone, address and postcode of every account."""
        users = get_user_model().objects.select_related("customer").order_by("pk")
        if ids is not None:
            users = users.filter(pk__in=[int(i) for i in ids if str(i).isdigit()])
        for user in users.iterator(chunk_size=2000):
            profile = getattr(user, "customer", None)
            yield CustomerData(
                id=str(user.pk),
                name=user.get_full_name(),
                email=user.email,
                phone=profile.phone if profile else "",
                address=", ".join(p for p in (profile.address, profile.city) if p)
                if profile
                else "",
                postcode=profile.postcode if profile else "",
            )

    def merge_customers(self, source_id: str, target_id: str) -> dict[str, int]:
        """Give the source account's orders, carts, wishlist, reviews and (when the target has
        none) profile to the target. Wishlist items and reviews the target already has for the
        same product stay with the source account, and so does an open cart when the target has
        one."""
        carts = Cart.objects.filter(user_id=source_id)
        if Cart.objects.filter(user_id=target_id, status=Cart.OPEN).exists():
            carts = carts.exclude(status=Cart.OPEN)
        moved = {
            "orders": Order.objects.filter(user_id=source_id).update(user_id=target_id),
            "carts": carts.update(user_id=target_id),
            "wishlist_items": WishlistItem.objects.filter(user_id=source_id)
            .exclude(product__in=WishlistItem.objects.filter(user_id=target_id).values("product"))
            .update(user_id=target_id),
            "reviews": Review.objects.filter(user_id=source_id)
            .exclude(product__in=Review.objects.filter(user_id=target_id).values("product"))
            .update(user_id=target_id),
            "customer_profiles": 0,
        }
        if not CustomerProfile.objects.filter(user_id=target_id).exists():
            moved["customer_profiles"] = CustomerProfile.objects.filter(user_id=source_id).update(
                user_id=target_id
            )
        return moved

    def product_id_for_path(self, path: str) -> str | None:
        try:
            match = resolve(path)
        except Resolver404:
            return None
        if match.view_name != "shop:product":
            return None
        product_id = (
            Product.objects.filter(slug=match.kwargs.get("slug"))
            .values_list("pk", flat=True)
            .first()
        )
        return str(product_id) if product_id is not None else None
