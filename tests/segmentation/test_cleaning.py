"""The cleaning pipeline: quantile clipping, scaling and KNN imputation."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from personalization.segmentation.cleaning import QuantileClipper, make_cleaning_pipeline


def test_clipper_learns_bounds_in_fit_and_applies_them_later():
    train = pd.DataFrame({"x": np.arange(101, dtype=float), "y": np.arange(101, dtype=float) * 2})
    clipper = QuantileClipper(quantiles=(0.1, 0.9)).fit(train)
    np.testing.assert_allclose(clipper.lower_, [10.0, 20.0])
    np.testing.assert_allclose(clipper.upper_, [90.0, 180.0])
    out = clipper.transform(pd.DataFrame({"x": [-5.0, 50.0, 1000.0], "y": [np.nan, 0.0, 500.0]}))
    np.testing.assert_allclose(out, [[10.0, np.nan], [50.0, 20.0], [90.0, 180.0]])


def test_clipper_ignores_missing_values_and_leaves_empty_columns_alone():
    train = pd.DataFrame({"x": [1.0, np.nan, 3.0], "empty": [np.nan] * 3})
    clipper = QuantileClipper(quantiles=(0.0, 1.0)).fit(train)
    assert clipper.lower_.tolist() == [1.0, -np.inf]
    assert clipper.upper_.tolist() == [3.0, np.inf]


def test_clipper_rejects_bad_quantiles():
    with pytest.raises(ValueError, match="quantiles"):
        QuantileClipper(quantiles=(0.9, 0.1)).fit(np.zeros((3, 1)))


def test_pipeline_outputs_a_dataframe_of_the_numeric_columns_with_the_callers_index():
    frame = pd.DataFrame(
        {"name": ["a", "b", "c", "d"], "spend": [1.0, 2.0, 3.0, 4.0], "visits": [4.0, 3, 2, 1]},
        index=pd.Index([10, 11, 12, 13], name="customer_id"),
    )
    out = make_cleaning_pipeline(["visits", "spend"], clip_quantiles=(0, 1)).fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["visits", "spend"]
    assert list(out.index) == [10, 11, 12, 13]
    expected = StandardScaler().fit_transform(frame[["visits", "spend"]])
    np.testing.assert_allclose(out.to_numpy(), expected)


def test_minmax_scaler_and_clipping_of_an_outlier():
    frame = pd.DataFrame({"spend": [*range(1, 100), 1_000_000.0]})
    pipeline = make_cleaning_pipeline(["spend"], scaler="minmax", clip_quantiles=(0.0, 0.98))
    out = pipeline.fit_transform(frame)["spend"]
    assert out.min() == 0.0
    assert out.max() == 1.0
    # Without clipping the outlier would squeeze everything else into [0, 0.0001].
    upper = pipeline.named_steps["clip"].upper_[0]
    assert upper == pytest.approx(98.02)
    assert out.iloc[49] == pytest.approx((50 - 1) / (upper - 1))


def test_knn_imputation_uses_the_nearest_rows_in_scaled_space():
    # Row 4 misses "b". By "a" its single nearest neighbour is row 3 (a=10.5 vs 10),
    # so its scaled "b" equals row 3's.
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 10.0, 10.5], "b": [100.0, 110.0, 120.0, 900.0, np.nan]}
    )
    pipeline = make_cleaning_pipeline(["a", "b"], clip_quantiles=(0, 1), n_neighbors=1)
    out = pipeline.fit_transform(frame)
    assert not out.isna().any().any()
    assert out.loc[4, "b"] == pytest.approx(out.loc[3, "b"])


# StandardScaler warns about the mean of a column without values; the pipeline handles it.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_all_missing_column_comes_out_as_zero_and_single_row_works():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "empty": [np.nan] * 3})
    out = make_cleaning_pipeline(["a", "empty"]).fit_transform(frame)
    assert list(out.columns) == ["a", "empty"]
    assert out["empty"].tolist() == [0.0, 0.0, 0.0]
    single = make_cleaning_pipeline(["a"]).fit_transform(pd.DataFrame({"a": [5.0]}))
    assert single["a"].tolist() == [0.0]


def test_transform_of_new_rows_uses_what_fit_learned():
    train = pd.DataFrame({"a": [0.0, 10.0, 20.0], "b": [1.0, 2.0, 3.0]})
    pipeline = make_cleaning_pipeline(["a", "b"], scaler="minmax", clip_quantiles=(0, 1))
    pipeline.fit(train)
    out = pipeline.transform(pd.DataFrame({"a": [30.0, 5.0], "b": [2.0, 2.0]}))
    assert out["a"].tolist() == [1.0, 0.25]


def test_unknown_scaler_and_empty_columns_are_rejected():
    with pytest.raises(ValueError, match="unknown scaler 'robust'"):
        make_cleaning_pipeline(["a"], scaler="robust")
    with pytest.raises(ValueError, match="at least one"):
        make_cleaning_pipeline([])
