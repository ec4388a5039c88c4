"""What training learns from, read from the database and the store adapter.

Events (``Event`` rows with a product) and the store's order lines become one DataFrame of
weighted, time-decayed interactions (:func:`personalization.recsys.interactions.
build_interactions`), keyed by person (``store.person_key``: ``u:<user pk>`` for events of a
logged-in user and orders of a customer, ``v:<vid>`` for anonymous visitors with history). The
catalogue comes from the adapter's products, for the content model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from django.utils import timezone

from ..adapters import get_adapter
from ..conf import app_settings
from ..models import Event
from ..recsys.interactions import build_interactions, order_lines_as_events
from ..tracking.names import PURCHASE

#: Rows fetched per database round trip; the whole query is streamed, never held as objects.
CHUNK_SIZE = 20_000
CATALOGUE_COLUMNS = ("item_id", "title", "description", "category", "brand", "price", "tags")


def since(now: dt.datetime) -> dt.datetime | None:
    """The oldest moment training reads, per ``RECOMMENDATION_LOOKBACK_DAYS``."""
    days = app_settings.RECOMMENDATION_LOOKBACK_DAYS
    return None if days is None else now - dt.timedelta(days=float(days))


def read_events(names: list[str], start: dt.datetime | None = None) -> pd.DataFrame:
    """Events of the given types that name a product: ``user_id`` (person key), ``item_id``,
    ``event``, ``timestamp`` (UTC datetimes)."""
    events = Event.objects.filter(name__in=names).exclude(product_id="")
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    rows = events.values_list(
        "name", "user_id", "visitor__vid", "product_id", "occurred_at"
    ).iterator(chunk_size=CHUNK_SIZE)
    frame = pd.DataFrame.from_records(
        rows, columns=["event", "user", "vid", "item_id", "timestamp"], coerce_float=False
    )
    if frame.empty:
        return pd.DataFrame(columns=["user_id", "item_id", "event", "timestamp"])
    user = frame["user"]
    known = user.notna().to_numpy()
    keys = np.empty(len(frame), dtype=object)
    keys[known] = "u:" + user[known].astype("int64").astype(str)
    keys[~known] = "v:" + frame["vid"][~known].astype(str)
    return pd.DataFrame(
        {
            "user_id": keys,
            "item_id": frame["item_id"].astype(str).to_numpy(),
            "event": frame["event"].to_numpy(),
            "timestamp": pd.to_datetime(frame["timestamp"], utc=True),
        }
    )


def read_order_lines(start: dt.datetime | None = None) -> pd.DataFrame:
    """The store's order lines of known customers: ``user_id`` (``u:<customer>``), ``item_id``,
    ``timestamp``. Guest orders cannot be tied to a person and are left out."""
    users, items, stamps = [], [], []
    for order in get_adapter().iter_orders(since=start):
        if not order.customer_id:
            continue
        key = f"u:{order.customer_id}"
        for line in order.lines:
            users.append(key)
            items.append(str(line.product_id))
            stamps.append(order.timestamp)
    return pd.DataFrame(
        {
            "user_id": np.array(users, dtype=object),
            "item_id": np.array(items, dtype=object),
            "timestamp": pd.to_datetime(pd.Series(stamps, dtype=object), utc=True),
        }
    )


def read_catalogue() -> pd.DataFrame:
    """The adapter's published products with the features the content model reads."""
    rows = [
        (
            product.id,
            product.title,
            product.description,
            product.category,
            product.brand,
            float(product.price),
            list(product.tags),
        )
        for product in get_adapter().iter_products()
        if product.published
    ]
    return pd.DataFrame.from_records(rows, columns=list(CATALOGUE_COLUMNS))


def collect(now: dt.datetime | None = None) -> pd.DataFrame:
    """Every weighted interaction training uses (see the module docstring)."""
    now = now or timezone.now()
    start = since(now)
    weights: dict[str, Any] = dict(app_settings.RECOMMENDATION_EVENT_WEIGHTS)
    # Purchases come from the orders; purchase events would count every order twice.
    names = [name for name in weights if name != PURCHASE]
    parts = [read_events(names, start)] if names else []
    if PURCHASE in weights:
        parts.append(order_lines_as_events(read_order_lines(start), PURCHASE))
    events = [part for part in parts if not part.empty]
    if not events:
        return build_interactions(
            pd.DataFrame(columns=["user_id", "item_id", "event", "timestamp"]), weights
        )
    return build_interactions(
        pd.concat(events, ignore_index=True),
        weights,
        half_life_days=app_settings.RECOMMENDATION_HALF_LIFE_DAYS,
        now=now,
    )
