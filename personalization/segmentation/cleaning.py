"""Cleaning of numeric profile features as a scikit-learn pipeline.

>>> pipeline = make_cleaning_pipeline(["monetary", "frequency"], scaler="minmax")
>>> clean = pipeline.fit_transform(profiles)                     # doctest: +SKIP

The pipeline selects the numeric columns, clips each to the quantiles it learned in ``fit``,
scales, and fills missing values with :class:`~sklearn.impute.KNNImputer`. Imputation comes last
on purpose: KNN distances are only meaningful once the columns share a scale, and both scalers
learn from and pass through missing values. The output is a DataFrame with the caller's index and
the numeric columns in the given order (other columns are dropped; keep identifiers in the index).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import KNNImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SCALERS", "QuantileClipper", "make_cleaning_pipeline"]

#: The scalers :func:`make_cleaning_pipeline` accepts by name.
SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler}


class QuantileClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip every column to the ``quantiles`` of its training values (missing values ignored).

    Missing values stay missing. A column with no values at all in ``fit`` is left unclipped.
    Fitted attributes: ``lower_`` and ``upper_`` (one bound per column).
    """

    def __init__(self, quantiles: tuple[float, float] = (0.01, 0.99)) -> None:
        self.quantiles = quantiles

    def fit(self, X, y=None) -> QuantileClipper:
        """Learn the per-column bounds."""
        low, high = self.quantiles
        if not 0 <= low < high <= 1:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, got {self.quantiles}")
        values = validate_data(self, X, ensure_all_finite="allow-nan", dtype=float)
        empty = np.isnan(values).all(axis=0)
        lower = np.full(values.shape[1], -np.inf)
        upper = np.full(values.shape[1], np.inf)
        if (~empty).any():
            lower[~empty], upper[~empty] = np.nanquantile(values[:, ~empty], [low, high], axis=0)
        self.lower_, self.upper_ = lower, upper
        return self

    def transform(self, X):
        """Clip to the learned bounds."""
        check_is_fitted(self, ("lower_", "upper_"))
        values = validate_data(self, X, ensure_all_finite="allow-nan", dtype=float, reset=False)
        return np.clip(values, self.lower_, self.upper_)


class _KNNImputer(KNNImputer):
    """:class:`KNNImputer` whose feature names include the all-missing columns it keeps.

    With ``keep_empty_features=True`` scikit-learn keeps those columns' values but leaves their
    names out of ``get_feature_names_out``, which breaks pandas output.
    """

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The input feature names, all of them (this imputer adds no indicator columns)."""
        check_is_fitted(self, "n_features_in_")
        if input_features is None:
            default = [f"x{index}" for index in range(self.n_features_in_)]
            input_features = getattr(self, "feature_names_in_", default)
        return np.asarray(input_features, dtype=object)


def make_cleaning_pipeline(
    numeric_columns: Sequence[str],
    scaler: str = "standard",
    clip_quantiles: tuple[float, float] = (0.01, 0.99),
    n_neighbors: int = 5,
) -> Pipeline:
    """A pipeline that selects, clips, scales (``"standard"`` or ``"minmax"``) and imputes.

    Steps, by name: ``select``, ``clip``, ``scale``, ``impute``. Columns that are entirely missing
    in ``fit`` come out as 0 (the scaled "average") rather than being dropped, so the output
    always has ``numeric_columns``.
    """
    if scaler not in SCALERS:
        raise ValueError(f"unknown scaler {scaler!r}; expected one of {sorted(SCALERS)}")
    if not numeric_columns:
        raise ValueError("numeric_columns must name at least one column")
    select = ColumnTransformer(
        [("numeric", "passthrough", list(numeric_columns))],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    pipeline = Pipeline(
        [
            ("select", select),
            ("clip", QuantileClipper(quantiles=clip_quantiles)),
            ("scale", SCALERS[scaler]()),
            ("impute", _KNNImputer(n_neighbors=n_neighbors, keep_empty_features=True)),
        ]
    )
    return pipeline.set_output(transform="pandas")
