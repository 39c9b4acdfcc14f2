"""`manage.py ensureadmin`: the first admin from DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD.

Idempotent (unlike `createsuperuser --noinput`, which fails when the user exists): the chart runs it
after the migrations on every start.
"""

import os

from django.core.management.base import BaseCommand, CommandError

from secrets_app.services.accounts import ensure_superuser


class Command(BaseCommand):
    help = "Create the first superuser from the environment if it does not exist yet."

    def handle(self, *args, **options) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not username or not password:
            raise CommandError(
                "set DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD (the chart's admin Secret)"
            )
        created = ensure_superuser(username, password, os.environ.get("DJANGO_SUPERUSER_EMAIL", ""))
        self.stdout.write(f"admin {username!r} {'created' if created else 'already exists (left unchanged)'}")
