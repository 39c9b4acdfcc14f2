"""gunicorn settings for the web role (admin, webhooks, health): HTTPS only.

    gunicorn -c python:ecrcontrol.gunicorn ecrcontrol.wsgi

The certificate and key come from files (as cert-manager or the chart mount them):
ECRCONTROL_TLS_CERT_FILE and ECRCONTROL_TLS_KEY_FILE. There is no plain-HTTP fallback.
"""

import os

from secrets_app.lifecycle import forks_die_with_parent

bind = [os.environ.get("ECRCONTROL_BIND", "0.0.0.0:8443")]
certfile = os.environ.get("ECRCONTROL_TLS_CERT_FILE", "")
keyfile = os.environ.get("ECRCONTROL_TLS_KEY_FILE", "")
if not (certfile and keyfile):
    raise SystemExit(
        "ECRCONTROL_TLS_CERT_FILE and ECRCONTROL_TLS_KEY_FILE must name the serving certificate and "
        "key: the web role (admission webhooks, admin) is served over HTTPS only."
    )
# Threads, because the validating webhook waits on ECR (up to ECRCONTROL_WEBHOOK_ECR_TIMEOUT_SECONDS).
worker_class = "gthread"
# One process by default: each costs about 110 MB, and its threads already serve webhooks and
# admin at this scale; more replicas (or ECRCONTROL_WEB_WORKERS) for more.
workers = int(os.environ.get("ECRCONTROL_WEB_WORKERS", "1"))
# ECRCONTROL_EMBEDDED=1 (the embedded default): the worker process also hosts the controller and
# worker roles (`secrets_app.embedded`), so the three roles load Django, the Kubernetes client and
# boto3 once. One web process then: the roles run once per pod.
EMBEDDED = os.environ.get("ECRCONTROL_EMBEDDED") == "1"
if EMBEDDED:
    workers = 1
# Threads are cheap, and the API server calls the webhooks for concurrent requests at once: while
# a few wait on ECR (the first check of new credentials), the others must still answer in time.
threads = int(os.environ.get("ECRCONTROL_WEB_THREADS", "8"))
accesslog = "-"
# No runtime control socket: it would be written under $HOME, which is read-only in the image
# (readOnlyRootFilesystem); the chart manages the processes.
control_socket_disable = True
# Started by `make run` or the tests (and only then): the workers die with the master, even
# when it is killed with SIGKILL.
forks_die_with_parent()


def when_ready(server) -> None:
    """ECRCONTROL_METRICS_BIND: also serve /metrics, /healthz and /readyz over plain HTTP from the
    master (the workers' metrics are read from PROMETHEUS_MULTIPROC_DIR)."""
    bind = os.environ.get("ECRCONTROL_METRICS_BIND")
    if bind:
        import django

        django.setup()
        from secrets_app.monitoring import health
        from secrets_app.monitoring import server as metrics_server

        metrics_server.serve(bind, readiness=health.database_problems, database=True)


def post_worker_init(worker) -> None:
    """ECRCONTROL_EMBEDDED=1: start the controller and worker roles in this web process."""
    if EMBEDDED:
        from secrets_app.embedded import Embedded
        from secrets_app.monitoring import health

        worker.embedded = Embedded()
        health.add_hosted(worker.embedded.controller.readiness)
        worker.embedded.start_in_background()


def worker_exit(server, worker) -> None:
    """Step down and release the Lease, finish the running reconciles, before the process ends."""
    embedded = getattr(worker, "embedded", None)
    if embedded is not None:
        embedded.stop()
