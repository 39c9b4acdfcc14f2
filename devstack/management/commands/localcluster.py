"""Start the local control plane and local ECR by hand, print how to use them, wait for Ctrl-C."""

import threading

from django.core.management.base import BaseCommand

from devstack.stack import kubernetes_and_ecr, terminate_on_sigterm


class Command(BaseCommand):
    help = "Start a local Kubernetes control plane and a local ECR endpoint until Ctrl-C."

    def handle(self, *args, **options) -> None:
        terminate_on_sigterm()
        with kubernetes_and_ecr() as env:
            self.stdout.write("Paste into another shell to use kubectl, helm and boto3 against them:")
            for name, value in env.items():
                self.stdout.write(f"export {name}={value}")
            self.stdout.write("Press Ctrl-C to stop and clean up.")
            self.stdout.flush()
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                self.stdout.write("Stopping...")
