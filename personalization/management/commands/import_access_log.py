"""``manage.py import_access_log FILE``: page and product views from nginx or Apache access logs."""

from __future__ import annotations

import gzip
import io
import sys
from contextlib import ExitStack
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalization.tracking.access_log import LOG_FORMATS, format_skipped, import_lines

GZIP_MAGIC = b"\x1f\x8b"


def open_log(name: str, stack: ExitStack) -> IO[bytes]:
    """The log as a binary stream: ``-`` is stdin; gzip is recognised by content, not name."""
    if name == "-":
        raw = sys.stdin.buffer
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)
    else:
        try:
            raw = stack.enter_context(open(name, "rb"))  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot open {name}: {exc.strerror}") from exc
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


class Command(BaseCommand):
    help = (
        "Import an nginx/Apache access log (combined or common format, plain or gzip, '-' for "
        "stdin) as page_view and product_view events. Importing the same file again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the log, or '-' to read standard input.")
        parser.add_argument(
            "--format",
            choices=LOG_FORMATS,
            default="combined",
            dest="log_format",
            help="Log format (default: combined).",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=2000,
            help="Events written per bulk insert (default: 2000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        with ExitStack() as stack:
            stream = open_log(options["file"], stack)
            try:
                stats = import_lines(
                    stream, options["log_format"], chunk_size=options["chunk_size"]
                )
            except (OSError, EOFError) as exc:
                raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        skipped = sum(stats.skipped.values())
        write = self.stdout.write
        write(f"Lines read:        {stats.lines}")
        write(f"Page hits kept:    {stats.hits}")
        write(f"Events stored:     {stats.stored}")
        write(f"Duplicates ignored (already imported): {stats.duplicates}")
        if stats.invalid:
            write(self.style.WARNING(f"Events refused by the writer: {stats.invalid}"))
        write(f"Lines skipped:     {skipped}")
        for label, count in format_skipped(stats.skipped):
            write(f"  {count:>9}  {label}")
        write(
            self.style.SUCCESS(
                f"Done in {stats.seconds:.2f} s ({stats.lines_per_second:,.0f} lines/s)."
            )
        )
