"""v1alpha1 AWSECRCredential (deprecated) becomes a ClusterAWSECRImagePullSecret of the same name.

As the seed operator does: same name, labels, annotations and spec (keys stay as stored). We
create the new object before deleting the old one, so a failure in between loses nothing; an
unrelated ClusterAWSECRImagePullSecret that already holds the name is left alone and reported.
"""

from __future__ import annotations

import logging

from ..kube.api import Kube
from ..kube.errors import Conflict, NotFound
from ..kube.kinds import CLUSTER, LEGACY

log = logging.getLogger(__name__)

CONVERTED_FROM = "ecrcontrol.io/converted-from"
MSG_NAME_TAKEN = (
    "cannot convert to {kind}: a {kind} named {name} already exists and was not converted from this "
    "object; rename one of them"
)


def convert(kube: Kube, name: str) -> None:
    legacy = kube.get_resource(LEGACY, "", name)
    if legacy is None or legacy["metadata"].get("deletionTimestamp"):
        return
    meta = legacy["metadata"]
    existing = kube.get_resource(CLUSTER, "", name)
    if existing is None:
        body = {
            "apiVersion": CLUSTER.api_version,
            "kind": CLUSTER.kind,
            "metadata": {
                "name": name,
                "labels": meta.get("labels") or {},
                "annotations": {
                    **(meta.get("annotations") or {}),
                    CONVERTED_FROM: f"{LEGACY.kind}/{meta['uid']}",
                },
            },
            "spec": legacy.get("spec") or {},
        }
        try:
            existing = kube.create_resource(CLUSTER, body)
        except Conflict:
            existing = kube.get_resource(CLUSTER, "", name)
    annotations = (existing or {}).get("metadata", {}).get("annotations") or {}
    if annotations.get(CONVERTED_FROM) != f"{LEGACY.kind}/{meta['uid']}":
        message = MSG_NAME_TAKEN.format(kind=CLUSTER.kind, name=name)
        log.warning("%s %s: %s", LEGACY.kind, name, message)
        kube.create_event(legacy, "Warning", "ConversionFailed", message)
        return
    try:
        kube.delete_resource(LEGACY, "", name, resource_version=meta["resourceVersion"])
    except (NotFound, Conflict):
        pass  # gone already, or changed: the next event converts the newer version
    log.info("converted %s %s into %s", LEGACY.kind, name, CLUSTER.kind)
