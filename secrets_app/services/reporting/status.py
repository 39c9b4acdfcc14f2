"""The status written to the custom resource: the seed's `Ready` condition plus our fields."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ...aws import ecr
from ..secrets.dockerconfig import rfc3339

READY = "Ready"
# The seed operator's reasons, kept for compatibility ...
SECRETS_PROCESSING = "SecretsProcessing"
SECRETS_UPDATED = "SecretsUpdated"
# ... and ours, for what the seed left unreported.
SECRETS_FAILED = "SecretsFailed"
# The AWS steps' reasons are the ECRError's own (aws/ecr.py): the seed's, and the assumed role's.
AUTH_TOKEN_FAILED = ecr.GET_TOKEN_FAILED
ASSUME_ROLE_FAILED = ecr.ASSUME_ROLE_FAILED
INVALID_SPEC = "InvalidSpec"
CREDENTIALS_NOT_FOUND = "CredentialsNotFound"
CREDENTIALS_ROTATED = "CredentialsRotated"  # an event: a referenced Secret's keys changed

MSG_UPDATED = (
    "AWS ECR secret with type kubernetes.io/dockerconfigjson have been created/updated successfully "
    "in namespaces: {namespaces} next update at: {next}"
)
MSG_PROCESSING = "creating/updating secrets in namespaces: {namespaces}"
MSG_FAILED = "secrets ready in namespaces: {ok}; not ready in: {failed}"
MSG_CREDENTIALS_REJECTED = (
    "{error}. Check spec.awsAccess: the key must be active and allowed ecr:GetAuthorizationToken "
    "in region {region}. Retrying at {retry}."
)
MSG_ROLE_REFUSED = (
    "{error}. Check spec.awsAccess.roleArn: the role's trust policy must allow this identity "
    "(and the external ID, if set) to assume it. Retrying at {retry}."
)
MSG_REGION_FAILED = (
    "no ECR token for region {region} (spec.registries): {error}. The Secrets keep their last good "
    "entries for {hosts}; retrying."
)
MSG_ECR_UNAVAILABLE = "{error}. Retrying with backoff."
MSG_CREDENTIALS_ROTATED = (
    "the keys in Secret {ref} changed: a new ECR token was fetched with them and the Secrets rewritten"
)


@dataclass
class NamespaceResult:
    namespace: str
    ready: bool
    reason: str
    message: str
    service_accounts: list[str] | None = None  # holding the entry (spec.serviceAccounts set)

    def as_dict(self) -> dict:
        found = {
            "namespace": self.namespace,
            "ready": self.ready,
            "reason": self.reason,
            "message": self.message,
        }
        if self.service_accounts is not None:
            found["serviceAccounts"] = self.service_accounts
        return found


@dataclass
class Outcome:
    ready: bool
    reason: str
    message: str
    results: list[NamespaceResult] = field(default_factory=list)
    expires_at: datetime.datetime | None = None
    next_refresh: datetime.datetime | None = None
    refreshed_at: datetime.datetime | None = None
    identity: dict | None = None  # status.identity: kind, roleArn, accessKeyIdSuffix (nothing secret)


def build(previous: dict, generation: int, outcome: Outcome) -> dict:
    """The new status. lastTransitionTime changes only when the condition's status flips."""
    now = datetime.datetime.now(datetime.UTC)
    status_value = "True" if outcome.ready else "False"
    old = next((c for c in previous.get("conditions") or [] if c.get("type") == READY), None)
    transition = old["lastTransitionTime"] if old and old.get("status") == status_value else rfc3339(now)
    status = {
        "conditions": [
            {
                "type": READY,
                "status": status_value,
                "reason": outcome.reason,
                "message": outcome.message,
                "lastTransitionTime": transition,
                "observedGeneration": generation,
            }
        ],
        "observedGeneration": generation,
        "namespaces": [r.as_dict() for r in outcome.results],
        "lastRefreshTime": rfc3339(outcome.refreshed_at)
        if outcome.refreshed_at
        else previous.get("lastRefreshTime"),
        "expiresAt": rfc3339(outcome.expires_at) if outcome.expires_at else previous.get("expiresAt"),
        "nextRefreshTime": rfc3339(outcome.next_refresh) if outcome.next_refresh else None,
        "identity": outcome.identity,
    }
    return {k: v for k, v in status.items() if v is not None}


def unchanged(previous: dict, new: dict) -> bool:
    return {k: previous.get(k) for k in new} == new and set(previous) <= set(new)
