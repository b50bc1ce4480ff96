"""`navid manage create_api_key USERNAME`: print a new API key as the last line."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from navid.accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it (it cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the key is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {options['username']!r}.")
        key = api_key_create(user=user, name=options["name"])
        self.stdout.write(f"API key for {user.get_username()} (use as 'Authorization: Bearer <key>'):")
        self.stdout.write(key)
