"""A round trip through the installed ecrcontrol, for the chart's `helm test` hook.

The API server calls both admission webhooks through the chart's Service, over the TLS the chart
set up: a dry-run create with a bad region must be denied by the validating webhook with its own
message, and a dry-run create with plain keys must come back with them encoded by the mutating
webhook. Nothing is stored (dryRun=All) and no ECR call is made (webhooks skip it in a dry run).
"""

from __future__ import annotations

from ..kube.api import Kube
from ..kube.errors import KubeError
from ..kube.kinds import NAMESPACED
from .credentials import encode_key
from .specs import MSG_REGION_INVALID

PROBE_KEY_ID = "AKIASELFCHECKEXAMPLE"


class SelfCheckFailed(RuntimeError):
    """The round trip did not show ecrcontrol's webhooks answering; the message says what was seen."""


def _resource(namespace: str, region: str) -> dict:
    return {
        "apiVersion": NAMESPACED.api_version,
        "kind": NAMESPACED.kind,
        "metadata": {"name": "ecrcontrol-selfcheck", "namespace": namespace},
        "spec": {
            "secretName": "ecrcontrol-selfcheck",
            "awsAccess": {"accessKeyId": PROBE_KEY_ID, "secretAccessKey": "not-a-real-key", "region": region},
        },
    }


def run(kube: Kube, namespace: str) -> list[str]:
    """Both checks; returns what passed, raises SelfCheckFailed with what went wrong."""
    passed = []
    bad_region = "nowhere-1x"
    expected = MSG_REGION_INVALID.format(region=bad_region)
    try:
        kube.dry_run_create(NAMESPACED, _resource(namespace, bad_region))
    except KubeError as exc:
        if expected not in exc.message:
            raise SelfCheckFailed(
                f"a bad region was refused, but not by ecrcontrol's webhook: {exc}"
            ) from None
        passed.append("validating webhook denied a bad region")
    else:
        raise SelfCheckFailed(
            "a resource with a bad region was admitted: the validating webhook is not called"
        )
    try:
        created = kube.dry_run_create(NAMESPACED, _resource(namespace, "eu-west-1"))
    except KubeError as exc:
        raise SelfCheckFailed(f"a valid resource was refused (dry run): {exc}") from None
    key_id = created["spec"]["awsAccess"]["accessKeyId"]
    if key_id != encode_key(PROBE_KEY_ID):
        raise SelfCheckFailed(
            f"the access key id came back as {key_id!r}: the mutating webhook is not called"
        )
    passed.append("mutating webhook encoded the keys")
    return passed
