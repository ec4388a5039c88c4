"""The production settings pass Django's deployment checklist and refuse to start half-configured.

Each test runs ``manage.py`` in a fresh interpreter, because the production settings module is
read once, at start-up, from the environment.
"""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


# Set by the browser tests for their own process (tests/e2e/conftest.py); a deployment must not
# have it, and `check --deploy` says so.
TEST_ONLY_VARIABLES = {"DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **{key: value for key, value in os.environ.items() if key not in TEST_ONLY_VARIABLES},
        "DJANGO_SETTINGS_MODULE": "demo_shop.settings_production",
        # Without DATABASE_URL the settings fall back to SQLite; keep that file out of the repo.
        "SQLITE_PATH": str(tmp_path / "deploy.sqlite3"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def random_secret_key(length: int = 60) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="shop.example.com",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SECRET_KEY": "short", "ALLOWED_HOSTS": "shop.example.com"}, "SECRET_KEY"),
        ({"SECRET_KEY": random_secret_key(), "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ],
    ids=["short-secret-key", "no-allowed-hosts"],
)
def test_production_settings_refuse_to_start_half_configured(
    tmp_path: Path, env: dict[str, str], complaint: str
) -> None:
    result = manage("check", tmp_path=tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr
