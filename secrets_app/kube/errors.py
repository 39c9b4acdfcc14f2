"""Kubernetes API errors, translated from the client's ApiException into meaningful types."""

from __future__ import annotations

import json


class KubeError(Exception):
    """Any failed API call. `temporary` says whether retrying later may succeed."""

    temporary = True

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message or reason)
        self.status = status
        self.reason = reason
        self.message = message or reason


class NotFound(KubeError):
    temporary = False


class Conflict(KubeError):
    """409: a newer resourceVersion exists, or the object already exists."""


class Gone(KubeError):
    """410: the watch's resourceVersion is too old; re-list."""


class Forbidden(KubeError):
    temporary = False


class Invalid(KubeError):
    temporary = False


class ConfigError(KubeError):
    """The kubeconfig (or the in-cluster service account) cannot be loaded: fix the Cluster row."""

    temporary = False


class Unavailable(KubeError):
    """Network errors and timeouts, 408, 429 (priority and fairness, max-in-flight) and 5xx: the API
    server may answer later. Temporary: the reconcile backs off and retries (the transport has
    already honoured a Retry-After a few times: ratelimit.send)."""


_BY_STATUS = {404: NotFound, 409: Conflict, 410: Gone, 403: Forbidden, 422: Invalid, 400: Invalid}


def from_api_exception(exc) -> KubeError:
    status = getattr(exc, "status", 0) or 0
    reason, message = getattr(exc, "reason", "") or "", ""
    try:
        body = json.loads(exc.body or "{}")
        reason, message = body.get("reason", reason), body.get("message", "")
    except (TypeError, ValueError):
        pass
    cls = _BY_STATUS.get(status, Unavailable if status in (0, 408) or status >= 429 else KubeError)
    return cls(status, reason, message)
