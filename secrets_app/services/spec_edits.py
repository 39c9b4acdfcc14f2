"""The reach of an edit from the dashboard or the REST API (spec.namespaces, spec.namespaceSelector,
spec.serviceAccounts, spec.registries), checked before anything is sent to the cluster.

The rules and their words are services.specs' (the webhook's and the reconcile's): this module only
builds the spec an edit asks for and keeps the problems about these fields, each under its path.
spec.awsAccess has its own check (services.identity.access.edit_problems).
"""

from __future__ import annotations

from ..kube.kinds import Kind
from ..models import ClusterPullSecret, PullSecretResource
from . import specs, writer

# The spec fields an edit's reach is made of; a problem whose path starts with one of them is theirs.
FIELDS = ("spec.namespaces", "spec.namespaceSelector", "spec.serviceAccounts", "spec.registries")


def reach_spec(row: PullSecretResource) -> dict:
    """The reach fields of the spec the row describes, as the writer writes them (unset ones absent)."""
    spec: dict = {}
    if isinstance(row, ClusterPullSecret):
        if row.namespaces:
            spec["namespaces"] = list(row.namespaces)
        if row.namespace_selector is not None:
            spec["namespaceSelector"] = row.namespace_selector
    if row.service_accounts:
        spec["serviceAccounts"] = list(row.service_accounts)
    if row.registries:
        spec["registries"] = list(row.registries)
    return spec


def problems(kind: Kind, namespace: str, spec: dict, current: dict | None = None) -> dict[str, list[str]]:
    """specs.problems' messages about the reach fields of `spec`, by spec field path (as
    writer.field_errors gives it: "spec.registries.1.accountId"). On an update (`current`: the reach
    of the spec as it is), a problem the resource already has is not held against the edit, as the
    validating webhook does not hold it either."""
    found = _problems(kind, namespace, spec)
    if current is not None and found:
        before = _problems(kind, namespace, current)
        found = [message for message in found if message not in before]
    fields: dict[str, list[str]] = {}
    for message in found:
        for path, parts in writer.field_errors(message).items():
            fields.setdefault(path, []).extend(parts)
    return fields


def _problems(kind: Kind, namespace: str, spec: dict) -> list[str]:
    # A secretName stands in: its own check is the form's and the serializer's.
    body = {"metadata": {"namespace": namespace}, "spec": {"secretName": "probe", **spec}}
    return [
        message
        for message in specs.problems(kind, body)
        if any(
            path == field or path.startswith(field + ".")
            for path in writer.field_errors(message)
            for field in FIELDS
        )
    ]
