"""`manage.py selfcheck`: the chart's `helm test` round trip (see secrets_app/services/selfcheck.py)."""

import os

from django.core.management.base import BaseCommand, CommandError

from secrets_app.kube.api import Kube
from secrets_app.kube.errors import KubeError
from secrets_app.services import selfcheck


class Command(BaseCommand):
    help = "Dry-run creates through the API server: both admission webhooks must answer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--namespace", default=os.environ.get("POD_NAMESPACE", ""))

    def handle(self, *args, namespace: str, **options) -> None:
        if not namespace:
            raise CommandError("--namespace is required (or set POD_NAMESPACE)")
        try:
            passed = selfcheck.run(Kube.connect(), namespace)
        except (selfcheck.SelfCheckFailed, KubeError) as exc:
            raise CommandError(f"self-check failed: {exc}") from None
        for line in passed:
            self.stdout.write(f"ok: {line}")
