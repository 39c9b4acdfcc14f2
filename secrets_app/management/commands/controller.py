"""The controller role: watch every cluster and hand reconciles to the django-q2 workers."""

import signal
import sys
import threading

from django.core.management.base import BaseCommand

from secrets_app.controller.runner import ClusterController
from secrets_app.models import Cluster


class Command(BaseCommand):
    help = "Watch the custom resources, managed Secrets and Namespaces of each cluster; enqueue reconciles."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        Cluster.default()
        controllers = [ClusterController(cluster, stop) for cluster in Cluster.objects.all()]
        threads = [threading.Thread(target=c.run, name=f"controller-{c.cluster}") for c in controllers]
        for thread in threads:
            thread.start()
        self.stdout.write(f"controller watching {len(controllers)} cluster(s)", ending="\n")
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            stop.set()
        for thread in threads:
            thread.join(timeout=10)
        sys.exit(0)
