"""From a Cluster row to its API."""

from ..kube.api import Kube
from ..models import Cluster


def kube_for(cluster: Cluster) -> Kube:
    return Kube.connect(cluster.kubeconfig_path, cluster.context, cluster.in_cluster)
