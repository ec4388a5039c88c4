from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "demo_shop.shop"
    label = "shop"
    verbose_name = "Demo shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing the module connects its receivers (cart adoption at log-in, cache clearing).
        # The adapter's receivers forget a cart's cached products when the cart changes.
        from . import adapter, signals  # noqa: F401
