"""The profile feature table: bulk upserts of :class:`~personalization.models.Profile` rows, and the
profile dict that segment rules read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
from django.db import transaction

from ..models import Profile
from .features import existing_people

_BATCH = 2000

#: Columns of the feature table copied to Profile fields of the same name.
FEATURE_FIELDS: tuple[str, ...] = (
    "last_activity",
    "recency_days",
    "frequency",
    "monetary",
    "cart_to_purchase_rate",
    "price_sensitivity",
    "sessions",
    "avg_session_seconds",
    "page_depth",
    "dwell_seconds",
    "category_affinity",
    "device_mix",
)
#: Columns of the model outputs copied to Profile fields (``cluster_id`` included).
OUTPUT_FIELDS: tuple[str, ...] = (
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "rfm_segment",
    "cluster_id",
    "propensity",
)
_DEFAULTS: dict[str, Any] = {
    "frequency": 0,
    "monetary": 0.0,
    "sessions": 0,
    "category_affinity": {},
    "device_mix": {},
    "rfm_score": "",
    "rfm_segment": "",
}
_INTEGERS = frozenset({"frequency", "sessions", "r_score", "f_score", "m_score", "cluster_id"})


def _plain(name: str, value: Any) -> Any:
    """A database value from a pandas cell: NaN/NaT become None (or the field's default)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return _DEFAULTS.get(name)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if name in _INTEGERS:
        return int(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def _attributes(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    found = {}
    for column in columns:
        value = _plain(column, row.get(column))
        if value is not None and value != "":
            found[column] = value
    return found


def _profiles(
    table: pd.DataFrame, attribute_columns: list[str], computed_at: dt.datetime
) -> Iterator[Profile]:
    fields = [name for name in (*FEATURE_FIELDS, *OUTPUT_FIELDS) if name in table.columns]
    for key, row in zip(table.index, table.to_dict("records"), strict=True):
        key = int(key)
        values = {name: _plain(name, row[name]) for name in fields}
        yield Profile(
            user_id=key if key > 0 else None,
            visitor_id=-key if key < 0 else None,
            computed_at=computed_at,
            attributes=_attributes(row, attribute_columns),
            **values,
        )


def save_profiles(
    table: pd.DataFrame, *, computed_at: dt.datetime, attribute_columns: list[str] = ()
) -> int:
    """Insert or update one Profile per row of ``table`` (indexed by person key) and delete the
    profiles of people no longer in it. Returns the number of profiles written.

    ``table`` holds the feature columns and, when known, the model outputs
    (:data:`OUTPUT_FIELDS`); ``attribute_columns`` go to ``Profile.attributes``. Rows of users
    deleted since the data were read are skipped.
    """
    keep = existing_people(table.index)
    table = table[table.index.isin(list(keep))]
    fields = [name for name in (*FEATURE_FIELDS, *OUTPUT_FIELDS) if name in table.columns]
    update_fields = [*fields, "computed_at", "attributes"]
    users = table[table.index > 0]
    visitors = table[table.index < 0]
    with transaction.atomic():
        for part, unique in ((users, "user"), (visitors, "visitor")):
            rows = list(_profiles(part, list(attribute_columns), computed_at))
            for start in range(0, len(rows), _BATCH):
                Profile.objects.bulk_create(
                    rows[start : start + _BATCH],
                    update_conflicts=True,
                    unique_fields=[unique],
                    update_fields=update_fields,
                )
        Profile.objects.filter(computed_at__lt=computed_at).delete()
    return len(table)


#: Profile fields offered to rules under their own names.
ATTRIBUTE_FIELDS: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "cart_to_purchase_rate",
    "price_sensitivity",
    "sessions",
    "avg_session_seconds",
    "page_depth",
    "dwell_seconds",
    "category_affinity",
    "device_mix",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "rfm_segment",
    "propensity",
)


def profile_attributes(profile: Profile | None) -> dict[str, Any]:
    """The profile as the plain dict that segment rules compare (``{"attr": NAME, ...}``).

    Keys: the feature and model-output columns (:data:`ATTRIBUTE_FIELDS`; missing values are
    left out, so ``exists`` tells computed from unknown), ``top_category`` (the category of the
    highest affinity), ``cluster`` (the K-Means label), ``last_activity`` (a datetime) and the
    account attributes under their own names (never replacing a computed one). ``None`` gives
    ``{}``.
    """
    if profile is None:
        return {}
    attributes: dict[str, Any] = {
        key: value for key, value in (profile.attributes or {}).items() if value is not None
    }
    for name in ATTRIBUTE_FIELDS:
        value = getattr(profile, name)
        if value is not None and value != "":
            attributes[name] = value
    if profile.category_affinity:
        attributes["top_category"] = max(
            profile.category_affinity, key=profile.category_affinity.get
        )
    if profile.cluster_id is not None and profile.cluster is not None:
        attributes["cluster"] = profile.cluster.label
    if profile.last_activity is not None:
        attributes["last_activity"] = profile.last_activity
    return attributes
