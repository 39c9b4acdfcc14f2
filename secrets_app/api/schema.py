"""What the OpenAPI schema says beyond what the code shows: every status code, header and error.

drf-spectacular generates the schema from the views and serializers; these decorators add the
answers that come from the cluster, the writer and the refresh service.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

from .serializers import (
    ClusterSerializer,
    ManagedSecretSerializer,
    RefreshStartedSerializer,
    SummarySerializer,
)


def only_the_api(endpoints: list) -> list:
    """drf-spectacular preprocessing hook: document /api/v1/ only (not the webhooks)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong and what to do about it.")

    class Meta:
        ref_name = "Error"


class TooSoonSerializer(ErrorSerializer):
    allowedAt = serializers.DateTimeField(
        required=False, help_text="For a refresh asked too soon: when the next one is allowed."
    )

    class Meta:
        ref_name = "Throttled"


def error(description: str, serializer=ErrorSerializer) -> OpenApiResponse:
    return OpenApiResponse(serializer, description=description)


BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid input: messages per field, nested as in the body "
    '(`{"spec": {"awsAccess": {"region": ["..."]}}}`), unknown fields named, malformed or oversized '
    "JSON in `detail`. A denial by the cluster's API server or its admission webhooks also comes as "
    "400: the whole message in `detail`, each part under the field it names.",
)
UNAUTHENTICATED = error(
    "Not authenticated: send `Authorization: Token <key>` (make one with `manage.py apitoken`), or log "
    "in to the admin first for session authentication. The answer carries `WWW-Authenticate: Token`."
)
FORBIDDEN = error(
    "Authenticated, but without the model permission: the group 'ecrcontrol viewers' may read, "
    "'ecrcontrol operators' may also write and refresh."
)
NOT_FOUND = error("No such resource (or page): it may have been deleted in the cluster.")
CONFLICT = error(
    "The write was refused: the object was changed in the cluster since this version (a kubectl edit "
    "the mirror had not seen yet), or, on create, an object of that name already exists."
)
PRECONDITION_FAILED = error(
    "If-Match no longer matches: the resource changed since you read it. GET it again and retry."
)
UNAVAILABLE = error(
    "The cluster's API server did not answer (or its kubeconfig cannot be loaded): nothing was "
    "written. Reads still answer from ecrcontrol's mirror; try the write again later."
)
UNSUPPORTED = error("The body must be JSON (`Content-Type: application/json`).")
THROTTLED = error(
    "Too many requests from this user (ECRCONTROL_API_THROTTLE_RATE), or a manual refresh of this "
    "access key and region was asked for too recently. `Retry-After` says in how many seconds.",
    TooSoonSerializer,
)
COMMON = {401: UNAUTHENTICATED, 403: FORBIDDEN, 429: THROTTLED}

ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="The version of the resource's spec: send it back in If-Match to change or delete "
    "exactly this version.",
)
LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[201],
    description="The new resource's URL.",
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before trying again.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the version you read. If it no longer matches: 412, nothing written. "
    "Without it, the write is based on the version ecrcontrol last saw (still refused with 409 if the "
    "cluster's has moved on).",
)
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[401],
    description="`Token`: the authentication scheme to use.",
)
ALWAYS = [RETRY_AFTER, WWW_AUTHENTICATE]


def _list(what: str, serializer) -> dict:
    return {
        "list": extend_schema(
            summary=f"List {what}",
            parameters=ALWAYS,
            responses={200: serializer, 400: BAD_REQUEST, 404: NOT_FOUND, **COMMON},
        ),
        "retrieve": extend_schema(
            summary=f"Get one of the {what}",
            parameters=ALWAYS,
            responses={200: serializer, 404: NOT_FOUND, **COMMON},
        ),
    }


def cluster_views(cls):
    return extend_schema_view(**_list("clusters", ClusterSerializer))(cls)


def secret_views(cls):
    return extend_schema_view(**_list("managed Secrets", ManagedSecretSerializer))(cls)


def resource_views(kind: str):
    def decorate(cls):
        serializer = cls.serializer_class
        write = {400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT, 412: PRECONDITION_FAILED}
        write.update({415: UNSUPPORTED, 503: UNAVAILABLE, **COMMON})
        views = {
            "list": extend_schema(
                summary=f"List {kind}s",
                description="Filter with the query parameters; pages follow a stable order (the "
                "ordering asked for, then the id).",
                parameters=ALWAYS,
                responses={200: serializer, 400: BAD_REQUEST, 404: NOT_FOUND, **COMMON},
            ),
            "retrieve": extend_schema(
                summary=f"Get an {kind}" if kind.startswith("A") else f"Get a {kind}",
                parameters=[*ALWAYS, ETAG],
                responses={200: serializer, 404: NOT_FOUND, **COMMON},
            ),
            "create": extend_schema(
                summary=f"Create a {kind} in its cluster",
                description="Written to the cluster (its admission webhooks included) before the answer. "
                "spec.awsAccess names the AWS identity: accessKeyId with secretAccessKey, a secretRef, a "
                "serviceAccountRef with roleArn, or none of them for the operator's own credentials "
                "(where allowed); roleArn assumes a role from it. The status follows once the controller "
                "has reconciled it (GET it again, or poll).",
                parameters=[*ALWAYS, ETAG, LOCATION],
                responses={201: serializer, **{k: v for k, v in write.items() if k not in (404, 412)}},
            ),
            "update": extend_schema(
                summary=f"Replace a {kind}'s spec",
                description="The whole object, as read with GET: metadata (which cannot change) and "
                "the whole spec. secretAccessKey may be left out unless accessKeyId changes (or is new). "
                "An identity field left out is removed.",
                parameters=[*ALWAYS, ETAG, IF_MATCH],
                responses={200: serializer, **write},
            ),
            "partial_update": extend_schema(
                summary=f"Change part of a {kind}'s spec",
                description="Only the fields given change (spec.namespaces, spec.awsAccess.secretRef and "
                "spec.awsAccess.serviceAccountRef are replaced as a whole). Giving one base identity "
                "(accessKeyId/secretAccessKey, secretRef or serviceAccountRef) replaces the current one; "
                "null removes a field (e.g. roleArn).",
                parameters=[*ALWAYS, ETAG, IF_MATCH],
                responses={200: serializer, **write},
            ),
            "destroy": extend_schema(
                summary=f"Delete a {kind} from its cluster",
                description="Its managed Secrets go with it (Kubernetes garbage collection).",
                parameters=[*ALWAYS, IF_MATCH],
                responses={204: None, **{k: v for k, v in write.items() if k not in (400, 415)}},
            ),
            "refresh": extend_schema(
                summary="Refresh now",
                request=None,
                parameters=ALWAYS,
                responses={
                    202: RefreshStartedSerializer,
                    404: NOT_FOUND,
                    409: error("The resource has no AWS identity and region yet: fix its spec first."),
                    **COMMON,
                },
            ),
        }
        return extend_schema_view(**views)(cls)

    return decorate


summary_view = extend_schema(
    summary="Per-cluster counts (the dashboard's)",
    parameters=ALWAYS,
    responses={200: SummarySerializer, **COMMON},
)
