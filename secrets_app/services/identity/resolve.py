"""Which AWS identity signs a resource's ECR call: the one place that turns spec.awsAccess into
credentials.

`resolve` reads what is needed to name the identity (a referenced Secret's keys; nothing from AWS)
and returns an `Identity`: its `source` (a keyed hash of the base identity, the role, the external
ID and the region, never the keys themselves) keys the token cache and the sharing between
processes, so resources on the same identity share one ECR call per refresh and two different
roles never share a token. The credentials themselves are obtained only when a token is really
fetched (`Identity.credentials`): a role's temporary credentials (AssumeRole, or
AssumeRoleWithWebIdentity with a ServiceAccount token from the TokenRequest API) are cached in
this process until ROLE_MARGIN before they expire. Nothing here is written anywhere: not the keys,
not the session tokens, not the web identity token.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import threading
from dataclasses import dataclass

from ...aws import ecr
from ...kube.api import Kube
from ...kube.errors import KubeError
from ..secrets import dockerconfig
from . import sharing
from .access import AMBIENT, INLINE, SECRET, SERVICE_ACCOUNT, Access

ROLE_MARGIN = datetime.timedelta(minutes=5)  # a role's credentials are renewed this long before expiry
WEB_IDENTITY_TOKEN_SECONDS = 3600  # the ServiceAccount token's lifetime (TokenRequest)
SESSION_NAME_MAX = 64

MSG_SECRET_MISSING = (
    "the Secret {ref} named in spec.awsAccess.secretRef does not exist: create it with the keys "
    "{keys}; the resource becomes Ready when it does"
)
MSG_KEY_MISSING = (
    "the Secret {ref} named in spec.awsAccess.secretRef has no key {key}: add it, or name the key "
    "that holds it in spec.awsAccess.secretRef.{field}"
)
MSG_TOKEN_REQUEST_FAILED = (
    "no token could be requested for the ServiceAccount {ref} named in spec.awsAccess.serviceAccountRef: "
    "{error}"
)


class CredentialsNotFound(Exception):
    """The credentials the spec references are not there (yet); the message names what is missing.
    `watched`: the controller watches for them (a Secret) and reconciles when they appear, so no
    retry on a clock is needed; a ServiceAccount is not watched, so it is retried with backoff."""

    def __init__(self, message: str, watched: bool = True) -> None:
        super().__init__(message)
        self.watched = watched


@dataclass(frozen=True, repr=False)
class Identity:
    access: Access
    source: str  # keyed hash naming the identity: the token cache's and the sharing's key
    name: str  # what it is, without anything secret (an access key ID, a ServiceAccount, "ambient")
    keys: ecr.Credentials | None  # the base keys (inline or from a Secret); None for the others
    kube: Kube | None  # for a ServiceAccount's token
    session_name: str  # the role session's name (the spec's, or one naming the resource)
    cluster_key: str = ""  # tells ServiceAccounts of different clusters apart

    def __repr__(self) -> str:
        return f"Identity({self.name!r}, role={self.access.role_arn!r}, region={self.access.region!r})"

    @property
    def region(self) -> str:
        return self.access.region

    @property
    def annotation(self) -> str:
        """The managed Secrets' identity annotation: an unkeyed digest of `name` and region."""
        return dockerconfig.identity(self.name, self.region)

    def status(self) -> dict:
        """`status.identity`: the kind, the role, the last 4 characters of the access key ID."""
        found = {"kind": self.access.kind}
        if self.access.role_arn:
            found["roleArn"] = self.access.role_arn
        if self.keys is not None:
            found["accessKeyIdSuffix"] = self.keys.access_key_id[-4:]
        return found

    def credentials(self) -> ecr.Credentials:
        """The credentials that sign the ECR call. Raises ECRError (reason AssumeRoleFailed when
        STS refuses the role) or CredentialsNotFound."""
        if not self.access.role_arn:
            return self.keys if self.keys is not None else ecr.ambient_credentials(self.region)
        return roles.get(self.source, self._assume)

    def _assume(self) -> ecr.RoleCredentials:
        access = self.access
        if access.kind == SERVICE_ACCOUNT:
            token = self._web_identity_token()
            return ecr.assume_role_with_web_identity(access.region, access.role_arn, self.session_name, token)
        return ecr.assume_role(
            self.keys, access.region, access.role_arn, self.session_name, access.external_id
        )

    def _web_identity_token(self) -> str:
        access = self.access
        try:
            return self.kube.request_service_account_token(
                access.ref_namespace, access.ref_name, access.audience, WEB_IDENTITY_TOKEN_SECONDS
            )
        except KubeError as exc:
            message = MSG_TOKEN_REQUEST_FAILED.format(ref=access.reference, error=exc)
            if exc.status == 404:
                raise CredentialsNotFound(message, watched=False) from None
            raise ecr.ECRError(
                message, permanent=False, code=exc.reason, reason=ecr.ASSUME_ROLE_FAILED
            ) from None


class RoleCache:
    """Role credentials by identity source, until ROLE_MARGIN before they expire. A refusal is
    not kept here: the token cache remembers it for the identity's retry time."""

    def __init__(self) -> None:
        self._entries: dict[str, ecr.RoleCredentials] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self.calls = 0  # STS calls made by this process: for tests and benchmarks

    def get(self, source: str, assume) -> ecr.Credentials:
        with self._guard:
            lock = self._locks.setdefault(source, threading.Lock())
        with lock:
            entry = self._entries.get(source)
            if entry is None or entry.expires_at - ROLE_MARGIN <= datetime.datetime.now(datetime.UTC):
                self.calls += 1
                entry = assume()
                self._entries[source] = entry
            return entry.credentials

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


roles = RoleCache()


def resolve(
    access: Access, kube: Kube | None, cluster_key: str, resource: str, keys: ecr.Credentials | None = None
) -> Identity:
    """The identity `access` names. `cluster_key` tells ServiceAccounts of different clusters
    apart; `resource` (kind.namespace.name) names the role session when the spec does not;
    `keys`: the base keys already read (another region's identity of the same resource).
    Raises CredentialsNotFound when a referenced Secret or key is missing."""
    if keys is not None:
        keys = dataclasses.replace(keys, region=access.region)
    elif access.kind == INLINE:
        keys = ecr.Credentials(access.access_key_id, access.secret_access_key, access.region)
    elif access.kind == SECRET:
        keys = _keys_from_secret(access, kube)
    if keys is not None:
        base, name = [keys.access_key_id, keys.secret_access_key], keys.access_key_id
        if keys.session_token:
            base.append(keys.session_token)
    elif access.kind == SERVICE_ACCOUNT:
        base = [SERVICE_ACCOUNT, cluster_key, access.reference, access.audience]
        name = f"{SERVICE_ACCOUNT}:{access.reference}"
    else:
        base, name = [AMBIENT], AMBIENT
    parts = [*base, access.region]
    if access.role_arn:
        # The spec's own session name keeps its sessions apart; a default one does not, so that
        # resources assuming one role from one base share its credentials and its ECR token.
        parts += ["role", access.role_arn, access.external_id, access.session_name]
        name = f"{name}>{access.role_arn}"
    session_name = access.session_name or _session_name(resource)
    return Identity(access, sharing.keyed(*parts), name, keys, kube, session_name, cluster_key)


def in_region(identity: Identity, region: str) -> Identity:
    """The same identity asking another region's ECR (spec.registries): its own token, its own
    cache entry; a role is assumed once more there (STS answers in the region asked)."""
    if region == identity.region:
        return identity
    access = dataclasses.replace(identity.access, region=region)
    return resolve(access, identity.kube, identity.cluster_key, identity.session_name, identity.keys)


def _session_name(resource: str) -> str:
    """A role session name that names the resource, within STS's 64 characters of [\\w+=,.@-]."""
    allowed = "".join(c if c.isalnum() or c in "+=,.@-_" else "-" for c in resource)
    return allowed[:SESSION_NAME_MAX]


def _keys_from_secret(access: Access, kube: Kube) -> ecr.Credentials:
    id_key, secret_key, token_key = access.keys
    secret = kube.get_secret(access.ref_namespace, access.ref_name)  # KubeError: the caller's retry
    if secret is None:
        raise CredentialsNotFound(
            MSG_SECRET_MISSING.format(ref=access.reference, keys=f"{id_key} and {secret_key}")
        )
    data = secret.get("data") or {}
    values = {}
    for key, field in ((id_key, "accessKeyIdKey"), (secret_key, "secretAccessKeyKey")):
        value = _decoded(data.get(key))
        if not value:
            raise CredentialsNotFound(MSG_KEY_MISSING.format(ref=access.reference, key=key, field=field))
        values[key] = value
    return ecr.Credentials(values[id_key], values[secret_key], access.region, _decoded(data.get(token_key)))


def _decoded(value) -> str:
    """A Secret's data value (base64), as text without surrounding white space ("" if absent or
    not text: `kubectl create secret --from-file` keeps a file's trailing newline)."""
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode().strip()
    except (binascii.Error, UnicodeDecodeError):
        return ""
