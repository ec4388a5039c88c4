"""consent.min.js: built from consent.js by `make js`, up to date and within its budget."""

from __future__ import annotations

import pytest

from personalization.tracking import build_js


def test_the_committed_minified_consent_script_is_up_to_date() -> None:
    expected = build_js.minify(build_js.CONSENT_SOURCE.read_text(encoding="utf-8"))
    assert build_js.CONSENT_TARGET.read_text(encoding="utf-8") == expected, "run `make js`"


def test_the_minified_consent_script_fits_its_budget() -> None:
    minified = build_js.CONSENT_TARGET.read_text(encoding="utf-8")
    assert build_js.gzipped_size(minified) <= build_js.CONSENT_MAX_GZIPPED_BYTES
    assert minified.startswith("/*! personalization consent.js")
    assert "Edit this file, then rebuild" not in minified


def test_the_check_mode_reports_a_stale_consent_build(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    stale = tmp_path / "consent.min.js"
    stale.write_text("/* old */\n", encoding="utf-8")
    monkeypatch.setattr(build_js, "CONSENT_TARGET", stale)
    assert build_js.main(["--check"]) == 1
    assert "consent.min.js is out of date" in capsys.readouterr().err
    assert build_js.main([]) == 0
    assert build_js.main(["--check"]) == 0


def test_a_build_over_its_budget_fails(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(build_js, "CONSENT_MAX_GZIPPED_BYTES", 100)
    assert build_js.main(["--check"]) == 1
    assert "consent.min.js is over the budget" in capsys.readouterr().err
