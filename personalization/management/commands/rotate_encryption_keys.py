"""Re-encrypt every encrypted field under the first key of ENCRYPTION_KEYS (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...privacy.rotation import BATCH_SIZE, rotate_encrypted_values


class Command(BaseCommand):
    help = (
        "Re-encrypt every value of the app's encrypted fields under the first key of "
        "PERSONALIZATION['ENCRYPTION_KEYS']; after it, older keys can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Rows per batch.")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        result = rotate_encrypted_values(batch_size=batch_size)
        for label, count in result.rotated.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        if result.undecryptable:
            details = ", ".join(f"{label}: {n}" for label, n in result.undecryptable.items())
            raise CommandError(
                f"Some values cannot be decrypted with any key ({details}); they were left as "
                "they are. Put the key they were written with back into ENCRYPTION_KEYS."
            )
        self.stdout.write(self.style.SUCCESS("Every encrypted value now uses the first key."))
