"""Canonical event names and the Segment (e-commerce v2) and GA4 aliases that map onto them."""

from __future__ import annotations

PAGE_VIEW = "page_view"
PRODUCT_VIEW = "product_view"
PRODUCT_CLICK = "product_click"
IMAGE_VIEW = "image_view"
ADD_TO_CART = "add_to_cart"
REMOVE_FROM_CART = "remove_from_cart"
WISHLIST_ADD = "wishlist_add"
WISHLIST_REMOVE = "wishlist_remove"
SEARCH = "search"
CHECKOUT_START = "checkout_start"
PURCHASE = "purchase"
DWELL = "dwell"
SCROLL_DEPTH = "scroll_depth"
RECOMMENDATION_CLICK = "recommendation_click"

EVENT_NAMES: tuple[str, ...] = (
    PAGE_VIEW,
    PRODUCT_VIEW,
    PRODUCT_CLICK,
    IMAGE_VIEW,
    ADD_TO_CART,
    REMOVE_FROM_CART,
    WISHLIST_ADD,
    WISHLIST_REMOVE,
    SEARCH,
    CHECKOUT_START,
    PURCHASE,
    DWELL,
    SCROLL_DEPTH,
    RECOMMENDATION_CLICK,
)

# Events that concern one product and must carry its id.
PRODUCT_EVENTS: frozenset[str] = frozenset(
    {
        PRODUCT_VIEW,
        PRODUCT_CLICK,
        IMAGE_VIEW,
        ADD_TO_CART,
        REMOVE_FROM_CART,
        WISHLIST_ADD,
        WISHLIST_REMOVE,
    }
)

ALIASES: dict[str, str] = {
    # Segment e-commerce spec v2
    "Products Searched": SEARCH,
    "Product List Viewed": PAGE_VIEW,
    "Product Clicked": PRODUCT_CLICK,
    "Product Viewed": PRODUCT_VIEW,
    "Product Added": ADD_TO_CART,
    "Product Removed": REMOVE_FROM_CART,
    "Product Added to Wishlist": WISHLIST_ADD,
    "Product Removed from Wishlist": WISHLIST_REMOVE,
    "Checkout Started": CHECKOUT_START,
    "Order Completed": PURCHASE,
    "Product Image Viewed": IMAGE_VIEW,
    "Page Viewed": PAGE_VIEW,
    # GA4 recommended e-commerce events
    "page_view": PAGE_VIEW,
    "view_item": PRODUCT_VIEW,
    "select_item": PRODUCT_CLICK,
    "view_item_list": PAGE_VIEW,
    "add_to_cart": ADD_TO_CART,
    "remove_from_cart": REMOVE_FROM_CART,
    "add_to_wishlist": WISHLIST_ADD,
    "begin_checkout": CHECKOUT_START,
    "purchase": PURCHASE,
    "view_search_results": SEARCH,
    "search": SEARCH,
    "select_promotion": RECOMMENDATION_CLICK,
}


def canonical_name(name: str) -> str | None:
    """The canonical name for ``name`` (itself or an alias), or ``None`` if it is unknown."""
    if name in EVENT_NAMES:
        return name
    return ALIASES.get(name)
