"""Build ``tracker.min.js`` from ``tracker.js``: ``python -m personalization.tracking.build_js``.

``make js`` runs it. ``--check`` builds in memory and exits with status 1 when the committed
minified file is out of date. The minifier, rjsmin, is a development dependency (requirements.txt),
not one of the app's, so it is imported only here.
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


def minify(source: str) -> str:
    """The minified script; ``/*! ... */`` comments (the licence line) are kept."""
    import rjsmin

    return rjsmin.jsmin(source, keep_bang_comments=True) + "\n"


def gzipped_size(text: str) -> int:
    """Bytes of ``text`` after gzip at the highest level, as a web server would send it."""
    return len(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report whether tracker.min.js is up to date"
    )
    args = parser.parse_args(argv)
    minified = minify(SOURCE.read_text(encoding="utf-8"))
    size = gzipped_size(minified)
    print(f"tracker.min.js: {len(minified.encode())} bytes, {size} bytes gzipped")
    if size > MAX_GZIPPED_BYTES:
        print(f"over the budget of {MAX_GZIPPED_BYTES} bytes gzipped", file=sys.stderr)
        return 1
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != minified:
            print("tracker.min.js is out of date: run `make js`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(minified, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
