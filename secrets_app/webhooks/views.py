"""The webhook endpoints: parse the AdmissionReview, call the decision, render the answer.

Served only over TLS (the API server calls webhooks over HTTPS only, and the body carries AWS
keys). The API server does not authenticate to webhooks by default, so the endpoints take no
login; they reveal nothing but the decision.
"""

from __future__ import annotations

import logging
import time

from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..monitoring.metrics import WEBHOOK_DURATION, WEBHOOK_REQUESTS
from . import reviews
from .lookups import ClusterLookups
from .mutating import mutate
from .validating import validate

log = logging.getLogger(__name__)

MSG_INTERNAL_ERROR = "ecrcontrol could not decide ({error}): see the web role's log, and try again"


class OverTLSOnly(BasePermission):
    message = "admission webhooks are served over HTTPS only: use https:// in the webhook clientConfig"

    def has_permission(self, request, view) -> bool:
        return request.is_secure()


class _AdmissionView(APIView):
    authentication_classes = []
    permission_classes = [OverTLSOnly]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    webhook = ""  # the metrics' label

    def decide(self, review: reviews.Review) -> dict:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        started = time.monotonic()
        self._result = "error"  # DRF makes a view instance per request
        try:
            return self._answer(request, started)
        finally:
            WEBHOOK_REQUESTS.labels(webhook=self.webhook, result=self._result).inc()
            WEBHOOK_DURATION.labels(webhook=self.webhook).observe(time.monotonic() - started)

    def _answer(self, request: Request, started: float) -> Response:
        try:
            review = reviews.parse(request.data)
        except reviews.BadReview as exc:
            log.warning("%s: bad AdmissionReview: %s", type(self).__name__, exc)
            self._result = "bad_request"
            return Response({"detail": str(exc)}, status=400)
        try:
            response = self.decide(review)
            self._result = "allowed" if response["allowed"] else "denied"
        except Exception as exc:  # answer the API server with a reason, never an HTML error page
            log.exception("%s: failed deciding on %s", type(self).__name__, review.describe)
            response = reviews.denied(review, [MSG_INTERNAL_ERROR.format(error=type(exc).__name__)], code=500)
            self._result = "error"
        log.info(
            "%s %s %s%s: %s in %.0f ms",
            type(self).__name__,
            review.operation,
            review.describe,
            " (dry run)" if review.dry_run else "",
            "allowed" if response["allowed"] else f"denied: {response['status']['message']}",
            (time.monotonic() - started) * 1000,
        )
        return Response(reviews.envelope(response))


class MutateView(_AdmissionView):
    webhook = "mutate"

    def decide(self, review: reviews.Review) -> dict:
        return mutate(review)


class ValidateView(_AdmissionView):
    webhook = "validate"

    def decide(self, review: reviews.Review) -> dict:
        return validate(review, ClusterLookups.default())
