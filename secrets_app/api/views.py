"""The API's endpoints: thin views over the mirror rows (reads) and services.writer (writes)."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..choices import IdentityKind
from ..models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret, PullSecretResource
from ..models.resources import health
from ..services import connectivity, writer
from ..services.identity import refresh
from ..services.reporting import summary
from . import access, errors, etags, filters, schema, serializers
from .parsers import BoundedJSONParser

MSG_REFRESH_STARTED = (
    "refresh started for {identity} in {region}: a new token, and every Secret that uses it "
    "rewritten within seconds."
)
MSG_REFRESH_LOG = "Refresh now requested (REST API)."
MSG_WRITTEN_LOG = "{what} through the REST API."


MSG_PAGE_SIZE = "must be a whole number from 1 to {max}."


class Pages(PageNumberPagination):
    """`page` and `pageSize`; a pageSize that is not a number from 1 to 1,000 is a 400, not ignored."""

    page_size = 100
    page_size_query_param = "pageSize"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isdecimal() or not 1 <= int(value) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [MSG_PAGE_SIZE.format(max=self.max_page_size)]}
            )
        return int(value)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
            if parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
        return parameters


class NotFoundView(APIView):
    """Any other path under /api/ (a malformed id included): a JSON 404, not the site's HTML page."""

    authentication_classes: list = []
    permission_classes: list = []
    renderer_classes = [JSONRenderer]
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound("no such API path: see /api/schema/ for the paths there are.")


class ApiMixin:
    authentication_classes = access.AUTHENTICATION
    permission_classes = [access.ModelPermissions]
    throttle_classes = [access.PerUserThrottle]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return errors.exception_handler


class ReadOnlyViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = Pages
    filter_backends = [DjangoFilterBackend]


@schema.cluster_views
class ClusterViewSet(ReadOnlyViewSet):
    """The clusters ecrcontrol manages (added and changed in the admin)."""

    queryset = Cluster.objects.order_by("name", "pk")
    serializer_class = serializers.ClusterSerializer


@schema.secret_views
class ManagedSecretViewSet(ReadOnlyViewSet):
    """The docker Secrets ecrcontrol manages, as last seen in their clusters (their data is never shown)."""

    queryset = ManagedSecret.objects.select_related("cluster").order_by(
        "cluster__name", "namespace", "name", "pk"
    )
    serializer_class = serializers.ManagedSecretSerializer
    filterset_class = filters.ManagedSecretFilter


class ResourceViewSet(ApiMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Both kinds of pull secret: read from the mirror, written to the cluster through the writer."""

    pagination_class = Pages
    filter_backends = [DjangoFilterBackend]
    model: type[PullSecretResource]
    default_order: tuple[str, ...]

    def get_queryset(self):
        rows = self.model.objects.select_related("cluster").annotate(health=health())
        return rows.order_by(*self.default_order, "pk")

    def _answer(self, row: PullSecretResource, code: int = status.HTTP_200_OK, **headers: str) -> Response:
        data = self.get_serializer(row).data
        return Response(data, status=code, headers={"ETag": etags.of(row), **headers})

    def _log(self, row: PullSecretResource, flag: int, message: str) -> None:
        """An entry in the admin's history, as for the dashboard's edits. The content type is read,
        not taken from ContentType's per-process cache, which goes stale if the table is re-created
        while the web role runs (a database restore; the tests' flushes)."""
        opts = row._meta
        LogEntry.objects.create(
            user_id=self.request.user.pk,
            content_type=ContentType.objects.get(app_label=opts.app_label, model=opts.model_name),
            object_id=str(row.pk),
            object_repr=str(row)[:200],
            action_flag=flag,
            change_message=message,
        )

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self._answer(self.get_object())

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = serializer.save()
        self._log(row, ADDITION, MSG_WRITTEN_LOG.format(what="Created"))
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{row.pk}/")
        return self._answer(row, status.HTTP_201_CREATED, Location=location)

    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        row = self.get_object()
        etags.check(request, row)
        serializer = self.get_serializer(row, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        row = serializer.save()
        self._log(row, CHANGE, MSG_WRITTEN_LOG.format(what="Changed"))
        return self._answer(row)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        row = self.get_object()
        etags.check(request, row)
        writer.delete_from_cluster(row)
        self._log(row, DELETION, MSG_WRITTEN_LOG.format(what="Deleted"))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(
        detail=True,
        methods=["post"],
        serializer_class=serializers.RefreshStartedSerializer,
    )
    def refresh(self, request: Request, *args, **kwargs) -> Response:
        """Ask for a refresh now: a new ECR token for the resource's AWS identity and region, and every
        Secret that uses it (in every resource) rewritten. At most one per AWS identity and region per
        ECRCONTROL_MANUAL_REFRESH_SECONDS, shared with the dashboard's button (429 with Retry-After)."""
        row = self.get_object()
        identity = refresh.request(row)
        self._log(row, CHANGE, MSG_REFRESH_LOG)
        name = identity.access_key_id  # the access key ID for inline keys, else "<kind> <reference>..."
        inline = row.identity_kind == IdentityKind.INLINE
        message = MSG_REFRESH_STARTED.format(
            identity=f"access key {name}" if inline else name, region=identity.region
        )
        body = {
            "detail": message,
            "identity": name,
            "accessKeyId": row.access_key_id if inline else "",
            "region": identity.region,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


@schema.resource_views("AWSECRImagePullSecret")
class NamespacedPullSecretViewSet(ResourceViewSet):
    """AWSECRImagePullSecrets: each manages one docker Secret in its own namespace."""

    model = NamespacedPullSecret
    serializer_class = serializers.NamespacedPullSecretSerializer
    filterset_class = filters.NamespacedPullSecretFilter
    default_order = ("cluster__name", "namespace", "name")


@schema.resource_views("ClusterAWSECRImagePullSecret")
class ClusterPullSecretViewSet(ResourceViewSet):
    """ClusterAWSECRImagePullSecrets: each manages the same docker Secret in every listed namespace."""

    model = ClusterPullSecret
    serializer_class = serializers.ClusterPullSecretSerializer
    filterset_class = filters.ClusterPullSecretFilter
    default_order = ("cluster__name", "name")


class SummaryView(ApiMixin, APIView):
    """Per cluster: pull secrets ready, failing and pending; managed Secrets by state; the soonest
    expiry and next refresh; whether its API server answers. The dashboard's figures."""

    permission_classes = [access.ViewPermissions]
    required_permissions = (
        "secrets_app.view_cluster",
        "secrets_app.view_namespacedpullsecret",
        "secrets_app.view_clusterpullsecret",
        "secrets_app.view_managedsecret",
    )

    @schema.summary_view
    def get(self, request: Request) -> Response:
        rows = [
            {
                "cluster": s.cluster.name,
                "apiServer": connectivity.of(s.cluster),
                "resources": s.resources,
                "secrets": s.secrets,
                "soonestExpiry": s.soonest_expiry,
                "nextRefresh": s.next_refresh,
            }
            for s in summary.clusters()
        ]
        return Response(serializers.SummarySerializer({"clusters": rows}).data)
