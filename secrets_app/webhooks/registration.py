"""The webhook configurations that make the API server call ecrcontrol, and their registration.

Mutation (key encoding) has no side effects. Validation may call ECR, but not in a dry run:
`NoneOnDryRun`. Both fail closed (`Fail`): a resource is never admitted unchecked while
ecrcontrol is down; the controller still reports on any resource that got in without them.
"""

from __future__ import annotations

import base64

from ..kube.api import Kube
from ..kube.kinds import CLUSTER, GROUP, NAMESPACED
from .urls import MUTATE_PATH, VALIDATE_PATH

MUTATING_NAME = "ecrcontrol-mutating"
VALIDATING_NAME = "ecrcontrol-validating"
# Mutation is local work; validation may wait on ECR (ECRCONTROL_WEBHOOK_ECR_TIMEOUT_SECONDS).
MUTATE_TIMEOUT_SECONDS, VALIDATE_TIMEOUT_SECONDS = 5, 10
LABELS = {"app.kubernetes.io/part-of": "ecrcontrol"}


def configurations(base_url: str, ca_pem: bytes) -> list[dict]:
    """The two configurations, calling `base_url` (https://host:port) and trusting `ca_pem`."""
    ca_bundle = base64.b64encode(ca_pem).decode()
    rules = [
        {
            "apiGroups": [GROUP],
            "apiVersions": [NAMESPACED.version],
            "operations": ["CREATE", "UPDATE"],
            "resources": [NAMESPACED.plural, CLUSTER.plural],
            "scope": "*",
        }
    ]

    def webhook(name: str, path: str, side_effects: str, timeout: int) -> dict:
        return {
            "name": name,
            "clientConfig": {"url": f"{base_url.rstrip('/')}/webhooks/{path}", "caBundle": ca_bundle},
            "rules": rules,
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "sideEffects": side_effects,
            "timeoutSeconds": timeout,
            "admissionReviewVersions": ["v1"],
        }

    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": MUTATING_NAME, "labels": LABELS},
            "webhooks": [
                {
                    **webhook("mutate.ecrcontrol.io", MUTATE_PATH, "None", MUTATE_TIMEOUT_SECONDS),
                    "reinvocationPolicy": "Never",
                }
            ],
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": VALIDATING_NAME, "labels": LABELS},
            "webhooks": [
                webhook("validate.ecrcontrol.io", VALIDATE_PATH, "NoneOnDryRun", VALIDATE_TIMEOUT_SECONDS)
            ],
        },
    ]


def register(kube: Kube, base_url: str, ca_pem: bytes) -> None:
    for body in configurations(base_url, ca_pem):
        kube.put_webhook_configuration(body)


def unregister(kube: Kube) -> None:
    kube.delete_webhook_configuration("MutatingWebhookConfiguration", MUTATING_NAME)
    kube.delete_webhook_configuration("ValidatingWebhookConfiguration", VALIDATING_NAME)
