"""Export everything the app holds about one user as JSON (a data-subject access request)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...privacy.export import export_user


def existing_user_id(raw: str) -> Any:
    """The user primary key ``raw`` stands for; CommandError when there is no such user."""
    user_model = get_user_model()
    try:
        user_id = user_model._meta.pk.to_python(raw)
    except ValidationError as exc:
        raise CommandError(f"{raw!r} is not a user id.") from exc
    if not user_model._default_manager.filter(pk=user_id).exists():
        raise CommandError(f"There is no user with id {raw}.")
    return user_id


class Command(BaseCommand):
    help = "Write everything the personalization app holds about a user as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The user's id (primary key).")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args: Any, user: str, output: str | None, **options: Any) -> None:
        data = export_user(existing_user_id(user), via="command")
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
        else:
            self.stdout.write(text, ending="")
