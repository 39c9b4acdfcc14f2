"""Kubernetes object names, as the API server checks them (DNS-1123)."""

from __future__ import annotations

import re

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


def name_problem(value: str) -> str:
    """Why `value` cannot be a Kubernetes object name (a DNS-1123 subdomain); "" when it can."""
    if len(value) <= 253 and DNS_SUBDOMAIN.fullmatch(value):
        return ""
    return MSG_NOT_SUBDOMAIN.format(value=value)


def namespace_problem(value: str) -> str:
    """Why `value` cannot be a namespace name (a DNS-1123 label); "" when it can."""
    if len(value) <= 63 and DNS_LABEL.fullmatch(value):
        return ""
    return MSG_NOT_LABEL.format(value=value)
