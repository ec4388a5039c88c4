"""Raw behaviour (events and order lines) as the models' input: weighted, time-decayed rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .base import to_seconds

DAY = 86_400.0
COLUMNS = ("user_id", "item_id", "weight", "timestamp", "event")


def build_interactions(
    events: pd.DataFrame,
    weights: Mapping[str, float],
    *,
    half_life_days: float | None = None,
    now: Any = None,
) -> pd.DataFrame:
    """One interaction per event: ``user_id, item_id, weight, timestamp, event``.

    ``events`` has the columns ``user_id``, ``item_id``, ``event`` (the event type) and
    ``timestamp`` (datetimes or seconds). An event's weight is ``weights[event]`` times
    ``0.5 ** (age / half_life_days)``, its age measured in days back from ``now`` (default: the
    newest timestamp; events after ``now`` count fully). Rows without a user, an item or a time,
    and rows of event types that ``weights`` does not name or weighs zero or less, are dropped.
    The output's ``timestamp`` is in seconds since the epoch, and rows keep their input order.
    """
    missing = {"user_id", "item_id", "event", "timestamp"} - set(events.columns)
    if missing:
        raise ValueError(f"events lack the column(s) {sorted(missing)}")
    for name, value in weights.items():
        if not isinstance(value, int | float) or not np.isfinite(value):
            raise ValueError(f"the weight of {name!r} must be a number, not {value!r}")
    if half_life_days is not None and not half_life_days > 0:
        raise ValueError("half_life_days must be positive (or None for no decay)")

    frame = events.dropna(subset=["user_id", "item_id", "event", "timestamp"])
    base = frame["event"].map(dict(weights)).to_numpy(dtype=np.float64, na_value=np.nan)
    stamps = frame["timestamp"]
    if stamps.dtype == object:
        # datetime objects, as a database driver returns them
        stamps = pd.to_datetime(stamps, utc=True)
    seconds = to_seconds(stamps)
    keep = np.isfinite(base) & (base > 0) & np.isfinite(seconds)
    frame, base, seconds = frame[keep], base[keep], seconds[keep]
    if half_life_days is not None and len(seconds):
        reference = float(seconds.max()) if now is None else float(to_seconds(pd.Series([now]))[0])
        age_days = np.clip(reference - seconds, 0.0, None) / DAY
        base = base * np.exp2(-age_days / float(half_life_days))
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].to_numpy(),
            "item_id": frame["item_id"].to_numpy(),
            "weight": base,
            "timestamp": seconds,
            "event": frame["event"].to_numpy(),
        }
    )


def order_lines_as_events(lines: pd.DataFrame, event: str = "purchase") -> pd.DataFrame:
    """Order lines (``user_id, item_id, timestamp``) as events of type ``event``, one per line.

    A line stands for one purchase whatever its quantity: buying three of an item says no more
    about taste than buying one.
    """
    missing = {"user_id", "item_id", "timestamp"} - set(lines.columns)
    if missing:
        raise ValueError(f"order lines lack the column(s) {sorted(missing)}")
    return lines[["user_id", "item_id", "timestamp"]].assign(event=event)


def summarise(interactions: pd.DataFrame) -> dict[str, Any]:
    """Sizes and time range of an interactions frame, as plain data (for a version's record)."""
    if interactions.empty:
        return {"rows": 0, "people": 0, "items": 0, "events": {}}
    stamps = interactions["timestamp"].to_numpy(dtype=np.float64)
    return {
        "rows": int(len(interactions)),
        "people": int(interactions["user_id"].nunique()),
        "items": int(interactions["item_id"].nunique()),
        "events": {str(k): int(v) for k, v in interactions["event"].value_counts().items()},
        "first": pd.Timestamp(float(np.nanmin(stamps)), unit="s", tz="UTC").isoformat(),
        "last": pd.Timestamp(float(np.nanmax(stamps)), unit="s", tz="UTC").isoformat(),
    }
