"""Versioned save/load that never unpickles, and the isolation of the core."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from personalization import recsys
from personalization.recsys.base import FORMAT_VERSION, ModelFormatError

SMALL = {
    "ease": {"l2": 10.0},
    "svd": {"random_state": 0},
    "hybrid": {
        "components": [["ease", {"l2": 10.0}, 1.0], ["content", {}, 0.3], ["buy_again", {}, 1]]
    },
}
USERS = [0, 1, 2, 7, 10_000]


@pytest.mark.parametrize("name", recsys.available())
def test_save_load_round_trip_gives_identical_recommendations(planted, tmp_path, name):
    model = recsys.build(name, **SMALL.get(name, {})).fit(planted.train, planted.items)
    path = model.save(tmp_path / name)
    assert path.suffix == ".npz"
    loaded = recsys.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == json.loads(json.dumps(model.get_params()))
    for exclude_seen in (True, False):
        assert loaded.recommend_many(USERS, k=7, exclude_seen=exclude_seen) == (
            model.recommend_many(USERS, k=7, exclude_seen=exclude_seen)
        )
    assert loaded.similar_items(3, k=5) == model.similar_items(3, k=5)
    assert type(model).load(path).recommend(0) == model.recommend(0)


def test_saved_file_holds_no_pickles_and_a_versioned_header(planted, tmp_path):
    model = recsys.build("default").fit(
        planted.train.assign(user_id="u" + planted.train["user_id"].astype(str))
    )
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(archive["__header__"].tobytes())
        assert all(archive[key].dtype != object for key in archive.files)
    assert header["format_version"] == FORMAT_VERSION
    assert header["model"] == "hybrid"
    assert set(header["libraries"]) >= {"numpy", "scipy", "scikit-learn", "scikit-surprise"}
    assert header["params"]["components"][0][0] == "ease"
    assert recsys.load(path).recommend("u0") == model.recommend("u0")


def _rewrite_header(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    header = json.loads(arrays["__header__"].tobytes())
    change(header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def test_load_refuses_another_format_version(planted, tmp_path):
    path = recsys.build("popular").fit(planted.train).save(tmp_path / "m")
    _rewrite_header(path, lambda header: header.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelFormatError, match="format version"):
        recsys.load(path)


def test_load_refuses_pickles_and_other_files(planted, tmp_path):
    model = recsys.build("popular").fit(planted.train)
    pickled = tmp_path / "model.npz"
    pickled.write_bytes(pickle.dumps(model))
    with pytest.raises(ModelFormatError):
        recsys.load(pickled)

    # An archive whose member is a pickled object array is refused too, without unpickling.
    sneaky = tmp_path / "sneaky.npz"
    np.savez(sneaky, __header__=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ModelFormatError):
        recsys.load(sneaky)

    headless = tmp_path / "headless.npz"
    np.savez(headless, data=np.arange(3))
    with pytest.raises(ModelFormatError, match="no recommender header"):
        recsys.load(headless)

    assert zipfile.is_zipfile(model.save(tmp_path / "fine"))


def test_load_checks_the_class(planted, tmp_path):
    path = recsys.build("popular").fit(planted.train).save(tmp_path / "m")
    with pytest.raises(ModelFormatError, match="not a EASERecommender"):
        recsys.model_class("ease").load(path)


def test_saving_an_unfitted_model_fails(tmp_path):
    with pytest.raises(recsys.NotFittedError):
        recsys.build("ease").save(tmp_path / "m")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_the_core_imports_no_django():
    result = _run(
        """
        import sys
        import personalization.recsys
        import personalization.recsys.datasets
        import personalization.recsys.evaluation
        import personalization.recsys.interactions
        import personalization.recsys.online_retail
        leaked = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
        assert not leaked, leaked
        """
    )
    assert result.returncode == 0, result.stderr


def test_the_core_works_without_surprise():
    result = _run(
        """
        import sys
        import pandas as pd

        class NoSurprise:
            def find_spec(self, name, path=None, target=None):
                if name == "surprise" or name.startswith("surprise."):
                    raise ImportError("surprise is not installed")

        sys.meta_path.insert(0, NoSurprise())
        from personalization import recsys

        data = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [1, 2, 2, 3, 1]})
        assert recsys.build("default").fit(data).recommend(1)
        try:
            recsys.build("svd").fit(data.assign(weight=4))
        except ImportError as exc:
            assert "scikit-surprise" in str(exc)
        else:
            raise AssertionError("svd fitted without surprise")
        """
    )
    assert result.returncode == 0, result.stderr
