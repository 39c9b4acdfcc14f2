"""`manage.py selfcheck`: the chart's `helm test` round trip (see secrets_app/webhooks/selfcheck.py)."""

import os

from django.core.management.base import BaseCommand, CommandError

from secrets_app.kube.api import Kube
from secrets_app.kube.errors import KubeError
from secrets_app.webhooks import selfcheck


class Command(BaseCommand):
    help = "Dry-run creates through the API server: both admission webhooks must answer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--namespace", default=os.environ.get("POD_NAMESPACE", ""))
        parser.add_argument(
            "--unmanaged-secret",
            required=True,
            help="A Secret in the namespace that ecrcontrol does not manage",
        )

    def handle(self, *args, namespace: str, unmanaged_secret: str, **options) -> None:
        if not namespace:
            raise CommandError("--namespace is required (or set POD_NAMESPACE)")
        try:
            passed = selfcheck.run(Kube.connect(), namespace, unmanaged_secret)
        except (selfcheck.SelfCheckFailed, KubeError) as exc:
            raise CommandError(f"self-check failed: {exc}") from None
        for line in passed:
            self.stdout.write(f"ok: {line}")
