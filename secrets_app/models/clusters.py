"""A Kubernetes cluster ecrcontrol manages, and how to connect to it."""

from __future__ import annotations

from django.db import models

DEFAULT_CLUSTER_NAME = "local"


class Cluster(models.Model):
    name = models.SlugField(max_length=63, unique=True)
    kubeconfig_path = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Path to a kubeconfig file. Empty: KUBECONFIG or ~/.kube/config, else the in-cluster "
        "service account.",
    )
    context = models.CharField(max_length=253, blank=True, help_text="kubeconfig context; empty: current.")
    in_cluster = models.BooleanField(default=False, help_text="Use the pod's service account.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> Cluster:
        """The cluster ecrcontrol runs against by default, created on first use."""
        cluster, _ = cls.objects.get_or_create(name=DEFAULT_CLUSTER_NAME)
        return cluster
