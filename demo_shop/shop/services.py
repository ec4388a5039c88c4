"""The shop's business operations: carts, wishlists and orders.

Views stay thin and call these functions; the tracking integration hooks the server-side events
(for instance ``purchase`` in :func:`place_order`) here, in one place per operation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Sum
from django.http import HttpRequest
from django.utils import timezone

from .models import Cart, CartItem, CustomerProfile, Order, OrderLine, Product, WishlistItem

# The session remembers its anonymous cart's id because log-in gives the session a new key
# (django.contrib.auth.login cycles it) before ``user_logged_in`` fires.
SESSION_CART_ID = "shop_cart_id"
MAX_LINE_QUANTITY = 99


class CheckoutError(Exception):
    """An order could not be placed; the message is meant for the customer."""


class EmptyCart(CheckoutError):
    def __init__(self) -> None:
        super().__init__("Your cart is empty.")


class OutOfStock(CheckoutError):
    """Some cart lines ask for more than the shop has (or for products no longer sold)."""

    def __init__(self, shortages: list[tuple[Product, int]]) -> None:
        self.shortages = shortages
        parts = [
            f"{product.name} (only {available} left)" if available else f"{product.name} (sold out)"
            for product, available in shortages
        ]
        super().__init__(
            "Not enough stock for: " + "; ".join(parts) + ". Please adjust your cart; "
            "nothing was ordered."
        )


@dataclass(frozen=True)
class Shipping:
    """Where an order goes."""

    name: str
    address: str
    city: str
    postcode: str
    country: str


# --- carts -----------------------------------------------------------------------------------


def _user(request: HttpRequest) -> AbstractBaseUser | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def get_cart(request: HttpRequest, *, create: bool = False) -> Cart | None:
    """The open cart of the request's user, or of its session for an anonymous visitor.

    With ``create`` a missing cart (and, for anonymous visitors, a missing session) is created.
    """
    user = _user(request)
    session = getattr(request, "session", None)
    if user is not None:
        cart = Cart.objects.filter(user=user, status=Cart.OPEN).order_by("-updated_at").first()
        if cart is None and create:
            cart = Cart.objects.create(user=user, session_key=session.session_key or "")
        return cart
    if session is None:
        return None
    if session.session_key is None:
        if not create:
            return None
        session.create()
    cart = (
        Cart.objects.filter(user=None, status=Cart.OPEN, session_key=session.session_key)
        .order_by("-updated_at")
        .first()
    )
    if cart is None and create:
        cart = Cart.objects.create(session_key=session.session_key)
    if cart is not None and session.get(SESSION_CART_ID) != cart.pk:
        session[SESSION_CART_ID] = cart.pk
    return cart


def cart_quantity(cart: Cart | None) -> int:
    """Number of units in ``cart`` (0 for no cart), in one query."""
    if cart is None:
        return 0
    return cart.items.aggregate(n=Sum("quantity"))["n"] or 0


def _touch(cart: Cart) -> None:
    cart.updated_at = timezone.now()
    cart.save(update_fields=["updated_at"])


def add_to_cart(cart: Cart, product: Product, quantity: int = 1) -> tuple[CartItem, bool]:
    """Add ``quantity`` units, capped by the stock; raises :class:`OutOfStock` when none are left.

    Returns the cart line and whether the cap cut the quantity down.
    """
    if not product.is_published or product.stock < 1:
        raise OutOfStock([(product, 0)])
    item, _ = CartItem.objects.get_or_create(cart=cart, product=product, defaults={"quantity": 0})
    wanted = item.quantity + max(quantity, 1)
    item.quantity = min(wanted, product.stock, MAX_LINE_QUANTITY)
    item.save(update_fields=["quantity"])
    _touch(cart)
    return item, item.quantity < wanted


def set_quantity(cart: Cart, product: Product, quantity: int) -> CartItem | None:
    """Set a line's quantity (capped by the stock); 0 or less removes the line."""
    if quantity <= 0:
        remove_from_cart(cart, product)
        return None
    item = CartItem.objects.filter(cart=cart, product=product).first()
    if item is None:
        return None
    item.quantity = min(quantity, max(product.stock, 1), MAX_LINE_QUANTITY)
    item.save(update_fields=["quantity"])
    _touch(cart)
    return item


def remove_from_cart(cart: Cart, product: Product) -> bool:
    """Remove a product's line; ``True`` if there was one."""
    deleted, _ = CartItem.objects.filter(cart=cart, product=product).delete()
    if deleted:
        _touch(cart)
    return bool(deleted)


@transaction.atomic
def adopt_anonymous_cart(request: HttpRequest, user: AbstractBaseUser) -> Cart | None:
    """Give the session's anonymous cart to ``user`` who just logged in.

    If the user already has an open cart, the anonymous lines are merged into it (quantities
    added) and the anonymous cart is deleted. Returns the user's open cart, if any.
    """
    session = getattr(request, "session", None)
    cart_id = session.get(SESSION_CART_ID) if session is not None else None
    anonymous = (
        Cart.objects.filter(pk=cart_id, user=None, status=Cart.OPEN).first() if cart_id else None
    )
    own = Cart.objects.filter(user=user, status=Cart.OPEN).order_by("-updated_at").first()
    if anonymous is None:
        return own
    if own is None:
        anonymous.user = user
        anonymous.session_key = session.session_key or ""
        anonymous.updated_at = timezone.now()
        anonymous.save(update_fields=["user", "session_key", "updated_at"])
        return anonymous
    existing = {item.product_id: item for item in own.items.all()}
    for item in anonymous.items.all():
        if item.product_id in existing:
            CartItem.objects.filter(pk=existing[item.product_id].pk).update(
                quantity=F("quantity") + item.quantity
            )
        else:
            CartItem.objects.create(cart=own, product_id=item.product_id, quantity=item.quantity)
    anonymous.delete()
    _touch(own)
    return own


# --- wishlist --------------------------------------------------------------------------------


def toggle_wishlist(user: AbstractBaseUser, product: Product) -> bool:
    """Add the product to the user's wishlist, or remove it if it is there; ``True`` if added."""
    deleted, _ = WishlistItem.objects.filter(user=user, product=product).delete()
    if deleted:
        return False
    WishlistItem.objects.create(user=user, product=product)
    return True


# --- account -------------------------------------------------------------------------------


def remember_address(user: AbstractBaseUser, shipping: Shipping) -> CustomerProfile:
    """Save the shipping address on the user's profile, for the next checkout."""
    profile, _ = CustomerProfile.objects.get_or_create(user=user)
    profile.address = shipping.address
    profile.city = shipping.city
    profile.postcode = shipping.postcode
    profile.country = shipping.country
    profile.save(update_fields=["address", "city", "postcode", "country"])
    return profile


# --- orders ----------------------------------------------------------------------------------


def _order_number() -> str:
    return f"{timezone.now():%Y%m%d}-{secrets.token_hex(4).upper()}"


def place_order(user: AbstractBaseUser, cart: Cart, shipping: Shipping) -> Order:
    """Turn ``cart`` into an order for ``user``, all or nothing.

    Locks the products, refuses the whole order with :class:`OutOfStock` if any line asks for
    more than is in stock (or for an unpublished product), decrements the stock, records the
    current prices on the lines and marks the cart ordered. Raises :class:`EmptyCart` for a cart
    without lines.
    """
    with transaction.atomic():
        items = list(cart.items.order_by("pk"))
        if not items:
            raise EmptyCart()
        products = {
            p.pk: p
            for p in Product.objects.select_for_update()
            .filter(pk__in=[i.product_id for i in items])
            .order_by("pk")
        }
        shortages = [
            (products[i.product_id], products[i.product_id].stock)
            for i in items
            if not products[i.product_id].is_published or products[i.product_id].stock < i.quantity
        ]
        if shortages:
            raise OutOfStock([(p, stock if p.is_published else 0) for p, stock in shortages])
        order = Order.objects.create(
            number=_order_number(),
            user=user,
            email=getattr(user, "email", "") or "",
            shipping_name=shipping.name,
            shipping_address=shipping.address,
            shipping_city=shipping.city,
            shipping_postcode=shipping.postcode,
            shipping_country=shipping.country,
        )
        lines = [
            OrderLine(
                order=order,
                product=products[i.product_id],
                quantity=i.quantity,
                unit_price=products[i.product_id].price,
                line_total=products[i.product_id].price * i.quantity,
            )
            for i in items
        ]
        OrderLine.objects.bulk_create(lines)
        for item in items:
            # The stock condition guards databases where SELECT ... FOR UPDATE is a no-op.
            updated = Product.objects.filter(pk=item.product_id, stock__gte=item.quantity).update(
                stock=F("stock") - item.quantity
            )
            if not updated:
                raise OutOfStock([(products[item.product_id], 0)])
        order.total = sum((line.line_total for line in lines), order.total)
        order.save(update_fields=["total"])
        cart.status = Cart.ORDERED
        cart.updated_at = timezone.now()
        cart.save(update_fields=["status", "updated_at"])
    return order
