"""What a custom resource's spec asks for, and every problem that keeps it from working.

Used by the reconcile (problems become an `InvalidSpec` status) and by the validating webhook
(problems deny the request), so both say the same thing.
"""

from __future__ import annotations

from ..kube.kinds import Kind
from ..kube.names import DNS_LABEL as DNS_LABEL
from ..kube.names import DNS_SUBDOMAIN as DNS_SUBDOMAIN
from ..kube.names import MSG_NOT_LABEL as MSG_NOT_LABEL
from ..kube.names import MSG_NOT_SUBDOMAIN as MSG_NOT_SUBDOMAIN
from ..kube.names import name_problem as name_problem
from ..kube.names import namespace_problem as namespace_problem
from .identity import access
from .targets import registries, selector, service_accounts

MSG_SECRET_NAME_MISSING = "spec.secretName is missing: set the name of the docker Secret to manage."
MSG_NAMESPACES_MISSING = (
    "spec.namespaces is empty and spec.namespaceSelector is not set: list at least one namespace, "
    "or select them by label."
)


class SpecError(ValueError):
    """The resource's spec cannot work as written; the message says what to change."""


def spec_of(body: dict) -> dict:
    """The spec, or an empty one when it is missing or not an object (admission sees raw input)."""
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def listed_namespaces(kind: Kind, body: dict) -> list[str]:
    """The namespaces named in the resource, in order, without repeats (a namespaced resource's
    own); the ones a namespaceSelector adds are services.targets.namespaces'."""
    if kind.namespaced:
        return [body["metadata"]["namespace"]]
    namespaces = spec_of(body).get("namespaces")
    if not isinstance(namespaces, list):
        return []
    return list(dict.fromkeys(ns for ns in namespaces if isinstance(ns, str)))


def namespace_selector(kind: Kind, body: dict) -> dict | None:
    """spec.namespaceSelector of a cluster resource (None: not set; {}: every namespace)."""
    if kind.namespaced:
        return None
    return spec_of(body).get("namespaceSelector")


def problems(kind: Kind, body: dict) -> list[str]:
    """Every problem with the spec, each saying what to change; empty when it can work."""
    spec = spec_of(body)
    found = []
    if not spec.get("secretName"):
        found.append(MSG_SECRET_NAME_MISSING)
    chosen = namespace_selector(kind, body)
    if not kind.namespaced and not listed_namespaces(kind, body) and chosen is None:
        found.append(MSG_NAMESPACES_MISSING)
    if chosen is not None:
        found += selector.problems(chosen)
    found += service_accounts.problems(spec) + registries.problems(spec)
    return found + access.problems(kind, body)


def validated(kind: Kind, body: dict) -> access.Access:
    """What spec.awsAccess asks for, or SpecError naming every problem of the spec at once."""
    found = problems(kind, body)
    if found:
        raise SpecError(" ".join(found))
    return access.parse(kind, body)
