"""Erase what the app holds about one user (a data-subject erasure request)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...privacy.erasure import erase_user
from .personalization_export import existing_user_id


class Command(BaseCommand):
    help = (
        "Erase a user's events, sessions, visitors, identity merges, aggregates and cached data, "
        "and unlink their consent records. The user account is not touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The user's id (primary key).")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, user: str, yes: bool, **options: Any) -> None:
        user_id = existing_user_id(user)
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("Add --yes to erase without a question.")
            answer = input(f"Erase every personalization record of user {user}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing was erased.")
        request = erase_user(user_id, via="command")
        for name, count in sorted(request.counts.items()):
            self.stdout.write(f"{name}: {count}")
        self.stdout.write(self.style.SUCCESS(f"Erased (audit record {request.pk})."))
