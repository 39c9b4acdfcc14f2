"""Our CRDs accept every object the seed's accept, and reject what is plainly invalid, clearly.

Each seed case is created for real in the API server: first under the seed operator's CRDs (read
from ../shared/compat/seed-crds), then under ours. The AWS identity fields (secretRef,
serviceAccountRef, roleArn ...) are checked with server-side dry-run creates (`dryRun=All`): the
API server validates the schema and its CEL rules exactly as for a real create, and stores nothing.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from secrets_app.services.identity import access

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


PLURALS = {
    "AWSECRImagePullSecret": "awsecrimagepullsecrets",
    "ClusterAWSECRImagePullSecret": "clusterawsecrimagepullsecrets",
    "AWSECRCredential": "awsecrcredentials",
}


def create(api, kind: str, version: str, spec: dict, namespace: str, dry_run: bool = False) -> dict:
    plural = PLURALS[kind]
    body = {"apiVersion": f"{GROUP}/{version}", "kind": kind, "metadata": {"name": unique("c")}, "spec": spec}
    custom = client.CustomObjectsApi(api)
    extra = {"dry_run": "All"} if dry_run else {}
    if kind == "AWSECRImagePullSecret":
        return custom.create_namespaced_custom_object(GROUP, version, namespace, plural, body, **extra)
    return custom.create_cluster_custom_object(GROUP, version, plural, body, **extra)


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
        wide = {c.name: c.json_path for c in version.additional_printer_columns if c.priority == 1}
        assert wide["Identity"] == ".status.identity.kind"
        assert wide["Role"] == ".spec.awsAccess.roleArn"


# --- AWS identities: secretRef, serviceAccountRef, the operator's own, roleArn ----------------------

REGION = {"region": "eu-west-1"}
INLINE = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "c2VjcmV0", **REGION}
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"
KINDS = ["AWSECRImagePullSecret", "ClusterAWSECRImagePullSecret"]


def identity_spec(kind: str, aws_access: dict) -> dict:
    spec = {"awsAccess": aws_access, "secretName": "ecr-pull"}
    if kind == "ClusterAWSECRImagePullSecret":
        spec["namespaces"] = ["team-a"]
    return spec


def ref(kind: str, namespace: str, **fields) -> dict:
    """A reference with a namespace: the resource's own for the namespaced kind, any for the cluster kind."""
    return {"namespace": namespace if kind == "AWSECRImagePullSecret" else "team-a", **fields}


def accepted_modes(kind: str, namespace: str) -> dict[str, dict]:
    modes = {
        "inline keys assuming a role": {
            **INLINE,
            "roleArn": ROLE,
            "externalId": "team-a-7",
            "roleSessionName": "ecrcontrol@team-a",
        },
        "secretRef with default keys": {**REGION, "secretRef": ref(kind, namespace, name="aws-creds")},
        "secretRef with its own keys, assuming a role": {
            **REGION,
            "secretRef": ref(
                kind,
                namespace,
                name="aws-creds",
                accessKeyIdKey="id",
                secretAccessKeyKey="secret.key",
                sessionTokenKey="session_token",
            ),
            "roleArn": "arn:aws-us-gov:iam::123456789012:role/path/to/ecr-puller",
            "externalId": "urn:team-a/7",
        },
        "serviceAccountRef with roleArn": {
            **REGION,
            "serviceAccountRef": ref(kind, namespace, name="puller", audience="sts.amazonaws.com"),
            "roleArn": ROLE,
            "roleSessionName": "puller",
        },
        "the operator's own identity": dict(REGION),
        "the operator's own identity assuming a role": {**REGION, "roleArn": ROLE, "externalId": "xy"},
    }
    if kind == "AWSECRImagePullSecret":  # a namespace is optional: it defaults to the resource's own
        modes["secretRef without a namespace"] = {**REGION, "secretRef": {"name": "aws-creds"}}
        modes["serviceAccountRef without a namespace"] = {
            **REGION,
            "serviceAccountRef": {"name": "puller"},
            "roleArn": ROLE,
        }
    return modes


@pytest.mark.parametrize("kind", KINDS)
def test_every_identity_mode_is_accepted_as_written(kube_api, our_crds, namespace, kind):
    for mode, aws_access in accepted_modes(kind, namespace).items():
        try:
            created = create(
                kube_api, kind, "v1alpha2", identity_spec(kind, aws_access), namespace, dry_run=True
            )
        except ApiException as exc:
            pytest.fail(f"{kind} refused {mode!r}: {exc.body}")
        # Nothing pruned: every field reaches the webhook and the operator as the user wrote it.
        assert created["spec"]["awsAccess"] == aws_access, mode


def test_a_namespaced_reference_to_another_namespace_reaches_the_webhook(kube_api, our_crds, namespace):
    """The schema keeps secretRef.namespace of an AWSECRImagePullSecret (not pruned), so that the
    validating webhook can deny another namespace with a reason; the CRD cannot: CEL does not see
    metadata.namespace."""
    aws_access = {**REGION, "secretRef": {"name": "aws-creds", "namespace": "someone-else"}}
    created = create(
        kube_api,
        "AWSECRImagePullSecret",
        "v1alpha2",
        identity_spec("AWSECRImagePullSecret", aws_access),
        namespace,
        dry_run=True,
    )
    assert created["spec"]["awsAccess"]["secretRef"]["namespace"] == "someone-else"


@pytest.mark.parametrize("kind", KINDS)
def test_status_identity_is_kept(kube_api, our_crds, namespace, kind):
    custom = client.CustomObjectsApi(kube_api)
    plural = PLURALS[kind]
    created = create(kube_api, kind, "v1alpha2", identity_spec(kind, dict(INLINE)), namespace)
    name = created["metadata"]["name"]
    identity = {"kind": "secret", "roleArn": ROLE, "accessKeyIdSuffix": "MPLE"}
    patch = {"status": {"identity": identity}}
    try:
        if kind == "AWSECRImagePullSecret":
            patched = custom.patch_namespaced_custom_object_status(
                GROUP, "v1alpha2", namespace, plural, name, patch
            )
        else:
            patched = custom.patch_cluster_custom_object_status(GROUP, "v1alpha2", plural, name, patch)
        assert patched["status"]["identity"] == identity
    finally:
        if kind == "AWSECRImagePullSecret":
            custom.delete_namespaced_custom_object(GROUP, "v1alpha2", namespace, plural, name)
        else:
            custom.delete_cluster_custom_object(GROUP, "v1alpha2", plural, name)


SA = {"name": "puller", "namespace": "team-a"}
SECRET_REF = {"name": "aws-creds", "namespace": "team-a"}
SEVERAL = (
    "sets more than one base identity: keep only one of accessKeyId/secretAccessKey, secretRef and "
    "serviceAccountRef"
)
REFUSED = [
    # (case, kinds, awsAccess, where the API server reports it, the message)
    ("inline keys and secretRef", KINDS, {**INLINE, "secretRef": SECRET_REF}, "spec.awsAccess", SEVERAL),
    (
        "secretRef and serviceAccountRef",
        KINDS,
        {**REGION, "secretRef": SECRET_REF, "serviceAccountRef": SA, "roleArn": ROLE},
        "spec.awsAccess",
        SEVERAL,
    ),
    (
        "half of the inline keys",
        KINDS,
        {**REGION, "accessKeyId": "AKIAIOSFODNN7EXAMPLE"},
        "spec.awsAccess",
        "accessKeyId and secretAccessKey go together: set both, or remove both",
    ),
    (
        "serviceAccountRef without roleArn",
        KINDS,
        {**REGION, "serviceAccountRef": SA},
        "spec.awsAccess.roleArn: Required value",
        "serviceAccountRef needs roleArn, the role its web identity assumes: set roleArn",
    ),
    (
        "externalId without roleArn",
        KINDS,
        {**INLINE, "externalId": "team-a-7"},
        "spec.awsAccess.externalId: Forbidden",
        "externalId is used only to assume a role: set roleArn, or remove externalId",
    ),
    (
        "roleSessionName without roleArn",
        KINDS,
        {**INLINE, "roleSessionName": "puller"},
        "spec.awsAccess.roleSessionName: Forbidden",
        "roleSessionName is used only to assume a role: set roleArn, or remove roleSessionName",
    ),
    (
        "externalId with serviceAccountRef",
        KINDS,
        {**REGION, "serviceAccountRef": SA, "roleArn": ROLE, "externalId": "team-a-7"},
        "spec.awsAccess.externalId: Forbidden",
        "externalId cannot be used with serviceAccountRef",
    ),
    (
        "a cluster secretRef without a namespace",
        ["ClusterAWSECRImagePullSecret"],
        {**REGION, "secretRef": {"name": "aws-creds"}},
        "spec.awsAccess.secretRef.namespace: Required value",
        "a ClusterAWSECRImagePullSecret must say which namespace the Secret is in: set secretRef.namespace",
    ),
    (
        "a cluster serviceAccountRef without a namespace",
        ["ClusterAWSECRImagePullSecret"],
        {**REGION, "serviceAccountRef": {"name": "puller"}, "roleArn": ROLE},
        "spec.awsAccess.serviceAccountRef.namespace: Required value",
        "a ClusterAWSECRImagePullSecret must say which namespace the ServiceAccount is in",
    ),
    (
        "a role ARN that is not one",
        KINDS,
        {**INLINE, "roleArn": "arn:aws:iam::123:user/me"},
        'spec.awsAccess.roleArn: Invalid value: "arn:aws:iam::123:user/me"',
        "must be an IAM role ARN such as arn:aws:iam::123456789012:role/ecr-puller",
    ),
    (
        "a session name with a space",
        KINDS,
        {**INLINE, "roleArn": ROLE, "roleSessionName": "my session"},
        "spec.awsAccess.roleSessionName",
        "must be 2 to 64 characters of letters, digits and +=,.@-_",
    ),
    (
        "a one-character external ID",
        KINDS,
        {**INLINE, "roleArn": ROLE, "externalId": "x"},
        "spec.awsAccess.externalId",
        "must be 2 to 1224 characters",
    ),
    (
        "a Secret name that is not one",
        KINDS,
        {**REGION, "secretRef": {"name": "AWS Creds", "namespace": "team-a"}},
        "spec.awsAccess.secretRef.name",
        "must be a valid Kubernetes name",
    ),
    (
        "a Secret key that is not one",
        KINDS,
        {**REGION, "secretRef": {**SECRET_REF, "accessKeyIdKey": "key id"}},
        "spec.awsAccess.secretRef.accessKeyIdKey",
        "should match",
    ),
    (
        "a reference without a name",
        KINDS,
        {**REGION, "secretRef": {"namespace": "team-a"}},
        "spec.awsAccess.secretRef.name: Required value",
        "",
    ),
]


@pytest.mark.parametrize(
    "kind, aws_access, where, message",
    [
        pytest.param(kind, aws_access, where, message, id=f"{kind}: {case}")
        for case, kinds, aws_access, where, message in REFUSED
        for kind in kinds
    ],
)
def test_each_identity_rule_refuses_with_a_message_that_says_what_to_change(
    kube_api, our_crds, namespace, kind, aws_access, where, message
):
    if kind == "AWSECRImagePullSecret":  # its references may leave the namespace out
        aws_access = copy.deepcopy(aws_access)
        for field in ("secretRef", "serviceAccountRef"):
            if isinstance(aws_access.get(field), dict) and "namespace" in aws_access[field]:
                aws_access[field]["namespace"] = namespace
    with pytest.raises(ApiException) as error:
        create(kube_api, kind, "v1alpha2", identity_spec(kind, aws_access), namespace, dry_run=True)
    assert error.value.status == 422
    found = json.loads(error.value.body)["message"]
    assert where in found and message in found, found


def awsaccess_schema(file: str) -> dict:
    crd = yaml.safe_load((CHART_CRDS / file).read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "awsAccess"
    ]


def cel_regex(rule: str) -> str:
    """The regex of a `self.matches('...')` rule, as CEL reads its string literal (two backslashes
    are one)."""
    return re.fullmatch(r"self\.matches\('(.*)'\)", rule).group(1).replace("\\\\", "\\")


@pytest.mark.parametrize(
    "file",
    [
        "aws.zakariaamine.com_awsecrimagepullsecrets.yaml",
        "aws.zakariaamine.com_clusterawsecrimagepullsecrets.yaml",
    ],
)
def test_the_crds_check_with_the_operators_own_patterns(file):
    """The CRDs and secrets_app/services/identity/access.py agree on what is valid: same regexes
    (the external ID's length bound is maxLength: RE2 allows repeat counts up to 1000 only)."""
    fields = awsaccess_schema(file)["properties"]

    def rule(field: str) -> str:
        return cel_regex(fields[field]["x-kubernetes-validations"][0]["rule"])

    assert rule("region") == access.REGION_PATTERN.pattern
    assert rule("roleArn") == access.ROLE_ARN_PATTERN.pattern
    assert rule("roleSessionName") == access.SESSION_NAME_PATTERN.pattern
    assert rule("externalId") == access.EXTERNAL_ID_PATTERN.pattern.replace("{2,1224}", "{2,}")
    assert fields["externalId"]["maxLength"] == 1224
    for ref in ("secretRef", "serviceAccountRef"):
        name = fields[ref]["properties"]["name"]
        assert cel_regex(name["x-kubernetes-validations"][0]["rule"]) == access.NAME_PATTERN.pattern
    for key in ("accessKeyIdKey", "secretAccessKeyKey", "sessionTokenKey"):
        assert fields["secretRef"]["properties"][key]["pattern"] == access.SECRET_KEY_PATTERN.pattern.replace(
            "{1,253}", "+"
        )
    assert fields["serviceAccountRef"]["properties"]["audience"]["maxLength"] == access.AUDIENCE_MAX


@pytest.mark.parametrize(
    "file",
    [
        "aws.zakariaamine.com_awsecrimagepullsecrets.yaml",
        "aws.zakariaamine.com_clusterawsecrimagepullsecrets.yaml",
    ],
)
def test_every_identity_field_is_described_for_kubectl_explain(file):
    def undescribed(node: dict, path: str):
        if not node.get("description"):
            yield path
        for name, child in (node.get("properties") or {}).items():
            yield from undescribed(child, f"{path}.{name}")

    crd = yaml.safe_load((CHART_CRDS / file).read_text())
    status = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    missing = [
        *undescribed(awsaccess_schema(file), "spec.awsAccess"),
        *undescribed(status["identity"], "status.identity"),
    ]
    assert not missing
