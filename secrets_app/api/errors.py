"""The services' refusals as HTTP answers, in DRF's shape: `{"detail": "..."}` plus, for a denial
that names fields, the message parts under those fields (`{"spec": {"secretName": ["..."]}}`).

| refusal | status |
|---|---|
| writer.WriteConflict (changed in the cluster since, or the name is taken) | 409 |
| writer.WriteGone (no longer in the cluster) | 404 |
| writer.WriteUnavailable (API server down, kubeconfig unloadable) | 503 |
| writer.WriteError (API server or admission webhook denial) | 400 |
| refresh.TooSoon (manual refresh of this identity too recent) | 429 + Retry-After |
| refresh.RefreshRefused (nothing to refresh with yet) | 409 |
"""

from __future__ import annotations

import datetime
import math

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..services import writer
from ..services.identity import refresh

WRITE_STATUS = (
    (writer.WriteConflict, status.HTTP_409_CONFLICT),
    (writer.WriteGone, status.HTTP_404_NOT_FOUND),
    (writer.WriteUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
    (writer.WriteError, status.HTTP_400_BAD_REQUEST),
)


def nested(fields: dict[str, list[str]]) -> dict:
    """{"spec.awsAccess.region": [m]} as {"spec": {"awsAccess": {"region": [m]}}}; messages that name
    no field are left out (the caller's `detail` holds the whole message)."""
    tree: dict = {}
    for path, messages in sorted(fields.items()):
        if not path:
            continue
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            child = node.setdefault(part, {})
            if isinstance(child, list):  # a message on the parent itself, and now on a child
                child = node[part] = {"non_field_errors": child}
            node = child
        if isinstance(node.get(leaf), dict):
            node[leaf].setdefault("non_field_errors", []).extend(messages)
        else:
            node.setdefault(leaf, []).extend(messages)
    return tree


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, refresh.TooSoon):
        wait = (exc.allowed_at - datetime.datetime.now(datetime.UTC)).total_seconds()
        body = {"detail": str(exc), "allowedAt": exc.allowed_at.isoformat().replace("+00:00", "Z")}
        return Response(body, status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
    if isinstance(exc, refresh.RefreshRefused):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    for error_class, code in WRITE_STATUS:
        if isinstance(exc, error_class):
            body = {"detail": str(exc)}
            if code == status.HTTP_400_BAD_REQUEST:
                body.update(nested(exc.fields))
            return Response(body, status=code)
    return drf_exception_handler(exc, context)
