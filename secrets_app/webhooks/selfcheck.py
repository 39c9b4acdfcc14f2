"""A round trip through the installed ecrcontrol, for the chart's `helm test` hook.

The API server calls both admission webhooks through the chart's Service, over the TLS the chart
set up: a dry-run create whose Secret name is taken by a Secret ecrcontrol does not manage (one of
the chart's own) must be denied by the validating webhook with its own message (a check the CRD
schema cannot make), and a dry-run create with plain keys must come back with them encoded by the
mutating webhook. Nothing is stored (dryRun=All) and no ECR call is made (none in a dry run).
"""

from __future__ import annotations

from ..kube.api import Kube
from ..kube.errors import KubeError
from ..kube.kinds import NAMESPACED
from ..services.identity.credentials import encode_key
from .validating import MSG_SECRET_EXISTS

PROBE_KEY_ID = "AKIASELFCHECKEXAMPLE"


class SelfCheckFailed(RuntimeError):
    """The round trip did not show ecrcontrol's webhooks answering; the message says what was seen."""


def _resource(namespace: str, secret_name: str) -> dict:
    return {
        "apiVersion": NAMESPACED.api_version,
        "kind": NAMESPACED.kind,
        "metadata": {"name": "ecrcontrol-selfcheck", "namespace": namespace},
        "spec": {
            "secretName": secret_name,
            "awsAccess": {
                "accessKeyId": PROBE_KEY_ID,
                "secretAccessKey": "not-a-real-key",
                "region": "eu-west-1",
            },
        },
    }


def run(kube: Kube, namespace: str, unmanaged_secret: str) -> list[str]:
    """Both checks; returns what passed, raises SelfCheckFailed with what went wrong.

    `unmanaged_secret`: a Secret in `namespace` that ecrcontrol does not manage."""
    passed = []
    expected = MSG_SECRET_EXISTS.format(name=unmanaged_secret, ns=namespace)
    try:
        kube.dry_run_create(NAMESPACED, _resource(namespace, unmanaged_secret))
    except KubeError as exc:
        if expected not in exc.message:
            raise SelfCheckFailed(
                f"the resource was refused, but not by ecrcontrol's webhook: {exc}"
            ) from None
        passed.append("validating webhook denied taking over an unmanaged Secret")
    else:
        raise SelfCheckFailed(
            f"a resource taking over Secret {unmanaged_secret} was admitted: "
            "the validating webhook is not called"
        )
    try:
        created = kube.dry_run_create(NAMESPACED, _resource(namespace, "ecrcontrol-selfcheck"))
    except KubeError as exc:
        raise SelfCheckFailed(f"a valid resource was refused (dry run): {exc}") from None
    key_id = created["spec"]["awsAccess"]["accessKeyId"]
    if key_id != encode_key(PROBE_KEY_ID):
        raise SelfCheckFailed(
            f"the access key id came back as {key_id!r}: the mutating webhook is not called"
        )
    passed.append("mutating webhook encoded the keys")
    return passed
