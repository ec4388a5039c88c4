"""Template context every page of the shop needs: the category menu and the cart count."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from .models import Category
from .services import cart_quantity, get_cart
from .signals import NAV_CATEGORIES_CACHE_KEY

NAV_CATEGORIES_CACHE_SECONDS = 60 * 60


def shop(request: HttpRequest) -> dict[str, Any]:
    """``nav_categories`` and ``cart_item_count``.

    ``nav_categories`` is a cached list of ``{"name", "slug", "url"}`` dicts, cleared whenever a
    category is saved or deleted.
    """
    categories = cache.get(NAV_CATEGORIES_CACHE_KEY)
    if categories is None:
        # Plain values, so the cache never holds model instances across code versions.
        categories = [
            {"name": c.name, "slug": c.slug, "url": c.get_absolute_url()}
            for c in Category.objects.only("name", "slug")
        ]
        cache.set(NAV_CATEGORIES_CACHE_KEY, categories, NAV_CATEGORIES_CACHE_SECONDS)
    return {
        "nav_categories": categories,
        "cart_item_count": cart_quantity(get_cart(request)),
    }
