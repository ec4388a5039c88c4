"""Create the local demo's superuser (admin / admin) if it is missing and print the log-ins."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
DEMO_CUSTOMER_PASSWORD = "demo-password"


class Command(BaseCommand):
    help = (
        "Create the superuser admin/admin for the local demo if it does not exist, and print "
        "the admin and demo customer log-ins. Never run this on a public deployment."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
            self.stdout.write(f"Created the superuser {ADMIN_USERNAME!r}.")
        self.stdout.write(f"Admin log-in: {ADMIN_USERNAME} / {ADMIN_PASSWORD} at /admin/")
        customer = (
            User.objects.filter(customer__isnull=False)
            .exclude(customer__persona="")
            .order_by("pk")
            .first()
        )
        if customer is None:
            return
        # Print the password only if it really opens the account (imported customers have none).
        if customer.check_password(DEMO_CUSTOMER_PASSWORD):
            self.stdout.write(
                f"Demo customer log-in: {customer.get_username()} / {DEMO_CUSTOMER_PASSWORD} at /"
            )
        else:
            self.stdout.write(f"Demo customer: {customer.get_username()} (no demo password set)")
