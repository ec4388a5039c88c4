"""Read the tracked behaviour and the store's orders into the frames of
:func:`personalization.segmentation.features.build_features`.

People are keyed by one integer: a user's primary key, or the negated primary key of an anonymous
visitor. Events and sessions of a visitor linked to a user count for the
user, so a customer who logs in has one profile. Everything is read in chunks with
``values_list`` (no model instances), and the store only through the adapter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db.models import Q

from ..adapters import StoreAdapter, get_adapter
from ..models import Event, Session
from ..segmentation import features as core
from ..tracking import names

logger = logging.getLogger(__name__)

_CHUNK = 20_000
# The event types the features read; the rest (searches, scrolls, ...) would only cost memory.
_EVENT_NAMES = (names.PAGE_VIEW, names.PRODUCT_VIEW, names.ADD_TO_CART)


def _key_array(user_ids: list, linked_user_ids: list, visitor_ids: list) -> np.ndarray:
    """The person keys: the event's user, else its visitor's user, else minus the visitor."""
    users = pd.Series(user_ids, dtype="Int64").fillna(pd.Series(linked_user_ids, dtype="Int64"))
    visitors = -pd.Series(visitor_ids, dtype="Int64")
    return users.fillna(visitors).astype("int64").to_numpy()


def _columns(rows: Iterable[tuple], width: int) -> list[list]:
    columns: list[list] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


@dataclass
class FeatureInputs:
    """The frames :func:`~personalization.segmentation.features.build_features` takes."""

    events: pd.DataFrame
    sessions: pd.DataFrame
    order_lines: pd.DataFrame
    products: pd.DataFrame
    attributes: pd.DataFrame


def _chunks(rows: Iterable[tuple], size: int = _CHUNK) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def read_events(
    since: dt.datetime | None, until: dt.datetime, product_ids: pd.Index | None = None
) -> pd.DataFrame:
    """Page views, product views and cart adds, plus the dwell events with their seconds.

    Rows are turned into compact columns a chunk at a time (categorical names and products,
    integer people), so millions of events never sit in memory as Python objects. With
    ``product_ids`` (the catalogue), an event's product outside it is read as missing.
    """
    # An event with neither a visitor nor a user belongs to no one's profile.
    base = Event.objects.filter(occurred_at__lte=until).filter(
        Q(user__isnull=False) | Q(visitor__isnull=False)
    )
    if since is not None:
        base = base.filter(occurred_at__gte=since)
    name_type = pd.CategoricalDtype([*_EVENT_NAMES, names.DWELL])
    product_type = pd.CategoricalDtype(product_ids) if product_ids is not None else None
    fields = ("user_id", "visitor__user_id", "visitor_id", "name", "occurred_at", "product_id")

    def frame(batch: list[tuple], dwell: bool) -> pd.DataFrame:
        users, linked, visitors, event_names, times, products, last = _columns(batch, 7)
        return pd.DataFrame(
            {
                "person": _key_array(users, linked, visitors),
                "name": pd.Categorical(event_names, dtype=name_type),
                "timestamp": pd.to_datetime(times, utc=True),
                "product_id": pd.Categorical.from_codes(
                    product_type.categories.get_indexer(products), dtype=product_type
                )
                if product_type is not None
                else products,
                # Only cart adds need their session (sessions with a cart add).
                "session_id": [None] * len(batch) if dwell else last,
                "seconds": [_number(value) for value in last] if dwell else np.nan,
            }
        )

    main = base.filter(name__in=_EVENT_NAMES).values_list(*fields, "session_id")
    dwell = base.filter(name=names.DWELL).exclude(product_id="")
    dwell = dwell.values_list(*fields, "properties__seconds")
    frames = [frame(batch, False) for batch in _chunks(main.iterator(chunk_size=_CHUNK))]
    frames += [frame(batch, True) for batch in _chunks(dwell.iterator(chunk_size=_CHUNK))]
    if not frames:
        return frame([], False)
    return pd.concat(frames, ignore_index=True)


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan
    return number if np.isfinite(number) and number >= 0 else np.nan


def read_sessions(since: dt.datetime | None, until: dt.datetime) -> pd.DataFrame:
    """Sessions started in the window."""
    sessions = Session.objects.filter(started_at__lte=until)
    if since is not None:
        sessions = sessions.filter(started_at__gte=since)
    rows = sessions.values_list(
        "user_id", "visitor__user_id", "visitor_id", "id", "started_at", "ended_at", "device_type"
    )
    users, linked, visitors, ids, started, ended, devices = _columns(
        rows.iterator(chunk_size=_CHUNK), 7
    )
    return pd.DataFrame(
        {
            "person": _key_array(users, linked, visitors),
            "session_id": ids,
            "started_at": pd.to_datetime(started, utc=True),
            "ended_at": pd.to_datetime(ended, utc=True),
            "device_type": devices,
        }
    )


def _customer_key(customer_id: str | None) -> int | None:
    """A user's key from the adapter's ``customer_id``; None for guests and malformed ids."""
    if customer_id is None:
        return None
    try:
        key = int(customer_id)
    except (TypeError, ValueError):
        return None
    return key if key > 0 else None


def read_order_lines(adapter: StoreAdapter, until: dt.datetime) -> pd.DataFrame:
    """Every order line of a known customer up to ``until`` (guest orders have no person).

    An order whose ``customer_id`` is not a user's primary key is skipped with a warning (the
    contract of :class:`~personalization.adapters.OrderData`); the others are kept.
    """
    persons, orders, times, products, quantities, amounts = [], [], [], [], [], []
    malformed = 0
    for order in adapter.iter_orders():
        if order.timestamp > until or order.customer_id is None:
            continue
        key = _customer_key(order.customer_id)
        if key is None:
            malformed += 1
            continue
        lines = order.lines or ()
        if not lines:
            persons.append(key)
            orders.append(order.id)
            times.append(order.timestamp)
            products.append(None)
            quantities.append(0)
            amounts.append(0.0)
        for line in lines:
            persons.append(key)
            orders.append(order.id)
            times.append(order.timestamp)
            products.append(str(line.product_id))
            quantities.append(line.quantity)
            amounts.append(float(line.amount))
    if malformed:
        logger.warning(
            "Segmentation: skipped %d orders whose customer_id is not a user id", malformed
        )
    return pd.DataFrame(
        {
            "person": pd.Series(persons, dtype="int64"),
            "order_id": orders,
            "timestamp": pd.to_datetime(times, utc=True),
            "product_id": products,
            "quantity": quantities,
            "amount": amounts,
        }
    )


def read_products(adapter: StoreAdapter) -> pd.DataFrame:
    """Category, price and sale flag of every product, indexed by id."""
    ids, categories, prices, sale = [], [], [], []
    for product in adapter.iter_products():
        ids.append(str(product.id))
        categories.append(product.category)
        prices.append(float(product.price))
        sale.append(product.on_sale)
    return pd.DataFrame(
        {"category": categories, "price": prices, "on_sale": sale},
        index=pd.Index(ids, name="product_id"),
    )


def read_attributes(adapter: StoreAdapter) -> pd.DataFrame:
    """The account attributes the adapter offers, one row per customer (by person key)."""
    rows: dict[int, dict] = {}
    for customer_id, attributes in adapter.iter_customer_attributes():
        key = _customer_key(customer_id)
        if key is not None and attributes:
            rows[key] = dict(attributes)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "person"
    return frame


def read_inputs(
    *, as_of: dt.datetime, lookback_days: float | None = None, adapter: StoreAdapter | None = None
) -> FeatureInputs:
    """Everything up to ``as_of``: events and sessions of the last ``lookback_days`` (None: all)
    and all orders, products and account attributes from the store adapter."""
    adapter = adapter or get_adapter()
    since = None if lookback_days is None else as_of - dt.timedelta(days=lookback_days)
    products = read_products(adapter)
    return FeatureInputs(
        events=read_events(since, as_of, products.index),
        sessions=read_sessions(since, as_of),
        order_lines=read_order_lines(adapter, as_of),
        products=products,
        attributes=read_attributes(adapter),
    )


def existing_people(keys: Iterable[int]) -> set[int]:
    """The keys whose user still exists (visitors come from the database itself)."""
    keys = list(keys)
    users = [key for key in keys if key > 0]
    found = set()
    model = get_user_model()
    for start in range(0, len(users), 5000):
        found.update(
            model._default_manager.filter(pk__in=users[start : start + 5000]).values_list(
                "pk", flat=True
            )
        )
    return found | {key for key in keys if key < 0}


def build(inputs: FeatureInputs, as_of: dt.datetime) -> pd.DataFrame:
    """The feature table of ``inputs`` as of ``as_of``."""
    return core.build_features(
        inputs.events,
        inputs.sessions,
        inputs.order_lines,
        inputs.products,
        inputs.attributes,
        as_of=as_of,
    )
