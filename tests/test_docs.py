"""The documentation keeps up with the code."""

from pathlib import Path

from personalization.conf import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text()
    missing = [name for name in DEFAULTS if f"| `{name}` |" not in text]
    assert not missing, f"docs/settings.md lacks {missing}"


def test_readme_opens_with_the_two_commands():
    readme = (DOCS.parent / "README.md").read_text()
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[0:2] for line in first_block.strip().splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]
