"""The worker role: django-q2's `qcluster`, plus /metrics, /healthz and /readyz on
ECRCONTROL_METRICS_BIND (when set) for the chart's probes and Prometheus."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from secrets_app.monitoring import health, server


def _readiness() -> list[str]:
    from django_q.brokers import get_broker

    problems = health.database_problems()
    try:
        if not get_broker().ping():
            problems.append("the django-q2 broker does not answer")
    except Exception as exc:
        problems.append(f"the django-q2 broker does not answer: {type(exc).__name__}: {exc}")
    return problems


class Command(BaseCommand):
    help = "Run the django-q2 workers (reconcile tasks), with a metrics and health port if configured."

    def handle(self, *args, **options) -> None:
        if settings.ECRCONTROL_METRICS_BIND:
            server.serve(settings.ECRCONTROL_METRICS_BIND, readiness=_readiness)
        call_command("qcluster")
