"""One row per docker Secret that ecrcontrol manages in a namespace."""

from __future__ import annotations

from django.db import models

from ..choices import ResourceKind, SecretState
from .clusters import Cluster


class ManagedSecret(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE)
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    owner_kind = models.CharField(max_length=64, choices=ResourceKind.choices)
    owner_namespace = models.CharField(max_length=63, blank=True)
    owner_name = models.CharField(max_length=253)
    owner_uid = models.CharField(max_length=64, db_index=True)

    state = models.CharField(max_length=16, choices=SecretState.choices, default=SecretState.PENDING)
    resource_version = models.CharField(max_length=64, blank=True)
    last_written = models.DateTimeField(null=True)
    expires_at = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    # status.namespaces[].serviceAccounts: the ServiceAccounts patched with the Secret in this
    # namespace (None: the resource asks for none, spec.serviceAccounts not set)
    service_accounts = models.JSONField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cluster", "namespace", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "name", "owner_uid"], name="unique_managed_secret"
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"
