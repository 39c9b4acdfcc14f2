"""What a spec's `awsAccess` asks for: which base identity, which role, and every problem with it.

The base identity is exactly one of: inline keys (`accessKeyId` and `secretAccessKey`, the seed
operator's way), keys in a Secret (`secretRef`), a ServiceAccount's web identity
(`serviceAccountRef`, with `roleArn`), or, when none is named, the operator's own credentials
("ambient", allowed by ECRCONTROL_AMBIENT_CREDENTIALS). `roleArn` (with `externalId` and
`roleSessionName`) assumes a role from that base. Pure: no cluster, no AWS; `resolve` does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from ...kube.kinds import Kind
from .credentials import decode_key

INLINE, SECRET, SERVICE_ACCOUNT, AMBIENT = "inline", "secret", "serviceAccount", "ambient"
KINDS = (INLINE, SECRET, SERVICE_ACCOUNT, AMBIENT)

DEFAULT_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_KEY_FIELDS = ("accessKeyIdKey", "secretAccessKeyKey", "sessionTokenKey")  # secretRef fields naming them
DEFAULT_AUDIENCE = "sts.amazonaws.com"

# The same rule as the CRDs' CEL validation of spec.awsAccess.region.
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$", re.ASCII)
# IAM's own rules (the CRDs carry the same patterns). ASCII, and used with fullmatch: Python's \w
# would take any letter, and `$` a trailing newline, where the CRDs' (and IAM's) rules do not.
ROLE_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$", re.ASCII)
EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)
SESSION_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
# A Secret's data key, and object names (DNS-1123 subdomains).
SECRET_KEY_PATTERN = re.compile(r"^[-._a-zA-Z0-9]{1,253}$", re.ASCII)
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", re.ASCII)
AUDIENCE_MAX = 256

MSG_AWS_ACCESS_MISSING = (
    "spec.awsAccess is missing: set region and the credentials (accessKeyId and secretAccessKey, "
    "a secretRef, or a serviceAccountRef with roleArn)."
)
MSG_FIELD_MISSING = "spec.awsAccess.{field} is empty: set it."
MSG_REGION_INVALID = "spec.awsAccess.region {region!r} is not an AWS region name: use one such as eu-west-1."
MSG_SEVERAL_BASES = (
    "spec.awsAccess sets {found}: set exactly one of accessKeyId/secretAccessKey, secretRef and "
    "serviceAccountRef (or none of them, for the operator's own credentials)."
)
MSG_NOT_AN_OBJECT = "spec.awsAccess.{field} must be an object with at least a name."
MSG_REF_NAME = (
    "spec.awsAccess.{field}.name {value!r} is not a valid Kubernetes name: use lower-case letters, "
    "digits, '-' and '.' (e.g. aws-creds)."
)
MSG_REF_OTHER_NAMESPACE = (
    "spec.awsAccess.{field}.namespace is {value!r}: an AWSECRImagePullSecret may reference only "
    "{what} in its own namespace {own!r}. Remove the namespace, or use a ClusterAWSECRImagePullSecret."
)
MSG_REF_NAMESPACE_MISSING = (
    "spec.awsAccess.{field}.namespace is empty: a ClusterAWSECRImagePullSecret must say which "
    "namespace the {what} is in."
)
MSG_SECRET_KEY_INVALID = (
    "spec.awsAccess.secretRef.{field} {value!r} is not a valid Secret key: use letters, digits, "
    "'-', '_' and '.'."
)
MSG_AUDIENCE_INVALID = "spec.awsAccess.serviceAccountRef.audience must be 1 to 256 characters."
MSG_NEEDS_ROLE = (
    "spec.awsAccess.serviceAccountRef needs spec.awsAccess.roleArn: a web identity can only assume "
    "a role (e.g. arn:aws:iam::123456789012:role/ecr-puller)."
)
MSG_ROLE_ARN_INVALID = (
    "spec.awsAccess.roleArn {value!r} is not an IAM role ARN: use the form "
    "arn:aws:iam::123456789012:role/ecr-puller."
)
MSG_WITHOUT_ROLE = "spec.awsAccess.{field} is set without roleArn: it is used only to assume a role."
MSG_EXTERNAL_ID_INVALID = (
    "spec.awsAccess.externalId must be 2 to 1224 characters of letters, digits and +=,.@:/-_."
)
MSG_EXTERNAL_ID_WEB_IDENTITY = (
    "spec.awsAccess.externalId cannot be used with serviceAccountRef: STS takes an external ID only "
    "when a role is assumed from keys. Remove it, or rely on the role's trust policy for the ServiceAccount."
)
MSG_SESSION_NAME_INVALID = (
    "spec.awsAccess.roleSessionName must be 2 to 64 characters of letters, digits and +=,.@-_."
)
MSG_AMBIENT_REFUSED = (
    "spec.awsAccess names no credentials, so it would use the operator's own AWS identity, which "
    "{who} may not use (ECRCONTROL_AMBIENT_CREDENTIALS={policy}): set accessKeyId and "
    "secretAccessKey, a secretRef, or a serviceAccountRef with roleArn, or ask the administrator "
    "to allow it."
)


@dataclass(frozen=True)
class Access:
    """What spec.awsAccess asks for, for a spec without `problems`. Inline keys are plain here."""

    kind: str
    region: str
    access_key_id: str = ""  # inline
    secret_access_key: str = ""  # inline
    ref_namespace: str = ""  # secret, serviceAccount
    ref_name: str = ""
    keys: tuple[str, str, str] = DEFAULT_KEYS  # secret: the data keys of id, secret, session token
    audience: str = DEFAULT_AUDIENCE  # serviceAccount
    role_arn: str = ""
    external_id: str = ""
    session_name: str = ""  # "" unless the spec sets roleSessionName

    def __repr__(self) -> str:  # never the secret key, not even in a traceback
        return f"Access(kind={self.kind!r}, region={self.region!r}, role_arn={self.role_arn!r})"

    @property
    def reference(self) -> str:
        """`namespace/name` of the Secret or ServiceAccount it reads; "" for the others."""
        return f"{self.ref_namespace}/{self.ref_name}" if self.ref_name else ""


def _aws_access(body: dict) -> dict | None:
    spec = body.get("spec")
    access = spec.get("awsAccess") if isinstance(spec, dict) else None
    return access if isinstance(access, dict) else None


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def kind_of(access: dict) -> str:
    """Which base identity the fields name (several: the first of them; `problems` says so)."""
    return next((kind for kind in _bases(access)), AMBIENT)


def _bases(access: dict) -> list[str]:
    found = []
    if "accessKeyId" in access or "secretAccessKey" in access:
        found.append(INLINE)
    if access.get("secretRef") is not None:
        found.append(SECRET)
    if access.get("serviceAccountRef") is not None:
        found.append(SERVICE_ACCOUNT)
    return found


def problems(kind: Kind, body: dict) -> list[str]:
    """Every problem with spec.awsAccess, each saying what to change; empty when it can be tried."""
    access = _aws_access(body)
    if access is None:
        return [MSG_AWS_ACCESS_MISSING]
    found = []
    bases = _bases(access)
    if len(bases) > 1:
        names = {
            INLINE: "accessKeyId/secretAccessKey",
            SECRET: "secretRef",
            SERVICE_ACCOUNT: "serviceAccountRef",
        }
        found.append(MSG_SEVERAL_BASES.format(found=" and ".join(names[b] for b in bases)))
    base = bases[0] if bases else AMBIENT
    if base == INLINE:
        found += [
            MSG_FIELD_MISSING.format(field=field)
            for field in ("accessKeyId", "secretAccessKey")
            if not _text(access.get(field))
        ]
    if not _text(access.get("region")):
        found.append(MSG_FIELD_MISSING.format(field="region"))
    elif not REGION_PATTERN.fullmatch(access["region"]):
        found.append(MSG_REGION_INVALID.format(region=access["region"]))
    if SECRET in bases:
        found += _reference_problems(kind, body, access, "secretRef", "Secrets")
        ref = access["secretRef"] if isinstance(access["secretRef"], dict) else {}
        for field in _KEY_FIELDS:
            value = ref.get(field)
            if value is not None and not (isinstance(value, str) and SECRET_KEY_PATTERN.fullmatch(value)):
                found.append(MSG_SECRET_KEY_INVALID.format(field=field, value=value))
    if SERVICE_ACCOUNT in bases:
        found += _reference_problems(kind, body, access, "serviceAccountRef", "ServiceAccounts")
        ref = access["serviceAccountRef"] if isinstance(access["serviceAccountRef"], dict) else {}
        audience = ref.get("audience")
        if audience is not None and not (isinstance(audience, str) and 0 < len(audience) <= AUDIENCE_MAX):
            found.append(MSG_AUDIENCE_INVALID)
        if not access.get("roleArn"):
            found.append(MSG_NEEDS_ROLE)
        if access.get("externalId"):
            found.append(MSG_EXTERNAL_ID_WEB_IDENTITY)
    found += _role_problems(access)
    if base == AMBIENT and not ambient_allowed(kind):
        who = f"{kind.kind}s" if kind.namespaced else "cluster-scoped resources"
        found.append(MSG_AMBIENT_REFUSED.format(who=who, policy=settings.ECRCONTROL_AMBIENT_CREDENTIALS))
    return found


KEY_CHECKED_APART = "(checked apart)"


def edit_problems(kind: Kind, namespace: str, aws_access: dict) -> list[str]:
    """`problems` of a spec.awsAccess as the dashboard or the API edit it, for a resource in
    `namespace`. Inline keys without their secret key (kept as stored, or missing: each caller says
    which) are given a stand-in, so only the other rules speak here."""
    probe = dict(aws_access)
    if kind_of(probe) == INLINE:
        probe.setdefault("secretAccessKey", KEY_CHECKED_APART)
    return problems(kind, {"metadata": {"namespace": namespace}, "spec": {"awsAccess": probe}})


def ambient_allowed(kind: Kind) -> bool:
    policy = settings.ECRCONTROL_AMBIENT_CREDENTIALS
    return policy == "all" or (policy == "cluster" and not kind.namespaced)


def _reference_problems(kind: Kind, body: dict, access: dict, field: str, what: str) -> list[str]:
    ref = access[field]
    if not isinstance(ref, dict) or not _text(ref.get("name")):
        return [MSG_NOT_AN_OBJECT.format(field=field)]
    found = []
    if len(ref["name"]) > 253 or not NAME_PATTERN.fullmatch(ref["name"]):
        found.append(MSG_REF_NAME.format(field=field, value=ref["name"]))
    namespace = ref.get("namespace")
    own = (body.get("metadata") or {}).get("namespace", "")
    if kind.namespaced and namespace not in (None, "", own):
        found.append(MSG_REF_OTHER_NAMESPACE.format(field=field, value=namespace, what=what, own=own))
    elif not kind.namespaced and not _text(namespace):
        found.append(MSG_REF_NAMESPACE_MISSING.format(field=field, what=what[:-1]))
    return found


def _role_problems(access: dict) -> list[str]:
    role_arn = access.get("roleArn")
    found = []
    if role_arn is not None and not (isinstance(role_arn, str) and ROLE_ARN_PATTERN.fullmatch(role_arn)):
        found.append(MSG_ROLE_ARN_INVALID.format(value=role_arn))
    for field, pattern, message in (
        ("externalId", EXTERNAL_ID_PATTERN, MSG_EXTERNAL_ID_INVALID),
        ("roleSessionName", SESSION_NAME_PATTERN, MSG_SESSION_NAME_INVALID),
    ):
        value = access.get(field)
        if value is None:
            continue
        if not role_arn:
            found.append(MSG_WITHOUT_ROLE.format(field=field))
        elif not (isinstance(value, str) and pattern.fullmatch(value)):
            found.append(message)
    return found


def parse(kind: Kind, body: dict) -> Access:
    """The Access of a spec that has no `problems`."""
    access = _aws_access(body)
    own = body["metadata"].get("namespace", "")
    base = kind_of(access)
    common = {
        "kind": base,
        "region": access["region"],
        "role_arn": access.get("roleArn") or "",
        "external_id": access.get("externalId") or "",
        "session_name": access.get("roleSessionName") or "",
    }
    if base == INLINE:
        return Access(
            **common,
            access_key_id=decode_key(access["accessKeyId"]),
            secret_access_key=decode_key(access["secretAccessKey"]),
        )
    if base == SECRET:
        ref = access["secretRef"]
        keys = tuple(
            ref.get(field) or default for field, default in zip(_KEY_FIELDS, DEFAULT_KEYS, strict=True)
        )
        return Access(**common, ref_namespace=ref.get("namespace") or own, ref_name=ref["name"], keys=keys)
    if base == SERVICE_ACCOUNT:
        ref = access["serviceAccountRef"]
        return Access(
            **common,
            ref_namespace=ref.get("namespace") or own,
            ref_name=ref["name"],
            audience=ref.get("audience") or DEFAULT_AUDIENCE,
        )
    return Access(**common)


def summary(body: dict) -> dict:
    """What the mirror rows, the dashboard and the API show of spec.awsAccess (never a secret):
    the identity kind, the role, the reference it reads, and the rest as `shown`. Tolerates specs
    with problems."""
    access = _aws_access(body) or {}
    ref = access.get({SECRET: "secretRef", SERVICE_ACCOUNT: "serviceAccountRef"}.get(kind_of(access), ""))
    reference = ""
    if isinstance(ref, dict) and _text(ref.get("name")):
        namespace = _text(ref.get("namespace")) or (body.get("metadata") or {}).get("namespace", "")
        reference = f"{namespace}/{ref['name']}"
    return {
        "identity_kind": kind_of(access),
        "role_arn": _text(access.get("roleArn")),
        "reference": reference,
        "aws_access": shown(access),
    }


def shown(access: dict) -> dict:
    """spec.awsAccess as it may be stored and shown: without the secret access key, with the
    access key ID decoded (the mutating webhook stores both base64-encoded)."""
    found = {k: v for k, v in access.items() if k != "secretAccessKey"}
    if isinstance(found.get("accessKeyId"), str):
        found["accessKeyId"] = decode_key(found["accessKeyId"])
    return found
