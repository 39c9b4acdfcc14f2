"""The real cluster and ECR behind validation (see `validating.Lookups`)."""

from __future__ import annotations

from django.conf import settings

from ..aws import ecr
from ..kube import store
from ..kube.api import Kube
from ..kube.kinds import CLUSTER, NAMESPACED, Kind
from ..models import Cluster
from ..services.clusters import kube_for
from ..services.identity import resolve
from ..services.identity.access import Access
from ..services.identity.resolve import Identity
from . import verdicts

BULK_READ_FROM = 4  # more namespaces than this: one list rather than a read per namespace
NAMESPACED_LIST_LIMIT = 3  # more target namespaces than this: one list of all namespaces instead


class ClusterLookups:
    def __init__(self, kube: Kube, cluster_key: str = "") -> None:
        self.kube = kube
        self.cluster_key = cluster_key

    @classmethod
    def default(cls) -> ClusterLookups:
        """The cluster whose API server calls this webhook: the default one."""
        cluster = Cluster.default()
        return cls(kube_for(cluster), str(cluster.pk))

    def _store(self, what: str) -> store.Store | None:
        """What the controller's watches saw, where it runs in this process (the embedded default):
        as current as the API server's watch cache that a list from_cache reads, without the call."""
        kept = store.lookup(int(self.cluster_key), what) if self.cluster_key else None
        return kept if kept is not None and kept.listed else None

    # A ClusterAWSECRImagePullSecret may name hundreds of namespaces: past a few, one list each
    # instead of a read per namespace (hundreds of sequential calls inside the webhook's timeout).
    def existing_namespaces(self, names: list[str]) -> set[str]:
        kept = self._store(store.NAMESPACES)
        if kept is not None:
            return {name for name in names if kept.get("", name) is not None}
        if len(names) <= BULK_READ_FROM:
            return {name for name in names if self.kube.get_namespace(name) is not None}
        return set(names) & {n["metadata"]["name"] for n in self.kube.list_namespaces()}

    def secrets(self, namespaces: list[str], name: str) -> dict[str, dict]:
        if len(namespaces) <= BULK_READ_FROM:
            found = {ns: self.kube.get_secret(ns, name) for ns in namespaces}
            return {ns: secret for ns, secret in found.items() if secret is not None}
        wanted = set(namespaces)
        listed = self.kube.list_secrets_named(name)
        return {s["metadata"]["namespace"]: s for s in listed if s["metadata"]["namespace"] in wanted}

    def resources(self, namespaces: list[str]) -> list[tuple[Kind, dict]]:
        # From the watch cache: admission cannot be exact anyway (two requests in flight do not see
        # each other), and the reconcile reports any clash; a consistent list would add ~70 ms.
        # Namespaced resources only from the namespaces in question when they are few: with a
        # thousand resources, listing them all on every admission is most of its cost.
        scopes = namespaces if len(namespaces) <= NAMESPACED_LIST_LIMIT else [""]
        cluster_kept, namespaced_kept = self._store(CLUSTER.kind), self._store(NAMESPACED.kind)
        if cluster_kept is not None and namespaced_kept is not None:
            found = [(CLUSTER, item) for item in cluster_kept.snapshot()]
            for namespace in scopes:
                found += [(NAMESPACED, item) for item in namespaced_kept.snapshot(namespace or None)]
            return found
        found = [(CLUSTER, item) for item in self.kube.list_resources(CLUSTER, from_cache=True)["items"]]
        for namespace in scopes:
            listed = self.kube.list_resources(NAMESPACED, from_cache=True, namespace=namespace)
            found += [(NAMESPACED, item) for item in listed["items"]]
        return found

    def identity(self, wanted: Access, body: dict) -> Identity:
        return resolve.resolve(wanted, self.kube, self.cluster_key, body["metadata"]["name"])

    def check_credentials(self, identity: Identity) -> None:
        timeout = settings.ECRCONTROL_WEBHOOK_ECR_TIMEOUT_SECONDS
        # Waiting for another process's check, then one attempt of our own: inside the
        # webhook configuration's timeoutSeconds.
        verdicts.check(
            identity.source, lambda: ecr.get_token(identity.credentials(), timeout=timeout), wait=timeout / 2
        )
