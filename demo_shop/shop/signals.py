"""Signal receivers of the shop; connected by importing this module in ShopConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Category
from .services import adopt_anonymous_cart

NAV_CATEGORIES_CACHE_KEY = "shop:nav-categories"


@receiver(user_logged_in, dispatch_uid="shop_adopt_anonymous_cart")
def adopt_cart_at_login(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    # Logins outside a request (e.g. Client.force_login without a session) have nothing to adopt.
    if request is not None and hasattr(request, "session"):
        adopt_anonymous_cart(request, user)


@receiver(post_save, sender=Category, dispatch_uid="shop_category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="shop_category_deleted")
def forget_nav_categories(sender: type, **kwargs: Any) -> None:
    cache.delete(NAV_CATEGORIES_CACHE_KEY)
