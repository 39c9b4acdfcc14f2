"""Can we reach a cluster? The API server's version, or the exact error.

Used when a Cluster row is saved (the connection test) and by the dashboard's banner for
clusters that are down (cached briefly, so the dashboard does not wait on a dead cluster each time).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache

from ..kube.api import Kube
from ..kube.errors import KubeError
from ..models import Cluster

CACHE_SECONDS = 15
TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class Connection:
    version: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def test(kubeconfig_path: str, context: str, in_cluster: bool) -> Connection:
    """Connect and ask the API server for its version."""
    try:
        kube = Kube.connect(kubeconfig_path, context, in_cluster)
        return Connection(version=kube.server_version(timeout=TIMEOUT_SECONDS))
    except KubeError as exc:
        return Connection(error=exc.message)


def of(cluster: Cluster) -> Connection:
    """The cluster's connection as tested in the last CACHE_SECONDS (tested now if not)."""
    settings = f"{cluster.pk}|{cluster.kubeconfig_path}|{cluster.context}|{cluster.in_cluster}"
    key = "ecrcontrol-connection-" + hashlib.sha256(settings.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = test(cluster.kubeconfig_path, cluster.context, cluster.in_cluster)
        cache.set(key, found, CACHE_SECONDS)
    return found
