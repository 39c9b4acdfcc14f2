"""The REST API's representation: Kubernetes-shaped `metadata`, `spec` and `status`.

A resource reads from its mirror row. A write is validated here with the same rules as the
dashboard and the webhooks (services.specs), then sent to the cluster through services.writer;
the answer is the row the writer returns. `spec.awsAccess.secretAccessKey` is write-only: it is
passed to the writer and never read back, stored or echoed in an error.
"""

from __future__ import annotations

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..kube.kinds import CLUSTER, NAMESPACED
from ..models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret, PullSecretResource
from ..services import specs, writer
from ..services.identity import access
from ..services.secrets import managed

MSG_UNKNOWN = "unknown field: remove it (see the schema at /api/schema/ for the fields there are)."
MSG_NOT_A_STRING = "must be a string."
MSG_CONSTANT = "must be {value!r} here (or left out)."
MSG_IMMUTABLE = "cannot be changed (it is {old!r}): create a new resource instead, and delete this one."
MSG_KEY_TO_CREATE = "required to create the resource: the secret access key of accessKeyId."
MSG_KEY_TO_CHANGE = (
    "required when accessKeyId changes: give the secret access key of the new accessKeyId "
    "(the old key is not reused)."
)
MSG_NO_CLUSTER = "no cluster is configured: add one in the admin (Clusters) first."
MSG_WHICH_CLUSTER = "required when ecrcontrol manages several clusters: one of {names}."
MSG_UNKNOWN_CLUSTER = "no cluster named {value!r}: use one of GET /api/v1/clusters/."


class StrictSerializer(serializers.Serializer):
    # Rejects keys it does not know (a typo is an error, not silently ignored). Read-only fields are
    # known: a representation read with GET may be sent back as it is. (No docstring: the schema
    # would show it as every subclass's description.)

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors = dict(exc.detail)
        errors.update({str(key): [MSG_UNKNOWN] for key in unknown})
        if errors:
            raise serializers.ValidationError(errors)
        return value


class StringField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)

    default_error_messages = {"not_a_string": MSG_NOT_A_STRING}


def _schema(field_class: type, **schema) -> type:
    """A subclass of `field_class` that the OpenAPI schema describes as `schema` (a pattern, an enum):
    clients and schemathesis see the rule that validation applies."""
    return extend_schema_field({"type": "string", **schema})(type(field_class.__name__, (field_class,), {}))


class ConstantField(StringField):
    """apiVersion and kind: always this value; accepted on input when equal, so a manifest can be sent."""

    def __init__(self, value: str, **kwargs) -> None:
        self.value = value
        super().__init__(required=False, help_text=f"Always {value!r}.", **kwargs)

    def get_attribute(self, instance):
        return self.value

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if data != self.value:
            raise serializers.ValidationError(MSG_CONSTANT.format(value=self.value))
        return data


NameField = _schema(StringField, pattern=specs.DNS_SUBDOMAIN.pattern, maxLength=253)
NamespaceField = _schema(StringField, pattern=specs.DNS_LABEL.pattern, maxLength=63)


def _name(value: str) -> str:
    problem = specs.name_problem(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


def _namespace(value: str) -> str:
    problem = specs.namespace_problem(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class ClusterNameField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": MSG_UNKNOWN_CLUSTER,
        "invalid": MSG_NOT_A_STRING,
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="name", queryset=Cluster.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# -- metadata ------------------------------------------------------------------------------------
class ClusterMetadataSerializer(StrictSerializer):
    """The object's identity: its cluster and name (set on create, never changed) and its version."""

    cluster = ClusterNameField(
        required=False,
        help_text="The name of the ecrcontrol Cluster the resource lives in. On create it may be left "
        "out when ecrcontrol manages a single cluster. Cannot be changed.",
    )
    name = NameField(max_length=253, help_text="The object's name (a DNS-1123 subdomain). Cannot be changed.")
    uid = serializers.CharField(read_only=True, help_text="The object's uid in its cluster.")
    generation = serializers.IntegerField(read_only=True, help_text="Increases with every change of spec.")
    resourceVersion = serializers.CharField(
        source="resource_version", read_only=True, help_text="The object's resourceVersion as last mirrored."
    )

    def validate_name(self, value: str) -> str:
        return _name(value)


class NamespacedMetadataSerializer(ClusterMetadataSerializer):
    """The object's identity: its cluster, namespace and name (set on create, never changed) and its
    version."""

    namespace = NamespaceField(
        max_length=63, help_text="The object's namespace, where its Secret is managed. Cannot be changed."
    )

    def validate_namespace(self, value: str) -> str:
        return _namespace(value)


# -- spec ----------------------------------------------------------------------------------------
class AwsAccessSerializer(StrictSerializer):
    """The AWS identity whose ECR token goes into the Secret."""

    accessKeyId = StringField(source="access_key_id", max_length=128, help_text="The AWS access key ID.")
    secretAccessKey = StringField(
        source="secret_access_key",
        write_only=True,
        required=False,
        max_length=1024,
        style={"input_type": "password"},
        help_text="Write-only: sent to the cluster object, never stored by ecrcontrol nor returned. "
        "Required on create and whenever accessKeyId changes; left out, the current key is kept.",
    )
    region = _schema(StringField, pattern=access.REGION_PATTERN.pattern, maxLength=32)(
        max_length=32, help_text="The registry's AWS region, e.g. eu-west-1."
    )

    def validate_region(self, value: str) -> str:
        if not access.REGION_PATTERN.match(value):
            raise serializers.ValidationError(
                f"{value!r} is not an AWS region name: use one such as eu-west-1."
            )
        return value


class NamespacedSpecSerializer(StrictSerializer):
    """What the resource asks for, as in the CRD: the Secret's name and the AWS identity."""

    awsAccess = AwsAccessSerializer(source="*", help_text="The AWS identity that reads from ECR.")
    secretName = NameField(
        source="secret_name",
        max_length=253,
        help_text="The name of the kubernetes.io/dockerconfigjson Secret to manage (immutable once created).",
    )

    def validate_secretName(self, value: str) -> str:
        return _name(value)


class ClusterSpecSerializer(NamespacedSpecSerializer):
    """What the resource asks for, as in the CRD: the Secret's name, the namespaces to put it in,
    and the AWS identity."""

    namespaces = serializers.ListField(
        child=NamespaceField(max_length=63),
        min_length=1,
        max_length=1000,
        help_text="The namespaces to manage the Secret in (at least one; repeats are dropped).",
    )

    def validate_namespaces(self, value: list[str]) -> list[str]:
        problems = {i: [p] for i, p in enumerate(specs.namespace_problem(ns) for ns in value) if p}
        if problems:
            raise serializers.ValidationError(problems)
        return list(dict.fromkeys(value))


# -- status --------------------------------------------------------------------------------------
class NamespaceResultSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    state = serializers.ChoiceField(
        choices=["pending", "synced", "failed", "conflict"],
        help_text="pending: not written yet; synced: written and current; failed: the last write "
        "failed (see error); conflict: a Secret of that name is not ours.",
    )
    lastWritten = serializers.DateTimeField(allow_null=True)
    expiresAt = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(help_text="The last error writing this Secret; empty when none.")


class StatusSerializer(serializers.Serializer):
    ready = serializers.BooleanField(
        allow_null=True, help_text="The Ready condition: true, false (failing) or null (not reconciled yet)."
    )
    reason = serializers.CharField(help_text="The Ready condition's reason, e.g. SecretsUpdated.")
    message = serializers.CharField(help_text="The Ready condition's message: what is wrong and what to do.")
    lastTransitionTime = serializers.DateTimeField(
        source="transition_time", allow_null=True, help_text="Since when Ready has had its value."
    )
    expiresAt = serializers.DateTimeField(
        source="expires_at", allow_null=True, help_text="When the current ECR token expires."
    )
    lastRefreshTime = serializers.DateTimeField(source="last_refresh", allow_null=True)
    nextRefreshTime = serializers.DateTimeField(source="next_refresh", allow_null=True)
    observedGeneration = serializers.IntegerField(source="observed_generation", allow_null=True)
    namespaces = serializers.SerializerMethodField(help_text="The managed Secret in each namespace.")

    @extend_schema_field(NamespaceResultSerializer(many=True))
    def get_namespaces(self, row: PullSecretResource) -> list[dict]:
        found = self.root.context.get("secrets")
        if found is None:
            found = managed.secrets_of([row])
        return [
            {
                "namespace": ns,
                "state": secret.state if secret else "pending",
                "lastWritten": secret.last_written if secret else None,
                "expiresAt": secret.expires_at if secret else None,
                "error": secret.last_error if secret else "",
            }
            for ns, secret in managed.by_namespace(row, found)
        ]


# -- the resources -------------------------------------------------------------------------------
class ResourceListSerializer(serializers.ListSerializer):
    """Loads the Secrets of every row on the page in one query."""

    def to_representation(self, data):
        rows = list(data.all() if isinstance(data, models.Manager) else data)
        self.context["secrets"] = managed.secrets_of(rows)
        return super().to_representation(rows)


class ResourceSerializer(StrictSerializer):
    model: type[PullSecretResource]

    id = serializers.IntegerField(
        read_only=True, help_text="ecrcontrol's id of the resource: the {id} in URLs."
    )
    status = StatusSerializer(source="*", read_only=True, help_text="As last reported by ecrcontrol.")
    syncedAt = serializers.DateTimeField(
        source="synced_at",
        read_only=True,
        allow_null=True,
        help_text="When this representation last matched the cluster (older while its API server is down).",
    )

    class Meta:
        list_serializer_class = ResourceListSerializer

    def validate(self, attrs: dict) -> dict:
        attrs.pop("apiVersion", None)
        attrs.pop("kind", None)
        if self.instance is None:
            self._creating(attrs)
        else:
            self._updating(attrs)
        return attrs

    def _creating(self, attrs: dict) -> None:
        errors: dict = {}
        if "cluster" not in attrs:
            names = list(Cluster.objects.values_list("name", flat=True)[:11])
            if len(names) == 1:
                attrs["cluster"] = Cluster.objects.get(name=names[0])
            else:
                message = MSG_WHICH_CLUSTER.format(names=", ".join(names)) if names else MSG_NO_CLUSTER
                errors["metadata"] = {"cluster": [message]}
        if not attrs.get("secret_access_key"):
            errors["spec"] = {"awsAccess": {"secretAccessKey": [MSG_KEY_TO_CREATE]}}
        if errors:
            raise serializers.ValidationError(errors)

    def _updating(self, attrs: dict) -> None:
        row = self.instance
        changed = {
            field: [MSG_IMMUTABLE.format(old=str(getattr(row, field)))]
            for field in ("cluster", "name", "namespace")
            if field in attrs and attrs[field] != getattr(row, field)
        }
        errors: dict = {"metadata": changed} if changed else {}
        new_key_id = attrs.get("access_key_id", row.access_key_id) != row.access_key_id
        if new_key_id and not attrs.get("secret_access_key"):
            errors["spec"] = {"awsAccess": {"secretAccessKey": [MSG_KEY_TO_CHANGE]}}
        if errors:
            raise serializers.ValidationError(errors)

    def create(self, validated_data: dict) -> PullSecretResource:
        key = validated_data.pop("secret_access_key", "")
        return writer.save_to_cluster(self.model(**validated_data), key)

    def update(self, instance: PullSecretResource, validated_data: dict) -> PullSecretResource:
        key = validated_data.pop("secret_access_key", "")
        for field, value in validated_data.items():
            setattr(instance, field, value)
        return writer.save_to_cluster(instance, key)


class NamespacedPullSecretSerializer(ResourceSerializer):
    """An AWSECRImagePullSecret: one Secret in its own namespace."""

    model = NamespacedPullSecret
    apiVersion = _schema(ConstantField, enum=[NAMESPACED.api_version])(NAMESPACED.api_version)
    kind = _schema(ConstantField, enum=[NAMESPACED.kind])(NAMESPACED.kind)
    metadata = NamespacedMetadataSerializer(source="*")
    spec = NamespacedSpecSerializer(source="*")

    class Meta(ResourceSerializer.Meta):
        ref_name = "AWSECRImagePullSecret"


class ClusterPullSecretSerializer(ResourceSerializer):
    """A ClusterAWSECRImagePullSecret: the same Secret in each listed namespace."""

    model = ClusterPullSecret
    apiVersion = _schema(ConstantField, enum=[CLUSTER.api_version])(CLUSTER.api_version)
    kind = _schema(ConstantField, enum=[CLUSTER.kind])(CLUSTER.kind)
    metadata = ClusterMetadataSerializer(source="*")
    spec = ClusterSpecSerializer(source="*")

    class Meta(ResourceSerializer.Meta):
        ref_name = "ClusterAWSECRImagePullSecret"


# -- read-only views -----------------------------------------------------------------------------
class ClusterSerializer(serializers.ModelSerializer):
    kubeconfigPath = serializers.CharField(source="kubeconfig_path", read_only=True)
    inCluster = serializers.BooleanField(source="in_cluster", read_only=True)

    class Meta:
        model = Cluster
        fields = ("id", "name", "kubeconfigPath", "context", "inCluster", "created")
        read_only_fields = fields


class SecretMetadataSerializer(serializers.Serializer):
    cluster = serializers.CharField(source="cluster.name")
    namespace = serializers.CharField()
    name = serializers.CharField()
    resourceVersion = serializers.CharField(source="resource_version")


class OwnerSerializer(serializers.Serializer):
    kind = serializers.CharField(source="owner_kind")
    namespace = serializers.CharField(source="owner_namespace", help_text="Empty for a cluster-scoped owner.")
    name = serializers.CharField(source="owner_name")
    uid = serializers.CharField(source="owner_uid")


class ManagedSecretSerializer(serializers.Serializer):
    """A kubernetes.io/dockerconfigjson Secret that ecrcontrol manages (read-only; data never shown)."""

    id = serializers.IntegerField()
    metadata = SecretMetadataSerializer(source="*")
    owner = OwnerSerializer(source="*", help_text="The pull secret this Secret belongs to.")
    state = serializers.ChoiceField(choices=["pending", "synced", "failed", "conflict"])
    lastWritten = serializers.DateTimeField(source="last_written", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    error = serializers.CharField(source="last_error")

    class Meta:
        model = ManagedSecret


class CountsSerializer(serializers.Serializer):
    ready = serializers.IntegerField()
    failing = serializers.IntegerField()
    pending = serializers.IntegerField()
    total = serializers.IntegerField()


class SecretCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    synced = serializers.IntegerField()
    failed = serializers.IntegerField()
    conflict = serializers.IntegerField()
    total = serializers.IntegerField()


class ApiServerSerializer(serializers.Serializer):
    reachable = serializers.BooleanField(source="ok")
    version = serializers.CharField(help_text="The API server's version when reachable.")
    error = serializers.CharField(help_text="Why it could not be reached; empty when reachable.")


class ClusterSummarySerializer(serializers.Serializer):
    cluster = serializers.CharField(help_text="The cluster's name.")
    apiServer = ApiServerSerializer(help_text="The connection test, at most 15 s old.")
    resources = CountsSerializer(help_text="Pull secrets of both kinds by state.")
    secrets = SecretCountsSerializer(help_text="Managed Secrets by state.")
    soonestExpiry = serializers.DateTimeField(allow_null=True)
    nextRefresh = serializers.DateTimeField(allow_null=True)


class SummarySerializer(serializers.Serializer):
    clusters = ClusterSummarySerializer(many=True)


class RefreshStartedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    accessKeyId = serializers.CharField()
    region = serializers.CharField()
