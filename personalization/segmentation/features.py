"""Profile features: one row per person from their events, sessions and order lines.

>>> build_features(events, sessions, order_lines, products, as_of="2026-11-01")  # doctest: +SKIP

Everything is vectorised pandas (group-bys, no Python loop over people), so 100,000 people with a
million order lines take seconds. The inputs are plain frames; the caller chooses the person key
(any hashable column value; the Django side uses the user's id and the negated visitor id).

Inputs
------
``events``
    ``person, name, timestamp, product_id, session_id, seconds`` (``seconds``: the dwell time of
    ``dwell`` events, NaN otherwise; may be absent).
``sessions``
    ``person, session_id, started_at, ended_at, device_type``.
``order_lines``
    ``person, order_id, timestamp, product_id, quantity, amount`` (one row per line; an order
    with no lines can be given as one line with a null ``product_id``).
``products``
    indexed by ``product_id`` (compared as text), with ``category``, ``price`` and ``on_sale``.
``attributes``
    optional, indexed by person: account attributes the store has (numbers or text).

Rows after ``as_of`` are ignored, so the same data can be featurised "as of" any past moment (the
propensity model's snapshots). People appear when they have at least one event, session or order
at or before ``as_of``.

Features (:data:`NUMERIC_FEATURES`, plus the mappings in :data:`MAPPING_FEATURES`)
---------------------------------------------------------------------------------
- ``recency_days``: days from the last order to ``as_of`` (NaN without orders); ``frequency``:
  orders; ``monetary``: their total; ``avg_order_value`` (NaN without orders).
- ``sessions``; ``avg_session_seconds``: mean session length; ``page_depth``: page and product
  views per session (NaN without sessions).
- ``dwell_seconds``: dwell seconds on product pages per product view (NaN without both).
- ``cart_to_purchase_rate``: orders per session with an ``add_to_cart``, capped at 1 (NaN
  without such sessions).
- ``price_sensitivity``: share of bought items (by quantity) that were on sale or low-priced,
  i.e. below the ``low_price_quantile`` of their category's catalogue prices (so a category of one
  price has no cheap products; NaN without purchases).
- ``category_affinity``: share of the person's product interest per category, where a product
  view counts :data:`AFFINITY_WEIGHTS` ``["product_view"]``, a cart add and a bought unit more;
  ``top_category_share`` is the largest share (NaN without interest). The wide columns
  ``affinity_<category>`` hold the same shares (0 where none).
- ``device_mix``: share of sessions per device type; ``mobile_share`` and ``desktop_share``
  (tablets count as mobile) are its numeric summary (NaN without sessions).
- ``tenure_days``: days since the first activity; ``inactive_days``: days since the latest,
  ``last_activity``.
- the account attributes, passed through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn import config_context

from .cleaning import make_cleaning_pipeline

__all__ = [
    "AFFINITY_WEIGHTS",
    "EVENT_COLUMNS",
    "MAPPING_FEATURES",
    "NUMERIC_FEATURES",
    "ORDER_LINE_COLUMNS",
    "PRODUCT_COLUMNS",
    "SESSION_COLUMNS",
    "CLUSTER_FEATURES",
    "LOG_FEATURES",
    "affinity_column",
    "build_features",
    "clean_features",
]

EVENT_COLUMNS = ("person", "name", "timestamp", "product_id", "session_id")
SESSION_COLUMNS = ("person", "session_id", "started_at", "ended_at", "device_type")
ORDER_LINE_COLUMNS = ("person", "order_id", "timestamp", "product_id", "quantity", "amount")
PRODUCT_COLUMNS = ("category", "price", "on_sale")

#: The numeric feature columns of :func:`build_features`, in order.
NUMERIC_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "sessions",
    "avg_session_seconds",
    "page_depth",
    "dwell_seconds",
    "cart_to_purchase_rate",
    "price_sensitivity",
    "top_category_share",
    "mobile_share",
    "desktop_share",
    "tenure_days",
    "inactive_days",
)
#: The features the clusters are found in. Fewer than all: the order columns (frequency, spend,
#: basket size, recency) move together and would outvote the behaviour; on the seeded demo this
#: set separates the personas best (docs/segments.md). The other features describe the clusters.
CLUSTER_FEATURES: tuple[str, ...] = (
    "frequency",
    "sessions",
    "page_depth",
    "cart_to_purchase_rate",
    "price_sensitivity",
    "top_category_share",
    "tenure_days",
    "inactive_days",
)
#: Long-tailed counts, amounts and durations: log1p keeps a few extreme people from being the
#: whole story.
LOG_FEATURES = frozenset(
    {
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "sessions",
        "avg_session_seconds",
        "page_depth",
        "dwell_seconds",
        "tenure_days",
        "inactive_days",
    }
)
#: Columns holding a ``{name: share}`` dict per person.
MAPPING_FEATURES: tuple[str, ...] = ("category_affinity", "device_mix")

#: How much one interaction says about interest in its product's category.
AFFINITY_WEIGHTS: Mapping[str, float] = {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}

_PAGE_EVENTS = ("page_view", "product_view")
_MOBILE_DEVICES = ("mobile", "tablet")
_DAY = pd.Timedelta(days=1)


def affinity_column(category: str) -> str:
    """The wide column of a category's affinity: ``affinity_`` and the lower-cased name with
    runs of other characters than letters and digits turned into ``_``."""
    return "affinity_" + (re.sub(r"[^0-9a-z]+", "_", str(category).lower()).strip("_") or "none")


def _check(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing}")


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def _until(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    frame = frame.assign(**{column: _utc(frame[column])})
    keep = (frame[column] <= as_of).to_numpy()
    # Copying millions of rows only to keep them all would double the memory.
    return frame if keep.all() else frame[keep]


def _categorical(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The frame with ``column`` as a categorical: the many comparisons and lookups on it then
    work on small integer codes rather than on millions of strings."""
    if isinstance(frame[column].dtype, pd.CategoricalDtype):
        return frame
    return frame.assign(**{column: frame[column].astype("category")})


def _per_product(product_ids: pd.Series, values: pd.Series, missing: object) -> np.ndarray:
    """``values`` (indexed by product id as text) looked up for each of ``product_ids``;
    ``missing`` for unknown or absent ids. A categorical column is looked up once per category
    rather than once per row."""
    if isinstance(product_ids.dtype, pd.CategoricalDtype):
        categories = pd.Series(product_ids.cat.categories.astype(str))
        per_category = categories.map(values).fillna(missing).to_numpy()
        codes = product_ids.cat.codes.to_numpy()
        found = per_category[np.maximum(codes, 0)] if len(per_category) else codes
        return np.where(codes >= 0, found, missing)
    mapped = product_ids.astype(str).map(values)
    return mapped.where(product_ids.notna(), None).fillna(missing).to_numpy()


def _shares(keys: pd.Series, labels: pd.Series, weights: pd.Series | None = None) -> pd.DataFrame:
    """Wide table: per key, each label's share of the key's total weight."""
    data = pd.DataFrame(
        {
            "key": keys.array,
            "label": labels.to_numpy(),
            "w": 1.0 if weights is None else weights.to_numpy(),
        }
    )
    table = data.groupby(["key", "label"], sort=True)["w"].sum().unstack(fill_value=0.0)
    table.columns.name = None
    totals = table.sum(axis=1)
    return table.div(totals.where(totals > 0), axis=0)


def _as_dicts(table: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Per row of ``table``, the ``{column: share}`` of its non-zero cells (rounded), as a Series
    aligned on ``index`` (empty dicts where missing)."""
    columns = [str(column) for column in table.columns]
    values = table.to_numpy().round(4)
    dicts: list[dict] = [{} for _ in range(len(table))]
    # One pass over the non-zero cells only (people have a few categories and devices each).
    rows, cols = np.nonzero(values > 0)
    for row, col, value in zip(
        rows.tolist(), cols.tolist(), values[rows, cols].tolist(), strict=True
    ):
        dicts[row][columns[col]] = value
    by_key = pd.Series(dicts, index=table.index, dtype=object)
    return by_key.reindex(index).map(lambda value: value if isinstance(value, dict) else {})


def build_features(
    events: pd.DataFrame,
    sessions: pd.DataFrame,
    order_lines: pd.DataFrame,
    products: pd.DataFrame,
    attributes: pd.DataFrame | None = None,
    as_of: object = None,
    low_price_quantile: float = 0.25,
) -> pd.DataFrame:
    """One row per person (indexed by ``person``, sorted): see the module docstring.

    ``as_of`` (anything :class:`pandas.Timestamp` accepts; naive means UTC) defaults to the
    latest time in the inputs. Columns: :data:`NUMERIC_FEATURES`, :data:`MAPPING_FEATURES`,
    ``last_activity``, the ``affinity_<category>`` columns and the attribute columns.
    """
    _check(events, EVENT_COLUMNS, "events")
    _check(sessions, SESSION_COLUMNS, "sessions")
    _check(order_lines, ORDER_LINE_COLUMNS, "order_lines")
    _check(products, PRODUCT_COLUMNS, "products")
    if not 0 <= low_price_quantile <= 1:
        raise ValueError("low_price_quantile must be between 0 and 1")

    if as_of is None:
        latest = [
            _utc(frame[column]).max()
            for frame, column in (
                (events, "timestamp"),
                (sessions, "ended_at"),
                (order_lines, "timestamp"),
            )
            if len(frame)
        ]
        latest = [value for value in latest if not pd.isna(value)]
        as_of_ts = max(latest) if latest else pd.Timestamp.now(tz="UTC")
    else:
        as_of_ts = pd.Timestamp(as_of)
        as_of_ts = (
            as_of_ts.tz_localize("UTC") if as_of_ts.tzinfo is None else as_of_ts.tz_convert("UTC")
        )

    events = _categorical(_categorical(_until(events, "timestamp", as_of_ts), "name"), "product_id")
    sessions = _until(sessions, "started_at", as_of_ts)
    sessions = sessions.assign(ended_at=_utc(sessions["ended_at"]).clip(upper=as_of_ts))
    lines = _until(order_lines, "timestamp", as_of_ts)

    catalogue = products.loc[:, list(PRODUCT_COLUMNS)].copy()
    catalogue.index = catalogue.index.astype(str)
    catalogue["price"] = pd.to_numeric(catalogue["price"], errors="coerce")
    catalogue["on_sale"] = catalogue["on_sale"].fillna(False).astype(bool)
    catalogue["category"] = catalogue["category"].fillna("").astype(str)
    low_price = catalogue.groupby("category")["price"].transform(
        lambda prices: prices.quantile(low_price_quantile)
    )
    catalogue["cheap"] = catalogue["on_sale"] | (catalogue["price"] < low_price)

    people = pd.Index(
        pd.concat([events["person"], sessions["person"], lines["person"]]).dropna().unique(),
        name="person",
    )
    people = people.sort_values() if len(people) else people
    table = pd.DataFrame(index=people)
    # Every group-by below is by person: as a categorical of the sorted people, each uses the
    # codes directly instead of hashing millions of keys again.
    person_type = pd.CategoricalDtype(people)
    events = events.assign(person=events["person"].astype(person_type))
    sessions = sessions.assign(person=sessions["person"].astype(person_type))
    lines = lines.assign(person=lines["person"].astype(person_type))

    # Orders.
    per_order = lines.groupby(["person", "order_id"], sort=False).agg(
        amount=("amount", "sum"), timestamp=("timestamp", "min")
    )
    per_order["amount"] = pd.to_numeric(per_order["amount"], errors="coerce").fillna(0.0)
    by_person = per_order.groupby(level="person")
    frequency = by_person.size()
    monetary = by_person["amount"].sum()
    last_order = by_person["timestamp"].max()
    table["recency_days"] = ((as_of_ts - last_order) / _DAY).reindex(people)
    table["frequency"] = frequency.reindex(people, fill_value=0).astype(int)
    table["monetary"] = monetary.reindex(people, fill_value=0.0).astype(float)
    table["avg_order_value"] = (monetary / frequency).reindex(people)

    # Sessions and page views.
    session_count = sessions.groupby("person").size()
    seconds = (sessions["ended_at"] - sessions["started_at"]) / pd.Timedelta(seconds=1)
    table["sessions"] = session_count.reindex(people, fill_value=0).astype(int)
    table["avg_session_seconds"] = seconds.groupby(sessions["person"]).mean().reindex(people)
    page_views = events[events["name"].isin(_PAGE_EVENTS)].groupby("person").size()
    table["page_depth"] = (
        page_views.reindex(session_count.index, fill_value=0) / session_count
    ).reindex(people)

    # Dwell time on product pages.
    product_views = events[events["name"] == "product_view"].groupby("person").size()
    if "seconds" in events.columns:
        dwell = events[
            (events["name"] == "dwell")
            & events["product_id"].notna()
            & (events["product_id"] != "")
        ]
        dwell_total = (
            pd.to_numeric(dwell["seconds"], errors="coerce").groupby(dwell["person"]).sum()
        )
        table["dwell_seconds"] = (dwell_total / product_views).reindex(people)
    else:
        table["dwell_seconds"] = np.nan

    # Cart to purchase.
    carts = events[events["name"] == "add_to_cart"]
    cart_sessions = carts.dropna(subset=["session_id"]).groupby("person")["session_id"].nunique()
    cart_sessions = cart_sessions[cart_sessions > 0]
    rate = (frequency.reindex(cart_sessions.index, fill_value=0) / cart_sessions).clip(upper=1.0)
    table["cart_to_purchase_rate"] = rate.reindex(people)

    # Price sensitivity over the bought items.
    bought = lines.dropna(subset=["product_id"])
    bought = bought.assign(
        quantity=pd.to_numeric(bought["quantity"], errors="coerce").fillna(1).clip(lower=0),
    )
    cheap = _per_product(bought["product_id"], catalogue["cheap"], False).astype(bool)
    cheap_units = (bought["quantity"] * cheap).groupby(bought["person"]).sum()
    units = bought.groupby("person")["quantity"].sum()
    units = units[units > 0]
    table["price_sensitivity"] = (cheap_units.reindex(units.index) / units).reindex(people)

    # Category affinity, over category numbers (14 of them, not millions of strings).
    names = pd.Index(sorted(set(catalogue["category"]) - {""}))
    category_number = pd.Series(names.get_indexer(catalogue["category"]), index=catalogue.index)
    views = events[events["name"] == "product_view"]
    parts = [
        (views, np.full(len(views), AFFINITY_WEIGHTS["product_view"])),
        (carts, np.full(len(carts), AFFINITY_WEIGHTS["add_to_cart"])),
        (bought, AFFINITY_WEIGHTS["purchase"] * bought["quantity"].to_numpy(dtype=float)),
    ]
    interest = pd.DataFrame(
        {
            "person": np.concatenate([frame["person"].to_numpy() for frame, _ in parts]),
            "category": np.concatenate(
                [_per_product(frame["product_id"], category_number, -1) for frame, _ in parts]
            ).astype(int),
            "w": np.concatenate([weights for _, weights in parts]),
        }
    )
    interest = interest[interest["category"] >= 0]
    affinity = _shares(interest["person"], interest["category"], interest["w"])
    affinity.columns = names[affinity.columns.to_numpy(dtype=int)]
    table["top_category_share"] = affinity.max(axis=1).reindex(people) if len(affinity) else np.nan
    table["category_affinity"] = _as_dicts(affinity, people)

    # Devices.
    codes, devices = pd.factorize(sessions["device_type"].fillna("").replace("", "other"))
    mix = _shares(sessions["person"], pd.Series(codes))
    mix.columns = pd.Index(devices)[mix.columns.to_numpy(dtype=int)]
    if len(mix):
        mobile = mix.reindex(columns=list(_MOBILE_DEVICES), fill_value=0.0).sum(axis=1)
        desktop = mix.reindex(columns=["desktop"], fill_value=0.0)["desktop"]
        table["mobile_share"] = mobile.reindex(people)
        table["desktop_share"] = desktop.reindex(people)
    else:
        table["mobile_share"] = table["desktop_share"] = np.nan
    table["device_mix"] = _as_dicts(mix, people)

    # Activity span.
    # Per frame first, then across the frames: no concatenation of millions of rows.
    spans = [
        frame.groupby("person")[column].agg(["min", "max"])
        for frame, column in (
            (events, "timestamp"),
            (sessions, "started_at"),
            (sessions, "ended_at"),
            (lines, "timestamp"),
        )
        if len(frame)
    ]
    if spans:
        combined = pd.concat(spans).groupby(level=0)
        first_activity, last_activity = combined["min"].min(), combined["max"].max()
    else:
        first_activity = last_activity = pd.Series(dtype="datetime64[ns, UTC]")
    table["tenure_days"] = ((as_of_ts - first_activity) / _DAY).reindex(people)
    table["inactive_days"] = ((as_of_ts - last_activity) / _DAY).reindex(people)
    table["last_activity"] = last_activity.reindex(people)

    wide = affinity.reindex(people).fillna(0.0)
    wide.columns = [affinity_column(column) for column in wide.columns]
    wide = wide.T.groupby(level=0).sum().T if wide.columns.duplicated().any() else wide
    table = table.loc[:, [*NUMERIC_FEATURES, *MAPPING_FEATURES, "last_activity"]]
    table = pd.concat([table, wide], axis=1)
    if attributes is not None and len(attributes.columns):
        extra = attributes.drop(columns=[c for c in attributes.columns if c in table.columns])
        table = table.join(extra, how="left")
    table.index.name = "person"
    return table


def clean_features(
    table: pd.DataFrame,
    columns: tuple[str, ...],
    *,
    scaler: str = "standard",
    clip_quantiles: tuple[float, float] = (0.01, 0.99),
    n_neighbors: int = 5,
    sample_size: int = 1_000,
    random_state: int = 0,
    working_memory_mb: int = 256,
) -> pd.DataFrame:
    """The ``columns`` of a feature table, log-scaled where long-tailed (:data:`LOG_FEATURES`),
    then clipped, scaled and KNN-imputed by :func:`~.cleaning.make_cleaning_pipeline`.

    The pipeline is fitted on a seeded sample of ``sample_size`` rows and then transforms every
    row: KNN imputation compares each incomplete row with every fitted row, so its time grows
    with their product (100,000 rows against 1,000 take about 9 s, against 20,000 two
    minutes). ``working_memory_mb`` bounds the distance blocks scikit-learn builds at a time.
    """
    raw = table.loc[:, list(columns)].astype(float)
    for column in LOG_FEATURES.intersection(columns):
        raw[column] = np.log1p(raw[column].clip(lower=0))
    pipeline = make_cleaning_pipeline(
        list(columns), scaler=scaler, clip_quantiles=clip_quantiles, n_neighbors=n_neighbors
    )
    sample = raw if len(raw) <= sample_size else raw.sample(sample_size, random_state=random_state)
    with config_context(working_memory=working_memory_mb):
        pipeline.fit(sample)
        return pipeline.transform(raw)
