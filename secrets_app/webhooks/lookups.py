"""The real cluster and ECR behind validation (see `validating.Lookups`)."""

from __future__ import annotations

from django.conf import settings

from ..aws import ecr
from ..kube.api import Kube
from ..kube.kinds import CLUSTER, NAMESPACED, Kind
from ..models import Cluster
from ..services.clusters import kube_for
from . import verdicts

NAMESPACED_LIST_LIMIT = 3  # more target namespaces than this: one list of all namespaces instead


class ClusterLookups:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    @classmethod
    def default(cls) -> ClusterLookups:
        """The cluster whose API server calls this webhook: the default one."""
        return cls(kube_for(Cluster.default()))

    def namespace_exists(self, name: str) -> bool:
        return self.kube.get_namespace(name) is not None

    def secret(self, namespace: str, name: str) -> dict | None:
        return self.kube.get_secret(namespace, name)

    def resources(self, namespaces: list[str]) -> list[tuple[Kind, dict]]:
        # From the watch cache: admission cannot be exact anyway (two requests in flight do not see
        # each other), and the reconcile reports any clash; a consistent list would add ~70 ms.
        # Namespaced resources only from the namespaces in question when they are few: with a
        # thousand resources, listing them all on every admission is most of its cost.
        found = [(CLUSTER, item) for item in self.kube.list_resources(CLUSTER, from_cache=True)["items"]]
        scopes = namespaces if len(namespaces) <= NAMESPACED_LIST_LIMIT else [""]
        for namespace in scopes:
            listed = self.kube.list_resources(NAMESPACED, from_cache=True, namespace=namespace)
            found += [(NAMESPACED, item) for item in listed["items"]]
        return found

    def check_credentials(self, credentials: ecr.Credentials) -> None:
        timeout = settings.ECRCONTROL_WEBHOOK_ECR_TIMEOUT_SECONDS
        # Waiting for another process's check, then one attempt of our own: inside the
        # webhook configuration's timeoutSeconds.
        verdicts.check(credentials, lambda: ecr.get_token(credentials, timeout=timeout), wait=timeout / 2)
