"""The namespaces a resource's Secret goes to: those listed, and those its namespaceSelector
matches as the cluster is now (an Active namespace with matching labels)."""

from __future__ import annotations

from ...kube.kinds import Kind
from .. import specs
from . import selector


def is_active(namespace: dict) -> bool:
    """Not being deleted: a terminating namespace takes no new Secret, and is no failure."""
    return (namespace.get("status") or {}).get("phase", "Active") == "Active" and not namespace[
        "metadata"
    ].get("deletionTimestamp")


def selects(chosen: dict, namespace: dict) -> bool:
    return is_active(namespace) and selector.matches(chosen, namespace["metadata"].get("labels") or {})


def targets(kind: Kind, body: dict, namespaces) -> list[str]:
    """Listed first (in order), then the selected ones by name, without repeats. `namespaces`:
    a callable returning the cluster's Namespace objects, called only if there is a selector."""
    listed = specs.listed_namespaces(kind, body)
    chosen = specs.namespace_selector(kind, body)
    if chosen is None:
        return listed
    selected = sorted(ns["metadata"]["name"] for ns in namespaces() if selects(chosen, ns))
    return list(dict.fromkeys(listed + selected))
