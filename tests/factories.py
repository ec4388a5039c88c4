"""Small helpers that create demo shop data for tests; every argument has a sensible default."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils.text import slugify

from demo_shop.shop.models import Category, Product

DEFAULT_PASSWORD = "test-password-123"

_sequence = itertools.count(1)


def make_category(name: str | None = None, **fields: Any) -> Category:
    """A category named ``name`` (unique by default), slug derived from the name."""
    name = name or f"Category {next(_sequence)}"
    fields.setdefault("slug", slugify(name))
    return Category.objects.create(name=name, **fields)


def make_product(
    name: str | None = None,
    *,
    category: Category | None = None,
    price: Decimal | str | int = "10.00",
    stock: int = 10,
    **fields: Any,
) -> Product:
    """A published product in ``category`` (a new one if omitted), with unique sku and slug."""
    n = next(_sequence)
    name = name or f"Product {n}"
    fields.setdefault("slug", f"{slugify(name)}-{n}")
    fields.setdefault("sku", f"SKU-{n:05d}")
    return Product.objects.create(
        name=name,
        category=category or make_category(),
        price=Decimal(str(price)),
        stock=stock,
        **fields,
    )


def make_user(
    username: str | None = None, password: str = DEFAULT_PASSWORD, **fields: Any
) -> AbstractBaseUser:
    """A user with a usable ``password`` (``DEFAULT_PASSWORD`` unless given)."""
    username = username or f"user{next(_sequence)}"
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username=username, password=password, **fields)
