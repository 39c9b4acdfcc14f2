"""`manage.py apitoken USER [--role viewer|operator] [--reset]`: a REST API token for a script.

Prints the user's token (made if it has none). `--role` puts the user in the role's group, and
creates the user (without a password: it can only use its token) if it does not exist.
"""

from django.core.management.base import BaseCommand, CommandError

from secrets_app.services import accounts

MSG_NO_USER = (
    "no user {name!r}: add --role viewer or --role operator to create it, or create it in the admin."
)


class Command(BaseCommand):
    help = "Print (and make if needed) the REST API token of a user; --role also creates the user."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            choices=sorted(accounts.ROLES),
            help="put the user in this role's group (only this one), creating the user if needed",
        )
        parser.add_argument("--reset", action="store_true", help="replace the token with a new one")

    def handle(self, *args, username: str, role: str | None, reset: bool, **options) -> None:
        try:
            key = accounts.api_token(username, role=role, reset=reset)
        except accounts.NoSuchUser:
            raise CommandError(MSG_NO_USER.format(name=username)) from None
        self.stdout.write(key)
