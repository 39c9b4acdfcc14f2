"""Our CRDs accept every object the seed's accept, and reject what is plainly invalid, clearly.

Each case is created for real in the API server: first under the seed operator's CRDs (read from
../shared/compat/seed-crds), then under ours.
"""

from __future__ import annotations

import copy
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from .conftest import CHART_CRDS, apply_crds, seed_crds_dir
from .helpers import GROUP, unique

SPEC = {
    "awsAccess": {"accessKeyId": "QUtJQUVYQU1QTEU=", "secretAccessKey": "c2VjcmV0", "region": "eu-west-1"},
    "secretName": "ecr-pull",
}
SEED_VALID = {
    "minimal": {},
    "no-credentials": {"secretName": "x"},
    "plain-keys": {**SPEC, "awsAccess": {**SPEC["awsAccess"], "accessKeyId": "AKIAEXAMPLE"}},
    "long-secret-name": {**SPEC, "secretName": "a" * 253},
    "gov-region": {**SPEC, "awsAccess": {**SPEC["awsAccess"], "region": "us-gov-west-1"}},
    "with-status": SPEC,
}
CLUSTER_EXTRA = {"namespaces": ["default", "kube-system"]}


def create(api, kind: str, version: str, spec: dict, namespace: str) -> dict:
    plural = {
        "AWSECRImagePullSecret": "awsecrimagepullsecrets",
        "ClusterAWSECRImagePullSecret": "clusterawsecrimagepullsecrets",
        "AWSECRCredential": "awsecrcredentials",
    }[kind]
    body = {"apiVersion": f"{GROUP}/{version}", "kind": kind, "metadata": {"name": unique("c")}, "spec": spec}
    custom = client.CustomObjectsApi(api)
    if kind == "AWSECRImagePullSecret":
        return custom.create_namespaced_custom_object(GROUP, version, namespace, plural, body)
    return custom.create_cluster_custom_object(GROUP, version, plural, body)


@pytest.fixture(scope="module")
def both_crd_sets(kube_api):
    """Yield a function that switches the API server between the seed's CRDs and ours."""

    def use(which: str) -> None:
        apply_crds(kube_api, seed_crds_dir() if which == "seed" else CHART_CRDS)

    yield use
    use("ours")


CASES = [
    (kind, version, case, spec)
    for kind, version in [("AWSECRImagePullSecret", "v1alpha2"), ("ClusterAWSECRImagePullSecret", "v1alpha2")]
    for case, spec in SEED_VALID.items()
] + [("AWSECRCredential", "v1alpha1", "legacy", SPEC)]


def test_every_seed_valid_object_is_valid_under_our_crds(kube_api, both_crd_sets, namespace):
    for which in ("seed", "ours"):
        both_crd_sets(which)
        for kind, version, case, spec in CASES:
            spec = copy.deepcopy(spec)
            if kind != "AWSECRImagePullSecret" and case not in ("minimal", "no-credentials"):
                spec.update(CLUSTER_EXTRA)
            try:
                create(kube_api, kind, version, spec, namespace)
            except ApiException as exc:
                pytest.fail(f"{which} CRDs refused {kind} case {case!r}: {exc.body}")


@pytest.mark.parametrize(
    "kind, spec, message",
    [
        (
            "AWSECRImagePullSecret",
            {**SPEC, "awsAccess": {**SPEC["awsAccess"], "region": "Ireland"}},
            'spec.awsAccess.region: Invalid value: "Ireland": must be an AWS region name such as eu-west-1',
        ),
        ("ClusterAWSECRImagePullSecret", {**SPEC, "namespaces": ["ok", ""]}, "spec.namespaces[1]"),
        ("ClusterAWSECRImagePullSecret", {**SPEC, "namespaces": ["Not_A_Namespace"]}, "spec.namespaces[0]"),
        ("AWSECRImagePullSecret", {**SPEC, "secretName": "Bad Name"}, "must be a valid Secret name"),
    ],
)
def test_plainly_invalid_values_are_rejected_with_a_clear_message(
    kube_api, our_crds, namespace, kind, spec, message
):
    with pytest.raises(ApiException) as error:
        create(kube_api, kind, "v1alpha2", spec, namespace)
    assert error.value.status == 422
    assert message in json.loads(error.value.body)["message"]


def test_printer_columns_and_short_names(kube_api, our_crds):
    extensions = client.ApiextensionsV1Api(kube_api)
    for name, short in [("awsecrimagepullsecrets", "aeps"), ("clusterawsecrimagepullsecrets", "caeps")]:
        crd = extensions.read_custom_resource_definition(f"{name}.{GROUP}")
        assert crd.spec.names.short_names == [short]
        version = crd.spec.versions[0]
        assert version.subresources.status is not None
        columns = [c.name for c in version.additional_printer_columns if not c.priority]
        assert columns == ["Ready", "Secret", "Expires", "Age"]
