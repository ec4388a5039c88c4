"""tracker.min.js: built from tracker.js, up to date, and within the 4 KB gzipped budget."""

from __future__ import annotations

from personalization.tracking import build_js


def test_the_committed_minified_tracker_is_up_to_date() -> None:
    expected = build_js.minify(build_js.SOURCE.read_text(encoding="utf-8"))
    assert build_js.TARGET.read_text(encoding="utf-8") == expected, "run `make js`"


def test_the_minified_tracker_fits_in_4_kb_gzipped() -> None:
    minified = build_js.TARGET.read_text(encoding="utf-8")
    assert build_js.gzipped_size(minified) <= 4096
    # Minifying must have removed the source's comments and indentation.
    assert len(minified) < 0.7 * len(build_js.SOURCE.read_text(encoding="utf-8"))
    assert "Nothing here may ever break the page" not in minified
    assert minified.startswith("/*! personalization tracker.js")


def test_the_check_mode_reports_an_up_to_date_build(capsys) -> None:
    assert build_js.main(["--check"]) == 0
    assert "bytes gzipped" in capsys.readouterr().out


def test_the_check_mode_reports_a_stale_build(tmp_path, monkeypatch, capsys) -> None:
    stale = tmp_path / "tracker.min.js"
    stale.write_text("/* old */\n", encoding="utf-8")
    monkeypatch.setattr(build_js, "TARGET", stale)
    assert build_js.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert build_js.main([]) == 0
    assert build_js.main(["--check"]) == 0
