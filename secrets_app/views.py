"""Plain Django views: health checks for probes, and the Prometheus metrics page."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from .monitoring import exposition, health


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Nothing else: a database outage must not restart the pods."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database is reachable (the admin, the API and the webhooks all need it), and
    the roles hosted in this process are (the embedded default: the controller's watches)."""
    problems = health.database_problems() + health.hosted_problems()
    if problems:
        return JsonResponse({"status": "not ready", "problems": problems}, status=503)
    return JsonResponse({"status": "ok", "problems": []})


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format; no login (it shows counts and timings, never names of secrets)."""
    return HttpResponse(exposition.render(database=True), content_type=exposition.CONTENT_TYPE)
