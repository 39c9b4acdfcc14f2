"""`manage.py webhookcerts`: the web role's own webhook certificate, kept valid (the chart's default TLS).

Runs beside gunicorn (a sidecar in the chart): issues or reuses the pair in a Secret, patches the CA
into the webhook configurations, writes the files gunicorn serves, then checks again every
`--every` seconds until SIGTERM. It needs no database. See secrets_app/services/webhook_tls.py.
"""

import os
import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from secrets_app.kube.api import Kube
from secrets_app.kube.errors import KubeError
from secrets_app.services import webhook_tls

KINDS = {"mutating": "MutatingWebhookConfiguration", "validating": "ValidatingWebhookConfiguration"}


class Command(BaseCommand):
    help = "Issue or renew the webhook serving certificate kept in a Secret; patch the webhooks' caBundle."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--namespace",
            default=os.environ.get("POD_NAMESPACE", ""),
            help="Namespace of the Secret and Service (default: $POD_NAMESPACE)",
        )
        parser.add_argument("--secret", required=True, help="Name of the Secret that keeps the pair")
        parser.add_argument("--service", required=True, help="Name of the webhook Service")
        parser.add_argument("--mutating", default="", help="MutatingWebhookConfiguration to patch")
        parser.add_argument("--validating", default="", help="ValidatingWebhookConfiguration to patch")
        parser.add_argument("--out", type=Path, help="Directory to write tls.crt, tls.key and ca.crt to")
        parser.add_argument(
            "--every",
            type=float,
            default=0,
            help="Check again every N seconds until SIGTERM (0: once, then exit)",
        )

    def handle(self, *args, namespace, secret, service, mutating, validating, out, every, **options) -> None:
        if not namespace:
            raise CommandError("--namespace is required (or set POD_NAMESPACE)")
        if every < 0:
            raise CommandError(f"--every {every} must be 0 (once) or a number of seconds")
        configurations = [(KINDS[k], n) for k, n in (("mutating", mutating), ("validating", validating)) if n]
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        kube = Kube.connect()  # in-cluster (or KUBECONFIG); no database needed
        while True:
            try:
                reason = webhook_tls.ensure(kube, namespace, secret, service, configurations, out)
            except KubeError as exc:
                if not every:
                    raise CommandError(
                        f"could not keep the webhook certificate in {namespace}/{secret}: {exc}"
                    ) from None
                self.stderr.write(f"webhook certificate check failed, retrying in 10s: {exc}")
                if stop.wait(10):
                    return
                continue
            self.stdout.write(f"webhook certificate {'renewed: ' + reason if reason else 'valid'}")
            self.stdout.flush()
            if not every or stop.wait(every):
                return
