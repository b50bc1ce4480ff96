"""`navid manage setup_roles`: create or refresh one group per role with its permissions."""

from typing import Any

from django.core.management.base import BaseCommand

from navid.accounts.services import roles_sync


class Command(BaseCommand):
    help = "Create or refresh the role groups and their permissions."

    def handle(self, *args: Any, **options: Any) -> None:
        groups = roles_sync()
        self.stdout.write(f"{len(groups)} roles up to date.")
