"""Mirrors of the AWSECRImagePullSecret and ClusterAWSECRImagePullSecret custom resources.

The secret access key is deliberately absent: it lives only in the cluster object.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Case, F, Value, When

from ..choices import IdentityKind
from .clusters import Cluster


class Rank(Value):
    """A whole number written into the SQL rather than passed as a parameter: SQLite uses an index
    on an expression only for the same expression, and a parameter is never the same as a number."""

    def as_sql(self, compiler, connection):
        return str(int(self.value)), []


def health() -> Case:
    """0 failing, 1 pending (not reconciled yet), 2 ready: the lists' "failing first" order. One
    expression for the admin, the REST API and the index that serves the order: the databases use
    the index only for this very expression."""
    return Case(When(ready=False, then=Rank(0)), When(ready__isnull=True, then=Rank(1)), default=Rank(2))


class PullSecretResource(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE)
    name = models.CharField(max_length=253)
    uid = models.CharField(max_length=64, blank=True, editable=False)
    resource_version = models.CharField(max_length=64, blank=True, editable=False)
    generation = models.BigIntegerField(default=0, editable=False)

    # spec, without spec.awsAccess.secretAccessKey
    secret_name = models.CharField(max_length=253)
    access_key_id = models.CharField(max_length=128, blank=True)  # inline keys only
    region = models.CharField(max_length=32)
    # which AWS identity: spec.awsAccess as applied but without secretAccessKey (the access key ID
    # decoded), and for filters and lists the base identity's kind, the role it assumes and the
    # Secret or ServiceAccount it reads (namespace/name); never a key, a token or a secret
    aws_access = models.JSONField(default=dict, editable=False)
    identity_kind = models.CharField(max_length=16, choices=IdentityKind.choices, default=IdentityKind.INLINE)
    role_arn = models.CharField(max_length=2048, blank=True)
    credentials_ref = models.CharField(max_length=317, blank=True)
    # spec.serviceAccounts: the ServiceAccounts given the Secret in imagePullSecrets (["*"]: all)
    service_accounts = models.JSONField(default=list, blank=True)
    # spec.registries: more registries in the same Secret, each {"accountId": ..., "region": ...}
    registries = models.JSONField(default=list, blank=True)

    # status, as last written to the cluster
    ready = models.BooleanField(null=True, editable=False)
    reason = models.CharField(max_length=64, blank=True, editable=False)
    message = models.TextField(blank=True, editable=False)
    observed_generation = models.BigIntegerField(null=True, editable=False)
    # status.identity: the AWS identity the controller used (kind, roleArn, accessKeyIdSuffix)
    status_identity = models.JSONField(null=True, editable=False)
    last_refresh = models.DateTimeField(null=True, editable=False)
    expires_at = models.DateTimeField(null=True, editable=False)
    next_refresh = models.DateTimeField(null=True, editable=False)
    # lastTransitionTime of the Ready condition: since when it has been ready (or failing)
    transition_time = models.DateTimeField(null=True, editable=False)
    # when this row last matched the cluster (a list, a watch event or our own write)
    synced_at = models.DateTimeField(null=True, editable=False)

    # bookkeeping for the controller: when to reconcile next, and how many temporary failures in a row
    requeue_at = models.DateTimeField(null=True, editable=False, db_index=True)
    failures = models.PositiveIntegerField(default=0, editable=False)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class NamespacedPullSecret(PullSecretResource):
    """An AWSECRImagePullSecret: one Secret in its own namespace."""

    namespace = models.CharField(max_length=63)

    class Meta:
        verbose_name = "AWSECRImagePullSecret"
        ordering = ["cluster", "namespace", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "name"], name="unique_namespaced_resource"
            )
        ]
        # The admin list's default order (failing first; the admin adds -pk): any of its pages is
        # read from the index instead of sorting every row, which spilled to disk at 10,000.
        indexes = [models.Index(health(), "namespace", "name", F("id").desc(), name="aeps_failing_first")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class ClusterPullSecret(PullSecretResource):
    """A ClusterAWSECRImagePullSecret: the same Secret in each listed and each selected namespace."""

    namespaces = models.JSONField(default=list, blank=True)
    # spec.namespaceSelector, a LabelSelector: None when not set, {} selects every namespace
    namespace_selector = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = "ClusterAWSECRImagePullSecret"
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="unique_cluster_resource")]

    def __str__(self) -> str:
        return self.name
