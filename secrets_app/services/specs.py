"""What a custom resource's spec asks for, and every problem that keeps it from working.

Used by the reconcile (problems become an `InvalidSpec` status) and by the validating webhook
(problems deny the request), so both say the same thing.
"""

from __future__ import annotations

import re

from ..kube.kinds import Kind
from .identity import access

# Kubernetes object names: Secret names are DNS-1123 subdomains, namespaces DNS-1123 labels.
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

MSG_NOT_SUBDOMAIN = (
    "{value!r} is not a valid Kubernetes name: use at most 253 lower-case letters, digits, '-' and '.', "
    "starting and ending with a letter or digit (e.g. ecr-pull)."
)
MSG_NOT_LABEL = (
    "{value!r} is not a valid namespace name: use at most 63 lower-case letters, digits and '-', "
    "starting and ending with a letter or digit (e.g. team-a)."
)
MSG_SECRET_NAME_MISSING = "spec.secretName is missing: set the name of the docker Secret to manage."
MSG_NAMESPACES_MISSING = "spec.namespaces is empty: list at least one namespace."


def name_problem(value: str) -> str:
    """Why `value` cannot be a Kubernetes object name (a DNS-1123 subdomain); "" when it can."""
    if len(value) <= 253 and DNS_SUBDOMAIN.match(value):
        return ""
    return MSG_NOT_SUBDOMAIN.format(value=value)


def namespace_problem(value: str) -> str:
    """Why `value` cannot be a namespace name (a DNS-1123 label); "" when it can."""
    if len(value) <= 63 and DNS_LABEL.match(value):
        return ""
    return MSG_NOT_LABEL.format(value=value)


class SpecError(ValueError):
    """The resource's spec cannot work as written; the message says what to change."""


def spec_of(body: dict) -> dict:
    """The spec, or an empty one when it is missing or not an object (admission sees raw input)."""
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def targets(kind: Kind, body: dict) -> list[str]:
    """The namespaces whose Secret the resource manages, in order, without repeats."""
    if kind.namespaced:
        return [body["metadata"]["namespace"]]
    namespaces = spec_of(body).get("namespaces")
    if not isinstance(namespaces, list):
        return []
    return list(dict.fromkeys(ns for ns in namespaces if isinstance(ns, str)))


def problems(kind: Kind, body: dict) -> list[str]:
    """Every problem with the spec, each saying what to change; empty when it can work."""
    spec = spec_of(body)
    found = []
    if not spec.get("secretName"):
        found.append(MSG_SECRET_NAME_MISSING)
    if not kind.namespaced and not targets(kind, body):
        found.append(MSG_NAMESPACES_MISSING)
    return found + access.problems(kind, body)


def validated(kind: Kind, body: dict) -> access.Access:
    """What spec.awsAccess asks for, or SpecError naming every problem of the spec at once."""
    found = problems(kind, body)
    if found:
        raise SpecError(" ".join(found))
    return access.parse(kind, body)
