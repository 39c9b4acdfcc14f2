"""ETag and If-Match: optimistic concurrency the HTTP way.

A resource's ETag names the version of its spec: its uid and generation (status updates, which
happen at every refresh, do not change it, so an edit is not refused because a token was renewed).
A write whose If-Match no longer matches the mirror is refused with 412 before anything is sent;
one whose base is current here but has moved on in the cluster is refused by the writer (409).
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from ..models import PullSecretResource

MSG_STALE = (
    "{row} has changed since you read it: its ETag is now {current}, your If-Match was {sent}. "
    "GET it again, make your change on what it holds now, and send the new ETag."
)


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "the resource has changed since you read it."
    default_code = "precondition_failed"


def of(row: PullSecretResource) -> str:
    return f'"{row.uid}.{row.generation}"'


def check(request: Request, row: PullSecretResource) -> None:
    """Raise PreconditionFailed unless If-Match is absent, "*" or lists the row's current ETag."""
    sent = request.headers.get("If-Match", "").strip()
    if not sent:
        return
    tags = [tag.strip() for tag in sent.split(",")]
    if "*" in tags or of(row) in tags:  # a weak tag (W/"...") never matches: If-Match compares strongly
        return
    raise PreconditionFailed(MSG_STALE.format(row=row, current=of(row), sent=sent))
