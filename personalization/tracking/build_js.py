"""Build ``tracker.min.js`` and ``consent.min.js``: ``python -m personalization.tracking.build_js``.

``make js`` runs it. ``--check`` builds in memory and exits with status 1 when a committed
minified file is out of date. Each script has a budget in bytes after gzip; a build over it fails.
The minifier, rjsmin, is a development dependency (requirements.txt), not one of the app's, so it
is imported only here.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static" / "personalization"
SOURCE = STATIC / "tracker.js"
TARGET = STATIC / "tracker.min.js"
# The budget for the tracker, minified and gzipped.
MAX_GZIPPED_BYTES = 4096
CONSENT_SOURCE = STATIC / "consent.js"
CONSENT_TARGET = STATIC / "consent.min.js"
# The consent banner's script loads on every page too: the same budget.
CONSENT_MAX_GZIPPED_BYTES = 4096


def minify(source: str) -> str:
    """The minified script; ``/*! ... */`` comments (the licence line) are kept."""
    import rjsmin

    return rjsmin.jsmin(source, keep_bang_comments=True) + "\n"


def gzipped_size(text: str) -> int:
    """Bytes of ``text`` after gzip at the highest level, as a web server would send it."""
    return len(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def build(source: Path, target: Path, budget: int, *, check: bool) -> int:
    """Build one script (or, with ``check``, compare it with ``target``); 0 when all is well."""
    minified = minify(source.read_text(encoding="utf-8"))
    size = gzipped_size(minified)
    print(f"{target.name}: {len(minified.encode())} bytes, {size} bytes gzipped")
    if size > budget:
        print(f"{target.name} is over the budget of {budget} bytes gzipped", file=sys.stderr)
        return 1
    if check:
        if not target.exists() or target.read_text(encoding="utf-8") != minified:
            print(f"{target.name} is out of date: run `make js`", file=sys.stderr)
            return 1
        return 0
    target.write_text(minified, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report whether the minified files are up to date"
    )
    args = parser.parse_args(argv)
    scripts = [
        (SOURCE, TARGET, MAX_GZIPPED_BYTES),
        (CONSENT_SOURCE, CONSENT_TARGET, CONSENT_MAX_GZIPPED_BYTES),
    ]
    return max(build(*script, check=args.check) for script in scripts)


if __name__ == "__main__":
    sys.exit(main())
