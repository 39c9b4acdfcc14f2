"""Database to cluster: create, update or delete a custom resource from a mirror row.

This is what the admin and the REST API call. Optimistic concurrency: an update carries the
generation the user edited; if the cluster's spec has moved on since, the write is refused with
a clear error rather than overwriting a kubectl edit. The secret access key given here goes
straight into the cluster object and is never stored in the row.

The spec's AWS identity is the row's: `identity_kind` says which base identity, `access_key_id`
the inline key ID, and `aws_access` (spec.awsAccess as edited, without any secret) the
secretRef/serviceAccountRef and the role fields. Every identity field the row does not name is
removed, so switching kinds leaves no field of the old one behind; fields of spec.awsAccess that
are not about the identity are kept as the cluster has them.
"""

from __future__ import annotations

import copy
import re

from ..choices import IdentityKind
from ..kube.errors import Conflict, KubeError, NotFound, Unavailable
from ..models import ClusterPullSecret, PullSecretResource
from . import mirror
from .clusters import kube_for
from .identity import access as identity
from .identity.credentials import decode_key

MSG_CHANGED = (
    "{kind} {name} was changed in the cluster since you loaded it (generation {theirs}, you edited "
    "generation {ours}): reload it and make your edit again."
)
MSG_GONE = "{kind} {name} no longer exists in the cluster: reload the list."
MSG_EXISTS = "{kind} {name} already exists in the cluster: edit that one, or choose another name."
MSG_KEY_NEEDED = "a secret access key is required to {what}: give the one that belongs to access key {key}."
MSG_KEY_UNUSED = (
    "a secret access key was given, but the AWS identity is {kind}, which takes none: choose keys in "
    "the resource, or leave the secret access key out."
)
MSG_REJECTED = "the API server rejected {kind} {name}: {reason}"
MSG_UNAVAILABLE = (
    "{kind} {name} was not written: the cluster's API server did not answer ({reason}). Try again."
)


class WriteError(Exception):
    """The write was not made; the message says why and what to do.

    `fields` maps a spec field path ("spec.awsAccess.region") to the messages that name it, word
    for word as the API server (or its admission webhooks) said them; messages that name no field
    are under "". Forms and the REST API put each message on its field.
    """

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields if fields is not None else {"": [message]}


class WriteConflict(WriteError):
    """The cluster holds a newer version than the one edited, or the name is taken."""


class WriteGone(WriteError):
    """The object no longer exists in the cluster."""


class WriteUnavailable(WriteError):
    """The cluster's API server did not answer; try again later."""


_FIELD = re.compile(r"\.?(spec(?:\.[A-Za-z]+(?:\[\d+\])*)+)")
# "spec.awsAccess.serviceAccountRef needs spec.awsAccess.roleArn: ...": what to set is the field needed.
_NEEDS = re.compile(r" needs \.?(spec(?:\.[A-Za-z]+(?:\[\d+\])*)+)")
_INDEX = re.compile(r"\[(\d+)\]")


def field_errors(message: str) -> dict[str, list[str]]:
    """An API server message split into its parts ("; "), each under the first spec field it names
    (or, for "<field> needs <other field>", under the field it needs). An item of a list is a path
    part of its own: "spec.registries[1].accountId" is under "spec.registries.1.accountId"."""
    _, sep, rest = message.partition(" denied the request: ")
    parts = rest.split("; ") if sep else [message]
    fields: dict[str, list[str]] = {}
    for part in parts:
        found = _NEEDS.search(part) or _FIELD.search(part)
        path = _INDEX.sub(r".\1", found.group(1)) if found else ""
        fields.setdefault(path, []).append(part)
    return fields


# spec.awsAccess's identity fields: the base identities' and the role's. The row names which it keeps.
BASE_FIELDS = {
    IdentityKind.INLINE: ("accessKeyId", "secretAccessKey"),
    IdentityKind.SECRET: ("secretRef",),
    IdentityKind.SERVICE_ACCOUNT: ("serviceAccountRef",),
    IdentityKind.AMBIENT: (),
}
REFERENCES = {IdentityKind.SECRET: "secretRef", IdentityKind.SERVICE_ACCOUNT: "serviceAccountRef"}
ROLE_FIELDS = ("roleArn", "externalId", "roleSessionName")
KIND_WORDS = {
    IdentityKind.SECRET: "keys in a Secret",
    IdentityKind.SERVICE_ACCOUNT: "a ServiceAccount's web identity",
    IdentityKind.AMBIENT: "the operator's own identity",
}


def _spec(row: PullSecretResource, base: dict | None, secret_access_key: str) -> dict:
    spec = copy.deepcopy((base or {}).get("spec") or {})
    current = spec.get("awsAccess") if isinstance(spec.get("awsAccess"), dict) else {}
    identity_fields = {field for fields in BASE_FIELDS.values() for field in fields} | set(ROLE_FIELDS)
    access = {k: v for k, v in current.items() if k not in identity_fields}
    wanted = row.aws_access if isinstance(row.aws_access, dict) else {}
    kind = row.identity_kind or IdentityKind.INLINE
    if kind == IdentityKind.INLINE:
        access.update(_inline_keys(row, base, current, secret_access_key))
    elif secret_access_key:
        raise WriteError(MSG_KEY_UNUSED.format(kind=KIND_WORDS[kind]))
    reference = REFERENCES.get(kind)
    if reference:  # without it the object would silently fall back to the operator's own identity
        if not isinstance(wanted.get(reference), dict):
            message = identity.MSG_NOT_AN_OBJECT.format(field=reference)
            raise WriteError(message, field_errors(message))
        access[reference] = copy.deepcopy(wanted[reference])
    access.update({field: wanted[field] for field in ROLE_FIELDS if wanted.get(field)})
    access["region"] = row.region
    spec["awsAccess"] = access
    spec["secretName"] = row.secret_name
    if isinstance(row, ClusterPullSecret):
        _set(spec, "namespaces", list(row.namespaces or []))
        _set(spec, "namespaceSelector", row.namespace_selector, keep_empty=True)
    _set(spec, "serviceAccounts", list(row.service_accounts or []))
    _set(spec, "registries", [dict(r) for r in row.registries or []])
    return spec


def _set(spec: dict, field: str, value, keep_empty: bool = False) -> None:
    """spec[field] = value, or no such field when the row has none (None, or an empty list): a
    resource without the optional fields is written exactly as before they existed. A selector is
    kept when empty ({} selects every namespace)."""
    if value is None or (not value and not keep_empty):
        spec.pop(field, None)
    else:
        spec[field] = copy.deepcopy(value)


def _inline_keys(row: PullSecretResource, base: dict | None, current: dict, secret_access_key: str) -> dict:
    """accessKeyId and secretAccessKey: the cluster's own while the key ID stays the same, else the
    new pair (a new key ID, or a switch from another identity, needs its secret key)."""
    if not row.access_key_id:  # without it the object would fall back to the operator's own identity
        message = identity.MSG_FIELD_MISSING.format(field="accessKeyId")
        raise WriteError(message, field_errors(message))
    keys = {k: current[k] for k in BASE_FIELDS[IdentityKind.INLINE] if k in current}
    if decode_key(keys.get("accessKeyId", "")) != row.access_key_id or "secretAccessKey" not in keys:
        if not secret_access_key:
            if base is None:
                what = "create it"
            elif "accessKeyId" in keys:
                what = "change the access key ID"
            else:
                what = "switch to keys in the resource"
            raise WriteError(MSG_KEY_NEEDED.format(what=what, key=row.access_key_id))
        keys["accessKeyId"] = row.access_key_id
    if secret_access_key:
        keys["secretAccessKey"] = secret_access_key
    return keys


def _connect(row: PullSecretResource, names: dict):
    """The row's cluster API; a kubeconfig that cannot be loaded is a WriteUnavailable like a dead server."""
    try:
        return kube_for(row.cluster)
    except KubeError as exc:
        raise WriteUnavailable(MSG_UNAVAILABLE.format(**names, reason=exc.message)) from None


def _replace_spec(kube, kind, row: PullSecretResource, names: dict, secret_access_key: str) -> dict:
    """Replace the spec of the version the user edited (same uid and generation), or refuse."""
    current = kube.get_resource(kind, getattr(row, "namespace", ""), row.name)
    if current is None:
        raise WriteGone(MSG_GONE.format(**names))
    theirs = current["metadata"].get("generation")
    if current["metadata"]["uid"] != row.uid or theirs != row.generation:
        raise WriteConflict(MSG_CHANGED.format(**names, theirs=theirs, ours=row.generation))
    body = copy.deepcopy(current)  # carries resourceVersion: a write in between is refused
    body["spec"] = _spec(row, current, secret_access_key)
    return kube.replace_resource(kind, body)


def save_to_cluster(row: PullSecretResource, secret_access_key: str = "") -> PullSecretResource:
    """Create the object (row without uid) or update its spec; refresh the row from the result."""
    kind = mirror.kind_of(row)
    names = {"kind": kind.kind, "name": str(row)}
    kube = _connect(row, names)
    namespace = getattr(row, "namespace", "")
    try:
        if not row.uid:
            metadata = {"name": row.name, **({"namespace": namespace} if kind.namespaced else {})}
            body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata}
            body["spec"] = _spec(row, None, secret_access_key)
            written = kube.create_resource(kind, body)
        else:
            try:
                written = _replace_spec(kube, kind, row, names, secret_access_key)
            except Conflict:  # written in between: a spec edit is refused, a status write is not
                written = _replace_spec(kube, kind, row, names, secret_access_key)
    except Conflict as exc:
        if not row.uid:
            raise WriteConflict(MSG_EXISTS.format(**names)) from None
        raise WriteConflict(MSG_CHANGED.format(**names, theirs="newer", ours=row.generation)) from exc
    except Unavailable as exc:
        raise WriteUnavailable(MSG_UNAVAILABLE.format(**names, reason=exc.message)) from None
    except KubeError as exc:  # Invalid (schema), Forbidden (webhook denial or RBAC), ...
        message = MSG_REJECTED.format(**names, reason=exc.message)
        raise WriteError(message, field_errors(exc.message)) from None
    saved, _ = mirror.upsert(row.cluster, kind, written)
    return saved


def delete_from_cluster(row: PullSecretResource) -> None:
    """Delete the object if it is still the version the user saw; its Secrets go with it."""
    kind = mirror.kind_of(row)
    namespace = getattr(row, "namespace", "")
    names = {"kind": kind.kind, "name": str(row)}
    kube = _connect(row, names)
    try:
        try:
            kube.delete_resource(kind, namespace, row.name, resource_version=row.resource_version)
        except NotFound:
            pass
        except Conflict:
            current = kube.get_resource(kind, namespace, row.name)
            if current and current["metadata"].get("generation") != row.generation:
                theirs = current["metadata"].get("generation")
                raise WriteConflict(MSG_CHANGED.format(**names, theirs=theirs, ours=row.generation)) from None
            if current:  # only status or metadata moved on: the spec the user saw is still current
                kube.delete_resource(kind, namespace, row.name)
    except Unavailable as exc:
        raise WriteUnavailable(MSG_UNAVAILABLE.format(**names, reason=exc.message)) from None
    except KubeError as exc:
        raise WriteError(MSG_REJECTED.format(**names, reason=exc.message)) from None
    mirror.forget(row.cluster, kind, namespace, row.name)
