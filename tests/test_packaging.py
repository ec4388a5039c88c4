"""The wheel holds the app with its migrations, templates, static files and py.typed, and nothing
of the demo shop or the tests.

Builds from a copy of the source tree, so that the build leaves nothing behind in the checkout.
Takes a few seconds: pip sets up an isolated build environment, as a user's install would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Left out of the copy: version control, environments, build output, caches and local data.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    "node_modules",
    "*.sqlite3",
    "staticfiles",
    "media",
    "var",
)


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (root / "dist").glob("django_personalization-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_holds_the_app(wheel_names: list[str]) -> None:
    for name in [
        "personalization/__init__.py",
        "personalization/conf.py",
        "personalization/migrations/0001_initial.py",
        "personalization/py.typed",
    ]:
        assert name in wheel_names, name
    top_level = {name.split("/")[0] for name in wheel_names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"personalization"}


def test_the_wheel_leaves_the_demo_and_the_tests_out(wheel_names: list[str]) -> None:
    leaked = [
        name
        for name in wheel_names
        if name.startswith(("demo_shop/", "tests/", "templates/", "static/", "benchmarks/"))
    ]
    assert leaked == []


def test_the_wheel_ships_the_app_templates_and_static_files(wheel_names: list[str]) -> None:
    app_files = [
        path.relative_to(REPO_ROOT).as_posix()
        for folder in ("templates", "static")
        for path in (REPO_ROOT / "personalization" / folder).rglob("*")
        if path.is_file()
    ]
    missing = [name for name in app_files if name not in wheel_names]
    assert missing == []
