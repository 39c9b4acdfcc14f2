"""The REST API's representation: Kubernetes-shaped `metadata`, `spec` and `status`.

A resource reads from its mirror row. A write is validated here with the same rules as the
dashboard and the webhooks (services.specs, services.identity.access), then sent to the cluster
through services.writer; the answer is the row the writer returns.
`spec.awsAccess.secretAccessKey` is write-only: it is passed to the writer and never read back,
stored or echoed in an error.

spec.awsAccess names one base identity (inline keys, secretRef, serviceAccountRef, or none: the
operator's own) and optionally a role. A PATCH changes only the fields it gives, except that naming
a base identity replaces the current one (its fields are removed), and `null` removes a field.
"""

from __future__ import annotations

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import IdentityKind
from ..kube.kinds import CLUSTER, NAMESPACED, Kind
from ..models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret, PullSecretResource
from ..services import spec_edits, specs, writer
from ..services.identity import access
from ..services.secrets import managed
from .errors import nested

MSG_UNKNOWN = "unknown field: remove it (see the schema at /api/schema/ for the fields there are)."
MSG_NOT_A_STRING = "must be a string."
MSG_CONSTANT = "must be {value!r} here (or left out)."
MSG_IMMUTABLE = "cannot be changed (it is {old!r}): create a new resource instead, and delete this one."
MSG_KEY_TO_CREATE = "required to create the resource: the secret access key of accessKeyId."
MSG_KEY_TO_CHANGE = (
    "required when accessKeyId changes: give the secret access key of the new accessKeyId "
    "(the old key is not reused)."
)
MSG_KEY_TO_SWITCH = (
    "required to switch to accessKeyId and secretAccessKey: give the secret access key of accessKeyId."
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
# A ServiceAccount's name, or "*" for all of them; an AWS account ID.
ServiceAccountNameField = _schema(
    StringField, pattern=r"^(\*|" + specs.DNS_SUBDOMAIN.pattern.strip("^$") + r")$", maxLength=253
)
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"]


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
        if "\x00" in data:  # no name holds it, and PostgreSQL refuses it in a query (a 500)
            self.fail("does_not_exist", slug_name="name", value=data)
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
RefNameField = _schema(StringField, pattern=access.NAME_PATTERN.pattern, maxLength=253)
SecretKeyField = _schema(StringField, pattern=access.SECRET_KEY_PATTERN.pattern, maxLength=253)


class ReferenceSerializer(StrictSerializer):
    # A Secret or ServiceAccount named in spec.awsAccess; its fields are read as stored (no docstring:
    # the schema would show it as every subclass's description).
    FIELD = ""

    def to_representation(self, ref: dict) -> dict:
        return {name: ref[name] for name in self.fields if name in ref}


def _ref_name(field: str, what: str) -> StringField:
    return RefNameField(
        max_length=253,
        error_messages={"required": access.MSG_NOT_AN_OBJECT.format(field=field)},
        help_text=f"The {what}'s name (a DNS-1123 subdomain).",
    )


def _ref_namespace(field: str, what: str, required: bool) -> StringField:
    if required:
        help_text = (
            f"The {what}'s namespace. Required: a ClusterAWSECRImagePullSecret has no namespace of its own."
        )
    else:
        help_text = f"The {what}'s namespace: leave it out (or give the resource's own; no other is allowed)."
    return NamespaceField(
        max_length=63,
        required=required,
        error_messages={"required": access.MSG_REF_NAMESPACE_MISSING.format(field=field, what=what)},
        help_text=help_text,
    )


def _secret_key(what: str, default: str) -> StringField:
    return SecretKeyField(
        max_length=253,
        required=False,
        help_text=f"The key of {what} in the Secret's data. Default {default}.",
    )


class SecretRefSerializer(ReferenceSerializer):
    """Keys of an IAM identity in a Secret in the resource's own namespace, instead of accessKeyId and
    secretAccessKey in the resource (e.g. `kubectl create secret generic aws-creds
    --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=...`). Read by the
    controller when it fetches a token and whenever the Secret changes; never copied, stored or shown."""

    name = _ref_name("secretRef", "Secret")
    namespace = _ref_namespace("secretRef", "Secret", required=False)
    accessKeyIdKey = _secret_key("the access key ID", access.DEFAULT_KEYS[0])
    secretAccessKeyKey = _secret_key("the secret access key", access.DEFAULT_KEYS[1])
    sessionTokenKey = _secret_key("a session token (used when the Secret has one)", access.DEFAULT_KEYS[2])


class ClusterSecretRefSerializer(SecretRefSerializer):
    """Keys of an IAM identity in a Secret (namespace required), instead of accessKeyId and
    secretAccessKey in the resource. Read by the controller when it fetches a token and whenever the
    Secret changes; never copied, stored or shown."""

    namespace = _ref_namespace("secretRef", "Secret", required=True)


class ServiceAccountRefSerializer(ReferenceSerializer):
    """A ServiceAccount in the resource's own namespace whose web identity assumes roleArn (required),
    as IRSA does for pods: a short-lived token from the TokenRequest API, then STS
    AssumeRoleWithWebIdentity. No key is stored anywhere."""

    name = _ref_name("serviceAccountRef", "ServiceAccount")
    namespace = _ref_namespace("serviceAccountRef", "ServiceAccount", required=False)
    audience = StringField(
        max_length=access.AUDIENCE_MAX,
        required=False,
        help_text="The token's audience, as the role's trust policy expects it. "
        f"Default {access.DEFAULT_AUDIENCE}.",
    )


class ClusterServiceAccountRefSerializer(ServiceAccountRefSerializer):
    """A ServiceAccount (namespace required) whose web identity assumes roleArn (required), as IRSA
    does for pods: a short-lived token from the TokenRequest API, then STS
    AssumeRoleWithWebIdentity. No key is stored anywhere."""

    namespace = _ref_namespace("serviceAccountRef", "ServiceAccount", required=True)


# Which base identity each spec.awsAccess field belongs to; the others are the region and the role's.
BASES = {
    "accessKeyId": access.INLINE,
    "secretAccessKey": access.INLINE,
    "secretRef": access.SECRET,
    "serviceAccountRef": access.SERVICE_ACCOUNT,
}
OPTIONAL_SHOWN = ("secretRef", "serviceAccountRef", "externalId", "roleSessionName")


class AwsAccessSerializer(StrictSerializer):
    """The AWS identity whose ECR token goes into the Secret: exactly one of accessKeyId and
    secretAccessKey, secretRef, serviceAccountRef (with roleArn), or none of them for the operator's
    own credentials where the administrator allows it; roleArn assumes a role from it. A PATCH that
    names one base identity replaces the current one; null removes a field."""

    accessKeyId = StringField(
        required=False,
        allow_null=True,
        max_length=128,
        help_text="The AWS access key ID (keys in the resource); set secretAccessKey with it.",
    )
    secretAccessKey = StringField(
        write_only=True,
        required=False,
        allow_null=True,
        max_length=1024,
        style={"input_type": "password"},
        help_text="Write-only: sent to the cluster object, never stored by ecrcontrol nor returned. "
        "Required with a new accessKeyId (on create, when it changes, or when switching to keys in the "
        "resource); left out, the current key is kept.",
    )
    region = _schema(StringField, pattern=access.REGION_PATTERN.pattern, maxLength=32)(
        max_length=32, help_text="The registry's AWS region (and STS's), e.g. eu-west-1."
    )
    secretRef = SecretRefSerializer(required=False, allow_null=True)
    serviceAccountRef = ServiceAccountRefSerializer(required=False, allow_null=True)
    roleArn = _schema(StringField, pattern=access.ROLE_ARN_PATTERN.pattern, maxLength=2048)(
        required=False,
        allow_null=True,
        max_length=2048,
        help_text="An IAM role to assume from the base identity, e.g. "
        "arn:aws:iam::123456789012:role/ecr-puller (STS AssumeRole, or AssumeRoleWithWebIdentity with "
        "serviceAccountRef, which requires it). The role needs ecr:GetAuthorizationToken.",
    )
    externalId = _schema(StringField, pattern=access.EXTERNAL_ID_PATTERN.pattern, maxLength=1224)(
        required=False,
        allow_null=True,
        max_length=1224,
        help_text="The external ID the role's trust policy requires (sts:ExternalId). Only with roleArn, "
        "and not with serviceAccountRef.",
    )
    roleSessionName = _schema(StringField, pattern=access.SESSION_NAME_PATTERN.pattern, maxLength=64)(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="The role session's name, as CloudTrail records it. Only with roleArn. Default: one "
        "made of the resource's kind, namespace and name.",
    )

    def validate_region(self, value: str) -> str:
        if not access.REGION_PATTERN.fullmatch(value):
            raise serializers.ValidationError(
                f"{value!r} is not an AWS region name: use one such as eu-west-1."
            )
        return value

    # -- reading: the mirror's spec.awsAccess, without the secret key ---------------------------
    def to_representation(self, row: PullSecretResource) -> dict:
        shown = row.aws_access if isinstance(row.aws_access, dict) else {}
        found = {}
        if row.identity_kind == IdentityKind.INLINE:
            found["accessKeyId"] = row.access_key_id
        found["region"] = row.region
        if row.role_arn:
            found["roleArn"] = row.role_arn
        for name in OPTIONAL_SHOWN:
            value = shown.get(name)
            if isinstance(value, dict):
                found[name] = self.fields[name].to_representation(value)
            elif isinstance(value, str) and value:
                found[name] = value
        return found

    # -- writing: the whole spec.awsAccess checked at once, as the webhook will ------------------
    def validate(self, attrs: dict) -> dict:
        row: PullSecretResource | None = self.root.instance
        wanted = self._merged(attrs, row, self.root.partial)
        region = wanted.pop("region", row.region if row else "")
        key = wanted.pop("secretAccessKey", None) or ""
        kind = access.kind_of(wanted)
        namespace = self._namespace(row)
        errors = by_field(self._problems(wanted, region, key, namespace, row))
        problem = self._key_problem(kind, wanted, key, row)
        if problem:
            errors.setdefault("secretAccessKey", []).append(problem)
        if errors:
            raise serializers.ValidationError(nested(errors))
        summary = access.summary(_body(namespace, {**wanted, "region": region}))
        return {
            "region": region,
            "secret_access_key": key,
            "identity_kind": kind,
            "access_key_id": wanted.get("accessKeyId", "") if kind == access.INLINE else "",
            "role_arn": summary["role_arn"],
            "credentials_ref": summary["reference"],
            "aws_access": summary["aws_access"],
        }

    @staticmethod
    def _merged(attrs: dict, row: PullSecretResource | None, partial: bool) -> dict:
        """spec.awsAccess as it is to be: the fields given (a create, a PUT), or the row's with the
        given ones changed (a PATCH: naming a base identity drops the current one's fields)."""
        if row is None or not partial:
            return {k: v for k, v in attrs.items() if v is not None}
        wanted = current_access(row)
        named = {BASES[k] for k, v in attrs.items() if k in BASES and v is not None}
        if named:
            wanted = {k: v for k, v in wanted.items() if k not in BASES or BASES[k] in named}
        for name, value in attrs.items():
            if value is None:
                wanted.pop(name, None)
            else:
                wanted[name] = value
        return wanted

    def _namespace(self, row: PullSecretResource | None) -> str:
        """The resource's namespace, which a namespaced resource's references must be in."""
        return own_namespace(self, row)

    def _problems(
        self, wanted: dict, region: str, key: str, namespace: str, row: PullSecretResource | None
    ) -> list[str]:
        """access.problems of the new spec.awsAccess; on an update, without those the current one
        already has (the validating webhook does not hold them against an edit either)."""
        kube_kind = self.root.kube_kind
        probe = {**wanted, "region": region}
        if key:  # beside another identity's fields, a given key is one identity too many
            probe["secretAccessKey"] = key
        found = access.edit_problems(kube_kind, namespace, probe)  # a kept or missing key: _key_problem
        if row is not None and found:
            current = {**current_access(row), "region": row.region}
            before = set(access.edit_problems(kube_kind, namespace, current))
            found = [message for message in found if message not in before]
        return found

    @staticmethod
    def _key_problem(kind: str, wanted: dict, key: str, row: PullSecretResource | None) -> str:
        """Inline keys: a new accessKeyId (on create, changed, or switched to) needs its secret key."""
        if kind != access.INLINE or key:
            return ""
        if row is None:
            return MSG_KEY_TO_CREATE
        if row.identity_kind != IdentityKind.INLINE:
            return MSG_KEY_TO_SWITCH
        if wanted.get("accessKeyId") != row.access_key_id:
            return MSG_KEY_TO_CHANGE
        return ""


def own_namespace(serializer: serializers.Field, row: PullSecretResource | None) -> str:
    """The namespace of the resource being written (empty for the cluster kind)."""
    if row is not None:
        return getattr(row, "namespace", "")
    data = serializer.root.initial_data if isinstance(serializer.root.initial_data, dict) else {}
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    namespace = metadata.get("namespace")
    return namespace if isinstance(namespace, str) else ""


def current_access(row: PullSecretResource) -> dict:
    """The row's spec.awsAccess without the region (and, as always, without the secret key)."""
    shown = row.aws_access if isinstance(row.aws_access, dict) else {}
    found = {k: v for k, v in shown.items() if k not in ("region", "accessKeyId", "secretAccessKey")}
    if row.identity_kind == IdentityKind.INLINE:
        found["accessKeyId"] = row.access_key_id
    return found


def by_field(messages: list[str]) -> dict[str, list[str]]:
    """access.problems' messages under the field each names, relative to spec.awsAccess."""
    fields: dict[str, list[str]] = {}
    for message in messages:
        for path, parts in writer.field_errors(message).items():
            relative = path.removeprefix("spec.awsAccess").lstrip(".") or "non_field_errors"
            fields.setdefault(relative, []).extend(parts)
    return fields


def _body(namespace: str, aws_access: dict) -> dict:
    return {"metadata": {"namespace": namespace}, "spec": {"awsAccess": aws_access}}


class ClusterAwsAccessSerializer(AwsAccessSerializer):
    """The AWS identity whose ECR token goes into the Secrets: exactly one of accessKeyId and
    secretAccessKey, secretRef, serviceAccountRef (with roleArn), or none of them for the operator's
    own credentials where the administrator allows it; roleArn assumes a role from it. A PATCH that
    names one base identity replaces the current one; null removes a field."""

    secretRef = ClusterSecretRefSerializer(required=False, allow_null=True)
    serviceAccountRef = ClusterServiceAccountRefSerializer(required=False, allow_null=True)


class WholeItemSerializer(StrictSerializer):
    # An item of a list that a PATCH replaces as a whole: its required fields stay required in a
    # PATCH too (DRF's partial would let them be left out). No docstring: see StrictSerializer.

    def validate(self, attrs: dict) -> dict:
        missing = {
            name: [field.error_messages["required"]]
            for name, field in self.fields.items()
            if field.required and not field.read_only and name not in attrs
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class LabelRequirementSerializer(WholeItemSerializer):
    """One label requirement: key, operator, and values (for In and NotIn only)."""

    key = StringField(max_length=317, help_text="The label key, e.g. team or kubernetes.io/metadata.name.")
    operator = _schema(StringField, enum=SELECTOR_OPERATORS)(
        help_text="In, NotIn (values required), Exists or DoesNotExist (no values)."
    )
    values = serializers.ListField(
        child=StringField(max_length=63, allow_blank=True),
        required=False,
        help_text="The label values: at least one for In and NotIn, none for Exists and DoesNotExist.",
    )


class LabelSelectorSerializer(StrictSerializer):
    """A standard Kubernetes LabelSelector over namespaces: every matchLabels pair and every
    matchExpressions requirement must hold. `{}` selects every namespace; to leave some out, use
    NotIn on kubernetes.io/metadata.name (e.g. `{"matchExpressions": [{"key":
    "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}]}`)."""

    matchLabels = serializers.DictField(
        child=StringField(max_length=63, allow_blank=True),
        required=False,
        help_text='Labels a namespace must have, e.g. {"team": "a"}.',
    )
    matchExpressions = serializers.ListField(
        child=LabelRequirementSerializer(), required=False, help_text="Requirements a namespace must meet."
    )

    def to_representation(self, selector: dict) -> dict:
        return {name: selector[name] for name in self.fields if name in selector}


class RegistrySerializer(WholeItemSerializer):
    """One more ECR registry in the same Secret: <accountId>.dkr.ecr.<region>.amazonaws.com."""

    accountId = _schema(StringField, pattern=ACCOUNT_ID_PATTERN)(
        help_text="The registry's AWS account ID: 12 digits, e.g. 123456789012."
    )
    region = _schema(StringField, pattern=access.REGION_PATTERN.pattern, maxLength=32)(
        max_length=32, help_text="The registry's AWS region, e.g. eu-west-1."
    )

    def to_representation(self, registry: dict) -> dict:
        return {name: registry.get(name, "") for name in self.fields}


class NamespacedSpecSerializer(StrictSerializer):
    """What the resource asks for, as in the CRD: the Secret's name, the AWS identity, the
    ServiceAccounts given the Secret and more registries in it."""

    awsAccess = AwsAccessSerializer(source="*", help_text="The AWS identity that reads from ECR.")
    secretName = NameField(
        source="secret_name",
        max_length=253,
        help_text="The name of the kubernetes.io/dockerconfigjson Secret to manage (immutable once created).",
    )
    serviceAccounts = serializers.ListField(
        source="service_accounts",
        child=ServiceAccountNameField(max_length=253),
        required=False,
        allow_null=True,
        max_length=100,
        help_text="ServiceAccounts in each target namespace that get the Secret in their "
        'imagePullSecrets, so that their pods pull without naming it; ["*"] for every ServiceAccount '
        "there (alone, not with names). Left out (or null): none is patched.",
    )
    registries = serializers.ListField(
        child=RegistrySerializer(),
        required=False,
        allow_null=True,
        max_length=20,
        help_text="More ECR registries (at most 20, each once) in the same Secret, beside the default one "
        "of spec.awsAccess.region: one auths entry <accountId>.dkr.ecr.<region>.amazonaws.com each. "
        "Left out (or null): none.",
    )

    def to_representation(self, row: PullSecretResource) -> dict:
        """As the CRD has it: an optional field that is not set is left out (a resource without them
        reads as it did before they existed)."""
        found = super().to_representation(row)
        for name in ("namespaces", "namespaceSelector", "serviceAccounts", "registries"):
            if name in found and found[name] in (None, []):
                del found[name]
        return found

    def validate_secretName(self, value: str) -> str:
        return _name(value)

    def validate_serviceAccounts(self, value: list[str] | None) -> list[str]:
        return list(value or [])

    def validate_registries(self, value: list[dict] | None) -> list[dict]:
        return [{"accountId": r["accountId"], "region": r["region"]} for r in value or []]

    def validate(self, attrs: dict) -> dict:
        """The reach of the spec as it is to be, checked with the webhook's rules (services.specs)."""
        row: PullSecretResource | None = self.root.instance
        current = spec_edits.reach_spec(row) if row is not None else None
        wanted = dict(current or {})
        for field, (name, empty) in REACH_FIELDS.items():
            if field in attrs:
                wanted.pop(name, None)
                if attrs[field] != empty and attrs[field] is not None:
                    wanted[name] = attrs[field]
        namespace = own_namespace(self, row)
        found = spec_edits.problems(self.root.kube_kind, namespace, wanted, current)
        if found:
            raise serializers.ValidationError(nested({p.removeprefix("spec."): m for p, m in found.items()}))
        return attrs


# The reach fields: row field -> (spec field, the value that leaves it out).
REACH_FIELDS = {
    "namespaces": ("namespaces", []),
    "namespace_selector": ("namespaceSelector", None),
    "service_accounts": ("serviceAccounts", []),
    "registries": ("registries", []),
}


class ClusterSpecSerializer(NamespacedSpecSerializer):
    """What the resource asks for, as in the CRD: the Secret's name, the namespaces to put it in
    (listed, selected by label, or both), the AWS identity, the ServiceAccounts given the Secret and
    more registries in it."""

    awsAccess = ClusterAwsAccessSerializer(source="*", help_text="The AWS identity that reads from ECR.")

    namespaces = serializers.ListField(
        child=NamespaceField(max_length=63),
        required=False,
        max_length=1000,
        help_text="The namespaces to manage the Secret in (repeats are dropped). At least one of "
        "namespaces and namespaceSelector is required.",
    )
    namespaceSelector = LabelSelectorSerializer(
        source="namespace_selector",
        required=False,
        allow_null=True,
        help_text="The namespaces to manage the Secret in, by label, as they are now and as they come and "
        "go: beside the listed ones. {} selects every namespace; null removes the selector.",
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
    serviceAccounts = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The ServiceAccounts in this namespace that hold the Secret in their imagePullSecrets "
        "(patched by ecrcontrol). Only with spec.serviceAccounts.",
    )


class IdentityStatusSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=list(access.KINDS),
        help_text="The base identity: inline (keys in the resource), secret (keys in a Secret), "
        "serviceAccount (a ServiceAccount's web identity) or ambient (the operator's own).",
    )
    roleArn = serializers.CharField(required=False, help_text="The role assumed from it, if any.")
    accessKeyIdSuffix = serializers.CharField(
        required=False,
        help_text="The last 4 characters of the access key ID, for keys (inline or in a Secret).",
    )


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
    identity = serializers.SerializerMethodField(
        help_text="The AWS identity the controller uses for the current generation (nothing secret); "
        "null until it has processed it."
    )
    namespaces = serializers.SerializerMethodField(help_text="The managed Secret in each namespace.")

    @extend_schema_field(IdentityStatusSerializer(allow_null=True))
    def get_identity(self, row: PullSecretResource) -> dict | None:
        if row.observed_generation is None or row.observed_generation != row.generation:
            return None
        return row.status_identity

    @extend_schema_field(NamespaceResultSerializer(many=True))
    def get_namespaces(self, row: PullSecretResource) -> list[dict]:
        found = self.root.context.get("secrets")
        if found is None:
            found = managed.secrets_of([row])
        return [namespace_result(ns, secret) for ns, secret in managed.by_namespace(row, found)]


def namespace_result(namespace: str, secret: ManagedSecret | None) -> dict:
    found = {
        "namespace": namespace,
        "state": secret.state if secret else "pending",
        "lastWritten": secret.last_written if secret else None,
        "expiresAt": secret.expires_at if secret else None,
        "error": secret.last_error if secret else "",
    }
    if secret is not None and secret.service_accounts is not None:
        found["serviceAccounts"] = list(secret.service_accounts)
    return found


# -- the resources -------------------------------------------------------------------------------
class ResourceListSerializer(serializers.ListSerializer):
    """Loads the Secrets of every row on the page in one query."""

    def to_representation(self, data):
        rows = list(data.all() if isinstance(data, models.Manager) else data)
        self.context["secrets"] = managed.secrets_of(rows)
        return super().to_representation(rows)


class ResourceSerializer(StrictSerializer):
    model: type[PullSecretResource]
    kube_kind: Kind

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
        if errors:
            raise serializers.ValidationError(errors)

    def _updating(self, attrs: dict) -> None:
        row = self.instance
        changed = {
            field: [MSG_IMMUTABLE.format(old=str(getattr(row, field)))]
            for field in ("cluster", "name", "namespace")
            if field in attrs and attrs[field] != getattr(row, field)
        }
        if changed:
            raise serializers.ValidationError({"metadata": changed})

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
    kube_kind = NAMESPACED
    apiVersion = _schema(ConstantField, enum=[NAMESPACED.api_version])(NAMESPACED.api_version)
    kind = _schema(ConstantField, enum=[NAMESPACED.kind])(NAMESPACED.kind)
    metadata = NamespacedMetadataSerializer(source="*")
    spec = NamespacedSpecSerializer(source="*")

    class Meta(ResourceSerializer.Meta):
        ref_name = "AWSECRImagePullSecret"


class ClusterPullSecretSerializer(ResourceSerializer):
    """A ClusterAWSECRImagePullSecret: the same Secret in each listed namespace."""

    model = ClusterPullSecret
    kube_kind = CLUSTER
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
    serviceAccounts = serializers.ListField(
        source="service_accounts",
        child=serializers.CharField(),
        allow_null=True,
        help_text="The ServiceAccounts in this namespace patched to use the Secret; null when the owner "
        "has no spec.serviceAccounts.",
    )

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
    identity = serializers.CharField(
        help_text="The AWS identity refreshed, named without anything secret: the access key ID for keys "
        "in the resource, else its kind and the Secret or ServiceAccount it reads (and the role it assumes)."
    )
    accessKeyId = serializers.CharField(
        help_text="The access key ID, for keys in the resource; empty for the other identities."
    )
    region = serializers.CharField()
