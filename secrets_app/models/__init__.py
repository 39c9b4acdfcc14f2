"""Mirror rows of the cluster's state: clusters, custom resources and the Secrets they manage."""

from .clusters import Cluster
from .refreshes import IdentityRefresh
from .resources import ClusterPullSecret, NamespacedPullSecret, PullSecretResource
from .secrets import ManagedSecret

__all__ = [
    "Cluster",
    "ClusterPullSecret",
    "IdentityRefresh",
    "ManagedSecret",
    "NamespacedPullSecret",
    "PullSecretResource",
]
