"""Fixtures of the REST API's unit tests: users in each role with a token, and a fake writer
(services.writer is our own module; the real one is used in tests/integration/api)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from secrets_app import roles
from secrets_app.models import Cluster, ClusterPullSecret, NamespacedPullSecret
from secrets_app.services import writer
from secrets_app.services.identity import access, resolve

CANARY = "CANARY0secret0key0never0leaves0the0cluster0"


def client_for(role: str | None) -> APIClient:
    """An API client with a token for a new user in `role` (viewers, operators) or in no group."""
    roles.ensure_groups()
    user = User.objects.create_user(f"user-{role or 'none'}-{User.objects.count()}")
    if role:
        user.groups.add(
            Group.objects.get(name={"viewers": roles.VIEWERS, "operators": roles.OPERATORS}[role])
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def operator_client() -> APIClient:
    return client_for("operators")


@pytest.fixture
def viewer_client() -> APIClient:
    return client_for("viewers")


@pytest.fixture
def writes(monkeypatch) -> list:
    """Calls to the writer, answered as if the cluster took the write (generation + 1)."""
    calls = []

    def save(row, secret_access_key=""):
        calls.append((row, secret_access_key))
        row.uid = row.uid or f"uid-{len(calls)}"
        row.generation += 1
        row.resource_version = str(int(row.resource_version or 0) + 1)
        row.save()
        return type(row).objects.get(pk=row.pk)

    monkeypatch.setattr(writer, "save_to_cluster", save)
    monkeypatch.setattr(
        writer, "delete_from_cluster", lambda row: calls.append((row, "deleted")) or row.delete()
    )
    return calls


@pytest.fixture
def written(monkeypatch) -> list:
    """Calls to the writer (our own module), answered with the row as if the cluster took it."""
    calls = []

    def save(row, secret_access_key=""):
        calls.append((row, secret_access_key))
        row.uid = row.uid or "uid-1"
        row.save()
        return row

    monkeypatch.setattr(writer, "save_to_cluster", save)
    return calls


def refuse_with(monkeypatch, error: Exception) -> None:
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(writer, "save_to_cluster", refuse)
    monkeypatch.setattr(writer, "delete_from_cluster", refuse)


def namespaced_row(**changes) -> NamespacedPullSecret:
    fields = {
        "cluster": Cluster.default(),
        "namespace": "team-a",
        "name": "pull",
        "uid": "uid-a",
        "generation": 2,
        "resource_version": "17",
        "secret_name": "ecr-pull",
        "access_key_id": "AKIAEXAMPLE",
        "region": "eu-west-1",
    }
    return NamespacedPullSecret.objects.create(**{**fields, **changes})


def cluster_row(**changes) -> ClusterPullSecret:
    fields = {
        "cluster": Cluster.default(),
        "name": "shared",
        "uid": "u1",
        "secret_name": "ecr",
        "access_key_id": "AKIA1",
        "region": "eu-west-1",
        "namespaces": ["a", "b"],
    }
    return ClusterPullSecret.objects.create(**{**fields, **changes})


def namespaced_body(**spec_changes) -> dict:
    access = {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": CANARY, "region": "eu-west-1"}
    spec = {"awsAccess": access, "secretName": "ecr-pull", **spec_changes}
    return {"metadata": {"name": "pull", "namespace": "team-a"}, "spec": spec}


def inline_identity(key_id: str, secret: str, region: str = "eu-west-1") -> resolve.Identity:
    """The identity of inline keys, as a resource's spec.awsAccess with them resolves."""
    return resolve.resolve(access.Access(access.INLINE, region, key_id, secret), None, "1", "aeps.a.x")


# A namespace selector and registries as the reach tests use them (dashboard and API alike).
SELECTOR = {
    "matchLabels": {"team": "a"},
    "matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}
    ],
}
REGISTRIES = [
    {"accountId": "123456789012", "region": "eu-west-1"},
    {"accountId": "210987654321", "region": "us-east-1"},
]
