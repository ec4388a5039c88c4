"""Template filters of the demo shop: money and star ratings."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


@register.filter
def money(value: Decimal | float | int | None, currency: str = "GBP") -> str:
    """``1234.5`` → ``£1,234.50``; empty for ``None``."""
    if value is None or value == "":
        return ""
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    return f"{symbol}{Decimal(value):,.2f}"


@register.filter
def stars(rating: float | None) -> str:
    """A rating out of 5 as five star characters, rounded to the nearest whole star."""
    filled = 0 if rating is None else max(0, min(5, round(float(rating))))
    return "★" * filled + "☆" * (5 - filled)


@register.filter
def percent_off(product) -> int:
    """How much cheaper than the was-price the product is, in whole percent."""
    if not product.on_sale:
        return 0
    return round(100 * (1 - product.price / product.compare_at_price))
