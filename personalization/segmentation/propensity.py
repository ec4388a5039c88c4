"""Purchase propensity: will this customer buy within the next N days?

>>> model = PropensityModel(horizon_days=30).fit(snapshots, labels)   # doctest: +SKIP
>>> model.metrics_["roc_auc"], model.info()["version"]                # doctest: +SKIP

Training data are *snapshots*: one row per customer and snapshot time, holding the profile
features as they were at ``snapshot_at``, and a label saying whether the customer bought within
``horizon_days`` after it. Evaluation is time-based: the model is first fitted on the snapshots
before the cutoff and scored on those at or after it (:func:`time_split`), so the metrics say how
it does on a future it has not seen; it is then refitted on every snapshot. Missing feature values
are fine (the gradient boosting handles them natively).

Metrics are plain data (``metrics_``): ROC AUC (``None`` when the test period holds one class
only), the Brier score and reliability bins (predicted vs. observed rate per probability bin).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score

__all__ = ["FORMAT_VERSION", "PropensityModel", "reliability_bins", "time_split"]

#: Bumped whenever the layout of :meth:`PropensityModel.info` changes.
FORMAT_VERSION = 1
SNAPSHOT_COLUMN = "snapshot_at"


def time_split(
    snapshots: pd.DataFrame, cutoff: object, column: str = SNAPSHOT_COLUMN
) -> tuple[pd.Index, pd.Index]:
    """The index labels of the snapshots before ``cutoff`` (train) and at or after it (test)."""
    times = pd.to_datetime(snapshots[column])
    before = (times < pd.Timestamp(cutoff)).to_numpy()
    return snapshots.index[before], snapshots.index[~before]


def reliability_bins(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Equal-width probability bins with ``low``, ``high``, ``count``, ``mean_predicted`` and
    ``observed_rate``; empty bins are left out. A probability of exactly 1 falls in the last bin.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_prob = np.asarray(y_prob, dtype=float)
    index = np.minimum((y_prob * n_bins).astype(int), n_bins - 1)
    bins = []
    for number in range(n_bins):
        members = index == number
        if members.any():
            bins.append(
                {
                    "low": round(number / n_bins, 6),
                    "high": round((number + 1) / n_bins, 6),
                    "count": int(members.sum()),
                    "mean_predicted": round(float(y_prob[members].mean()), 6),
                    "observed_rate": round(float(y_true[members].mean()), 6),
                }
            )
    return bins


class PropensityModel:
    """A :class:`~sklearn.ensemble.HistGradientBoostingClassifier` with a time-based evaluation.

    Hyperparameters are the keywords below; ``fit`` returns ``self``. Fitted attributes:
    ``features_`` (column order), ``classifier_`` (``None`` when the labels hold one class only;
    every prediction is then ``base_rate_``), ``base_rate_``, ``metrics_`` and ``trained_at_``.
    """

    def __init__(
        self,
        horizon_days: int = 30,
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 31,
        test_share: float = 0.2,
        n_bins: int = 10,
        random_state: int = 0,
    ) -> None:
        self.horizon_days = horizon_days
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.test_share = test_share
        self.n_bins = n_bins
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as plain data."""
        return {
            "horizon_days": self.horizon_days,
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "max_leaf_nodes": self.max_leaf_nodes,
            "test_share": self.test_share,
            "n_bins": self.n_bins,
            "random_state": self.random_state,
        }

    def fit(
        self, features_by_snapshot: pd.DataFrame, labels: pd.Series, cutoff: object = None
    ) -> PropensityModel:
        """Evaluate on the snapshots from ``cutoff`` on, then refit on all of them.

        ``features_by_snapshot`` holds the feature columns and ``snapshot_at``; ``labels`` (0/1)
        shares its index. Without ``cutoff``, the latest ``test_share`` of the distinct snapshot
        times form the test period.
        """
        if SNAPSHOT_COLUMN not in features_by_snapshot.columns:
            raise ValueError(f"features_by_snapshot lacks the column {SNAPSHOT_COLUMN!r}")
        labels = labels.reindex(features_by_snapshot.index)
        if labels.isna().any():
            raise ValueError("every snapshot needs a label")
        y = labels.to_numpy(dtype=int)
        X = features_by_snapshot.drop(columns=[SNAPSHOT_COLUMN])
        self.features_ = [str(column) for column in X.columns]
        if cutoff is None:
            times = np.sort(pd.to_datetime(features_by_snapshot[SNAPSHOT_COLUMN]).unique())
            cutoff = times[min(len(times) - 1, int(len(times) * (1 - self.test_share)))]
        train, test = time_split(features_by_snapshot, cutoff)
        train_rows = features_by_snapshot.index.get_indexer(train)
        test_rows = features_by_snapshot.index.get_indexer(test)

        self.metrics_ = {
            "cutoff": pd.Timestamp(cutoff).isoformat(),
            "n_train": len(train_rows),
            "n_test": len(test_rows),
            "positive_rate": round(float(y.mean()), 6),
        }
        if len(train_rows) and len(test_rows):
            self._fit_classifier(X.iloc[train_rows], y[train_rows])
            probabilities = self.predict_proba(X.iloc[test_rows])[:, 1]
            y_test = y[test_rows]
            both = len(np.unique(y_test)) == 2
            self.metrics_.update(
                roc_auc=round(float(roc_auc_score(y_test, probabilities)), 6) if both else None,
                brier=round(float(brier_score_loss(y_test, probabilities)), 6),
                reliability=reliability_bins(y_test, probabilities, self.n_bins),
            )
        else:
            self.metrics_.update(roc_auc=None, brier=None, reliability=[])
        self._fit_classifier(X, y)
        self.trained_at_ = datetime.now(UTC).isoformat(timespec="seconds")
        return self

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` probabilities of not buying and of buying within the horizon."""
        X = features.loc[:, self.features_]
        if self.classifier_ is None:
            buy = np.full(len(X), self.base_rate_)
        else:
            buy = self.classifier_.predict_proba(X)[:, 1]
        return np.column_stack([1 - buy, buy])

    def info(self) -> dict[str, Any]:
        """Version, hyperparameters, features and metrics as plain (JSON-ready) data."""
        return {
            "model": "propensity",
            "format_version": FORMAT_VERSION,
            "version": f"propensity-{self.horizon_days}d-{self.trained_at_}",
            "trained_at": self.trained_at_,
            "params": self.get_params(),
            "features": list(self.features_),
            "metrics": self.metrics_,
            "libraries": {
                name: metadata.version(name) for name in ("scikit-learn", "numpy", "pandas")
            },
        }

    def _fit_classifier(self, X: pd.DataFrame, y: np.ndarray) -> None:
        self.base_rate_ = float(y.mean())
        if len(np.unique(y)) < 2:
            self.classifier_ = None
            return
        self.classifier_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            early_stopping=False,
            random_state=self.random_state,
        ).fit(X, y)
