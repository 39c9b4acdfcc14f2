"""`manage.py webhooks register|unregister`: point the API server's admission webhooks at ecrcontrol.

For a cluster whose API server can reach this web server directly (the local control plane, a
development cluster). `make run` does this for its own control plane.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from secrets_app.kube.errors import KubeError
from secrets_app.models import Cluster
from secrets_app.services.clusters import kube_for
from secrets_app.webhooks import registration


class Command(BaseCommand):
    help = "Register (or remove) ecrcontrol's admission webhook configurations in the default cluster."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["register", "unregister"])
        parser.add_argument("--url", help="Base URL of the web role, e.g. https://127.0.0.1:8443")
        parser.add_argument("--ca-file", type=Path, help="PEM file of the CA that signed its certificate")

    def handle(self, *args, action: str, url: str | None, ca_file: Path | None, **options) -> None:
        if action == "register":
            if not url or not url.startswith("https://") or not ca_file:
                raise CommandError(
                    "register needs --url https://HOST:PORT and --ca-file PATH (webhooks are TLS only)"
                )
            if not ca_file.is_file():
                raise CommandError(f"--ca-file {ca_file} does not exist")
        kube = kube_for(Cluster.default())
        try:
            if action == "register":
                registration.register(kube, url, ca_file.read_bytes())
            else:
                registration.unregister(kube)
        except KubeError as exc:
            raise CommandError(f"could not {action} the webhook configurations: {exc}") from None
        if action == "register":
            self.stdout.write(f"Webhooks registered: {url}/webhooks/mutate and {url}/webhooks/validate")
        else:
            self.stdout.write("Webhook configurations removed.")
