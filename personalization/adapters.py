"""The store adapter: the only way the app reads a store's catalog and orders.

A store subclasses :class:`StoreAdapter`, implements the abstract methods with its own models and
names the class in ``PERSONALIZATION["STORE_ADAPTER"]``. Everything the app needs from the store is
returned as the plain dataclasses below, so the ML cores never see the store's ORM models.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .conf import load_component


@dataclass(frozen=True)
class ProductData:
    """What the app knows of one product (also the input of content-based features)."""

    id: str
    title: str
    description: str = ""
    category: str = ""
    brand: str = ""
    price: Decimal = Decimal("0")
    tags: tuple[str, ...] = ()
    in_stock: bool = True
    published: bool = True
    url: str = ""
    image_url: str = ""
    #: The was-price when the product is on sale (optional; ``None`` when not known or not on sale).
    compare_at_price: Decimal | None = None

    @property
    def on_sale(self) -> bool:
        """Whether the product sells below its was-price."""
        return self.compare_at_price is not None and self.compare_at_price > self.price


@dataclass(frozen=True)
class OrderLineData:
    product_id: str
    quantity: int
    amount: Decimal  # line total in the order's currency


@dataclass(frozen=True)
class OrderData:
    """An order with its lines. ``customer_id`` is the user's primary key as a string."""

    id: str
    customer_id: str | None
    timestamp: dt.datetime
    lines: tuple[OrderLineData, ...] = field(default_factory=tuple)
    currency: str = ""

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class CustomerData:
    """A customer's contact details, for de-duplication only (``id`` is the user's primary key
    as a string; unknown fields are empty)."""

    id: str
    name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    postcode: str = ""


class StoreAdapter(abc.ABC):
    """Read-only access to a store's products and orders. Ids are strings."""

    @abc.abstractmethod
    def get_product(self, product_id: str) -> ProductData | None:
        """The product with this id, or ``None`` when there is none."""

    def get_products(self, product_ids: Iterable[str]) -> dict[str, ProductData]:
        """Products by id; unknown ids are left out. Override to fetch in one query."""
        found = {}
        for product_id in product_ids:
            product = self.get_product(str(product_id))
            if product is not None:
                found[product.id] = product
        return found

    @abc.abstractmethod
    def iter_products(self) -> Iterator[ProductData]:
        """Every product of the catalog, published or not."""

    @abc.abstractmethod
    def iter_orders(
        self, since: dt.datetime | None = None, customer_id: str | None = None
    ) -> Iterator[OrderData]:
        """Orders (oldest first) placed at or after ``since``, optionally of one customer."""

    @abc.abstractmethod
    def product_id_for_path(self, path: str) -> str | None:
        """The id of the product whose page is at this URL path, if the path is a product page."""

    def cart_product_ids(self, request: Any) -> Iterable[str] | None:
        """The ids of the products in the request's cart, for recommendations to leave them out.

        Optional: the default returns ``None``, and the app then works the cart out from the
        ``add_to_cart`` and ``remove_from_cart`` events of the visitor's current session (events
        reach the database a few seconds after they happen, so the store's own cart, in one
        query, is better).
        """
        return None

    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """What the store keeps about a customer, for the data export ("Download my data").

        Optional: the default returns ``{}``. Return JSON-serialisable data (dates and Decimals
        may be left as they are; the export encodes them), e.g. the customer's orders, wishlist
        and reviews. Erasing the store's own records is the store's business: see the
        ``personalization.privacy.signals.data_erased`` signal.
        """
        return {}

    def iter_customer_attributes(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(customer_id, attributes)`` of every customer with account attributes worth
        segmenting on (e.g. ``{"country": "United Kingdom", "birth_year": 1984}``).

        Optional: the default yields nothing. Values must be JSON-serialisable numbers, texts or
        booleans; they are copied into ``Profile.attributes`` and offered to segment rules, so
        leave out contact details (names, addresses, phone numbers, e-mail addresses).
        """
        return iter(())

    def iter_customers(self, ids: Iterable[str] | None = None) -> Iterator[CustomerData]:
        """Every customer's contact details (or those of ``ids``), for finding duplicate
        accounts.

        Optional: the default yields nothing, and ``suggest_merges()`` then suggests nothing.
        """
        return iter(())

    def merge_customers(self, source_id: str, target_id: str) -> dict[str, int]:
        """Move the store's records of customer ``source_id`` (orders, wishlist, reviews, ...) to
        ``target_id``, when an admin merges two accounts; return the rows moved per type.

        Optional: the default moves nothing and returns ``{}``. It runs inside the merge's
        transaction, so an exception undoes the whole merge.
        """
        return {}


class EmptyStoreAdapter(StoreAdapter):
    """The default adapter: a store with no products and no orders (the checks warn about it)."""

    def get_product(self, product_id: str) -> ProductData | None:
        return None

    def iter_products(self) -> Iterator[ProductData]:
        return iter(())

    def iter_orders(
        self, since: dt.datetime | None = None, customer_id: str | None = None
    ) -> Iterator[OrderData]:
        return iter(())

    def product_id_for_path(self, path: str) -> str | None:
        return None


class InMemoryStoreAdapter(StoreAdapter):
    """An adapter over lists held in memory, for tests and for stores without a database catalog.

    Product pages are expected at ``url`` of each product.
    """

    def __init__(
        self, products: Iterable[ProductData] = (), orders: Iterable[OrderData] = ()
    ) -> None:
        self.products = {p.id: p for p in products}
        self.orders = sorted(orders, key=lambda o: o.timestamp)
        self._by_url = {p.url: p.id for p in self.products.values() if p.url}

    def get_product(self, product_id: str) -> ProductData | None:
        return self.products.get(str(product_id))

    def iter_products(self) -> Iterator[ProductData]:
        return iter(list(self.products.values()))

    def iter_orders(
        self, since: dt.datetime | None = None, customer_id: str | None = None
    ) -> Iterator[OrderData]:
        for order in self.orders:
            if since is not None and order.timestamp < since:
                continue
            if customer_id is not None and order.customer_id != str(customer_id):
                continue
            yield order

    def product_id_for_path(self, path: str) -> str | None:
        return self._by_url.get(path)


def get_adapter() -> StoreAdapter:
    """The configured store adapter (built once per settings value)."""
    return load_component("STORE_ADAPTER")
