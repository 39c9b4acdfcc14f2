"""The controller role in a process of its own (`secrets_app.controller.role`): watch every
cluster and hand reconciles to the django-q2 workers. ECRCONTROL_METRICS_BIND serves /metrics,
/healthz and /readyz."""

import signal
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from secrets_app.controller.role import ControllerRole
from secrets_app.monitoring import server


class Command(BaseCommand):
    help = "Watch the custom resources, managed Secrets and Namespaces of each cluster; enqueue reconciles."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        self.host(ControllerRole(stop))

    def host(self, role) -> None:
        """Start `role`, serve its health port, and run it until SIGTERM or Ctrl-C; then exit 0."""
        role.start()
        if settings.ECRCONTROL_METRICS_BIND:
            server.serve(settings.ECRCONTROL_METRICS_BIND, readiness=role.readiness_with_database)
        self.stdout.write(f"controller watching {role.watching} cluster(s)", ending="\n")
        self.stdout.flush()
        role.run()
        sys.exit(0)
