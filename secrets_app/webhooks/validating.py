"""The validating webhook: every problem with a CREATE or UPDATE, reported at once.

What it checks, beyond the spec's own problems (shared with the reconcile, spec.awsAccess's too:
one base identity, references within an AWSECRImagePullSecret's own namespace, the operator's
own identity only where ECRCONTROL_AMBIENT_CREDENTIALS allows it):
- keys (inline, or from a referenced Secret) work against ECR, on CREATE and whenever they change
  (not in a dry run). A role, a ServiceAccount's web identity and the operator's own identity are
  tried by the reconcile, which reports the outcome in the status: the webhook makes no STS call
  within its timeout. A referenced Secret that does not exist yet is allowed with a warning
  (GitOps tools apply a resource and its Secret in any order);
- no target Secret exists that ecrcontrol does not manage;
- no other resource already manages a Secret of that name in a target namespace;
- spec.secretName does not change.
On UPDATE, spec problems the stored object already had are not held against the edit.
A namespace that does not exist yet is allowed with a warning: the controller creates the
Secret when the namespace appears. DELETE is always allowed.
"""

from __future__ import annotations

from typing import Protocol

from ..aws.ecr import ECRError
from ..kube.errors import KubeError
from ..kube.kinds import CLUSTER, Kind
from ..services import specs
from ..services.identity import access
from ..services.identity.resolve import CredentialsNotFound, Identity
from ..services.secrets import dockerconfig
from . import reviews

MSG_CREDENTIALS_INVALID = (
    "aws credentials specified in .spec.awsAccess are invalid or missing permissions: {error}. "
    "Use an active access key allowed ecr:GetAuthorizationToken in region {region}"
)
MSG_ECR_UNAVAILABLE = (
    "the credentials in .spec.awsAccess could not be checked: {error}. Try again when ECR answers"
)
MSG_NOT_CHECKED_DRY_RUN = "dry run: the credentials in .spec.awsAccess were not tried against ECR"
MSG_CREDENTIALS_NOT_YET = "{error}"
MSG_SECRET_EXISTS = (
    "secret {name} already exists in namespace {ns}, you can choose a different name: it is not "
    "managed by ecrcontrol, so change spec.secretName or delete that Secret first"
)
MSG_MANAGED_BY_OTHER = (
    "secret {name} in namespace {ns} is already managed by {other}: choose a different "
    "spec.secretName, or remove namespace {ns} from {other} first"
)
MSG_NAMESPACE_MISSING = "namespace {ns} does not exist yet: its Secret {name} will be created when it does"
MSG_SECRET_NAME_IMMUTABLE = (
    ".spec.secretName is immutable: it is {old}. To use another name, create a new resource "
    "and delete this one"
)
MSG_LOOKUP_FAILED = "could not validate the request: {error}. Try again"


class Lookups(Protocol):
    """What validation needs to know about the cluster and ECR."""

    def existing_namespaces(self, names: list[str]) -> set[str]:
        """Which of `names` exist."""

    def secrets(self, namespaces: list[str], name: str) -> dict[str, dict]:
        """The Secrets called `name` in `namespaces`, by namespace (absent: none there)."""

    def resources(self, namespaces: list[str]) -> list[tuple[Kind, dict]]:
        """Every resource that may target one of `namespaces` (others may be included)."""

    def identity(self, wanted: access.Access, body: dict) -> Identity:
        """The identity `wanted` names (reads a referenced Secret); CredentialsNotFound if missing."""

    def check_credentials(self, identity: Identity) -> None:
        """Raise ECRError when ECR does not give this identity a token."""


def validate(review: reviews.Review, lookups: Lookups) -> dict:
    if review.operation not in ("CREATE", "UPDATE"):
        return reviews.allowed(review)
    kind = review.kind
    if kind is None:
        return reviews.not_ours(review)
    if (review.object.get("metadata") or {}).get("deletionTimestamp"):
        return reviews.allowed(review)  # being deleted (e.g. a finalizer removed): nothing to check
    problems, warnings = specs.problems(kind, review.object), []
    if review.operation == "UPDATE":
        # Ratcheting, as for CRD schemas: a problem the stored object already had does not block
        # an unrelated edit (its status already reports it); only new problems are denied.
        known = set(specs.problems(kind, review.old_object))
        problems = [p for p in problems if p not in known] + _immutable_problems(review)
    try:
        identity = _identity_to_check(review, lookups, warnings)
        if identity:
            _check_credentials(review, identity, lookups, problems, warnings)
        _check_targets(review, kind, lookups, problems, warnings)
    except KubeError as exc:
        return reviews.denied(review, [MSG_LOOKUP_FAILED.format(error=exc)], code=500)
    if problems:
        return reviews.denied(review, problems, warnings=warnings)
    return reviews.allowed(review, warnings=warnings)


def _immutable_problems(review: reviews.Review) -> list[str]:
    old = specs.spec_of(review.old_object).get("secretName")
    if old and specs.spec_of(review.object).get("secretName") != old:
        return [MSG_SECRET_NAME_IMMUTABLE.format(old=old)]
    return []


def _identity_to_check(review: reviews.Review, lookups: Lookups, warnings: list[str]) -> Identity | None:
    """The keys to try: on CREATE, or on UPDATE when spec.awsAccess changed (key rotation)."""
    kind = review.kind
    if access.problems(kind, review.object):
        return None
    wanted = access.parse(kind, review.object)
    if wanted.kind not in (access.INLINE, access.SECRET) or wanted.role_arn:
        return None
    if review.operation == "UPDATE" and not access.problems(kind, review.old_object):
        if access.parse(kind, review.old_object) == wanted:
            return None
    try:
        return lookups.identity(wanted, review.object)
    except CredentialsNotFound as exc:
        warnings.append(MSG_CREDENTIALS_NOT_YET.format(error=exc))
        return None


def _check_credentials(
    review, identity: Identity, lookups: Lookups, problems: list[str], warnings: list[str]
) -> None:
    if review.dry_run:  # no call to AWS: a dry run has no side effects, not even an API call
        warnings.append(MSG_NOT_CHECKED_DRY_RUN)
        return
    try:
        lookups.check_credentials(identity)
    except ECRError as exc:
        template = MSG_CREDENTIALS_INVALID if exc.permanent else MSG_ECR_UNAVAILABLE
        problems.append(template.format(error=str(exc).rstrip("."), region=identity.region))


def _check_targets(review, kind: Kind, lookups: Lookups, problems: list[str], warnings: list[str]) -> None:
    name = specs.spec_of(review.object).get("secretName")
    if not name or not isinstance(name, str):
        return
    wanted = specs.listed_namespaces(kind, review.object)
    if review.operation == "UPDATE" and specs.spec_of(review.old_object).get("secretName") == name:
        wanted = [ns for ns in wanted if ns not in specs.listed_namespaces(kind, review.old_object)]
    if not wanted:
        return
    others = [
        (other_kind, body)
        for other_kind, body in lookups.resources(wanted)
        if not _is_same(other_kind, body, kind, review) and specs.spec_of(body).get("secretName") == name
    ]
    existing = lookups.existing_namespaces(wanted) if kind is CLUSTER else set(wanted)
    secrets = lookups.secrets([ns for ns in wanted if ns in existing], name)
    for ns in wanted:
        if ns not in existing:
            warnings.append(MSG_NAMESPACE_MISSING.format(ns=ns, name=name))
            continue
        other = next((_describe(k, b) for k, b in others if ns in specs.listed_namespaces(k, b)), None)
        if other:
            problems.append(MSG_MANAGED_BY_OTHER.format(name=name, ns=ns, other=other))
            continue
        secret = secrets.get(ns)
        if secret is not None and not dockerconfig.is_managed(secret):
            problems.append(MSG_SECRET_EXISTS.format(name=name, ns=ns))


def _is_same(kind: Kind, body: dict, review_kind: Kind, review: reviews.Review) -> bool:
    meta = body.get("metadata") or {}
    return (
        kind is review_kind
        and meta.get("name") == review.name
        and (meta.get("namespace") or "") == review.namespace
    )


def _describe(kind: Kind, body: dict) -> str:
    meta = body["metadata"]
    where = f"{meta['namespace']}/{meta['name']}" if kind.namespaced else meta["name"]
    return f"{kind.kind} {where}"
