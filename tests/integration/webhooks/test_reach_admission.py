"""Admission of spec.namespaceSelector, spec.serviceAccounts and spec.registries, by the real API
server calling the webhooks over TLS (where the CRD's own schema does not already refuse)."""

from __future__ import annotations

import pytest
import yaml

from secrets_app.kube.kinds import GROUP
from secrets_app.services import specs

from ..helpers import VERSION, aws_access, denial, get_cluster_resource, kubectl, unique
from .test_identity_admission import create

pytestmark = pytest.mark.django_db(transaction=True)
DENIED = 'admission webhook "validate.ecrcontrol.io" denied the request: '


@pytest.fixture(scope="module")
def valid_key(mint_key):
    return mint_key("reach-admission")


def cluster(name: str, key: tuple[str, str], **spec) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": name},
        "spec": {"awsAccess": aws_access(*key), "secretName": "ecr-pull", **spec},
    }


def test_neither_namespaces_nor_a_selector_is_denied_with_what_to_do(kube_api, webhooks, valid_key):
    """The CRD accepts it (the seed's does, so must ours); the webhook says what is missing."""
    message = denial(lambda: create(kube_api, cluster(unique("none"), valid_key)))
    assert message == DENIED + specs.MSG_NAMESPACES_MISSING


def test_a_selector_alone_is_admitted_without_a_namespace_warning(
    control_plane, kube_api, webhooks, valid_key
):
    name = unique("sel")
    manifest = cluster(name, valid_key, namespaceSelector={"matchLabels": {"team": unique("t")}})
    result = kubectl(control_plane, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    assert (
        get_cluster_resource(kube_api, name)["spec"]["namespaceSelector"]
        == manifest["spec"]["namespaceSelector"]
    )


def test_a_listed_missing_namespace_beside_a_selector_keeps_its_warning(
    control_plane, kube_api, webhooks, valid_key
):
    later = unique("later")
    manifest = cluster(unique("both"), valid_key, namespaces=[later], namespaceSelector={})
    result = kubectl(control_plane, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert result.returncode == 0, result.stderr
    assert f"Warning: namespace {later} does not exist yet" in result.stderr


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # The CRD's CEL rule answers first, worded as ours.
        (
            {"serviceAccounts": ["*", "default"]},
            "'*' selects every ServiceAccount and cannot be listed with names",
        ),
        ({"serviceAccounts": ["a", "a"]}, "Duplicate value"),  # the CRD's list-type set says it first
        (
            {"registries": [{"accountId": "12345", "region": "eu-west-1"}]},
            "accountId",
        ),
        (
            {"registries": [{"accountId": f"{i:012d}", "region": "eu-west-1"} for i in range(21)]},
            "must have at most 20 items",
        ),
    ],
    ids=["star-with-names", "repeated-name", "short-account", "too-many"],
)
def test_bad_reach_fields_are_refused_with_the_field_named(kube_api, webhooks, valid_key, spec, expected):
    message = denial(
        lambda: create(kube_api, cluster(unique("bad"), valid_key, namespaces=["default"], **spec))
    )
    assert expected in message
