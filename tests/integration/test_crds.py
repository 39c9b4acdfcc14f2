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
        assert wide["Service Accounts"] == ".spec.serviceAccounts"
        if short == "caeps":
            assert wide["Namespaces"] == ".spec.namespaces"
            assert wide["Selector"] == ".spec.namespaceSelector"
        else:
            assert "Selector" not in wide


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


def crd_schema(file: str) -> dict:
    crd = yaml.safe_load((CHART_CRDS / file).read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def awsaccess_schema(file: str) -> dict:
    return crd_schema(file)["properties"]["spec"]["properties"]["awsAccess"]


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


@pytest.mark.parametrize(
    "file",
    [
        "aws.zakariaamine.com_awsecrimagepullsecrets.yaml",
        "aws.zakariaamine.com_clusterawsecrimagepullsecrets.yaml",
    ],
)
def test_every_reach_field_is_described_for_kubectl_explain(file):
    """Each field of issue 21, down to the items of its lists, has a description (kubectl explain);
    the selector's says how to select every namespace and how to exclude some."""

    def undescribed(node: dict, path: str):
        if not node.get("description"):
            yield path
        for name, child in (node.get("properties") or {}).items():
            yield from undescribed(child, f"{path}.{name}")
        if (node.get("items") or {}).get("properties"):
            yield from undescribed(node["items"], f"{path}[]")

    schema = crd_schema(file)
    spec, status = schema["properties"]["spec"]["properties"], schema["properties"]["status"]["properties"]
    fields = ["serviceAccounts", "registries"] + (["namespaceSelector"] if "cluster" in file else [])
    missing = [path for field in fields for path in undescribed(spec[field], f"spec.{field}")]
    missing += undescribed(status["namespaces"]["items"]["properties"]["serviceAccounts"], "serviceAccounts")
    assert not missing
    if "cluster" in file:
        selector = spec["namespaceSelector"]["description"]
        assert "`{}` (empty) selects every namespace" in selector
        assert "NotIn on the label every namespace has, kubernetes.io/metadata.name" in selector
    else:
        assert "namespaceSelector" not in spec


@pytest.mark.parametrize(
    "file",
    [
        "aws.zakariaamine.com_awsecrimagepullsecrets.yaml",
        "aws.zakariaamine.com_clusterawsecrimagepullsecrets.yaml",
    ],
)
def test_a_registry_region_is_checked_as_awsaccess_region_is(file):
    spec = crd_schema(file)["properties"]["spec"]["properties"]
    region = spec["registries"]["items"]["properties"]["region"]
    assert (
        region["x-kubernetes-validations"]
        == spec["awsAccess"]["properties"]["region"]["x-kubernetes-validations"]
    )
    assert region["maxLength"] == spec["awsAccess"]["properties"]["region"]["maxLength"]
    service_account = spec["serviceAccounts"]["items"]["x-kubernetes-validations"][0]["rule"]
    assert service_account.startswith("self == '*' || ")
    assert cel_regex(service_account.removeprefix("self == '*' || ")) == access.NAME_PATTERN.pattern


# --- Reach (issue 21): namespaceSelector, serviceAccounts, registries -------------------------------

CLUSTER = "ClusterAWSECRImagePullSecret"
NAME_EXCLUSION = {
    "key": "kubernetes.io/metadata.name",
    "operator": "NotIn",
    "values": ["kube-system", "kube-public"],
}
TWO_REGISTRIES = [
    {"accountId": "123456789012", "region": "eu-west-1"},
    {"accountId": "210987654321", "region": "us-gov-west-1"},
]


def reach_spec(kind: str, **fields) -> dict:
    """A spec with the operator's own identity and the given fields; a cluster resource without
    namespaces or a selector gets a namespace list, so that only the field under test varies."""
    spec = {"awsAccess": dict(REGION), "secretName": "ecr-pull", **fields}
    if kind == CLUSTER and "namespaces" not in spec and "namespaceSelector" not in spec:
        spec["namespaces"] = ["team-a"]
    return spec


REACH_ACCEPTED = [
    # (case, kinds, fields)
    (
        "a selector by labels",
        [CLUSTER],
        {"namespaceSelector": {"matchLabels": {"team": "a", "example.com/tier": ""}}},
    ),
    (
        "a selector with every operator",
        [CLUSTER],
        {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "team", "operator": "In", "values": ["a", "b"]},
                    NAME_EXCLUSION,
                    {"key": "ecr", "operator": "Exists"},
                    {"key": "frozen", "operator": "DoesNotExist"},
                    {"key": "legacy", "operator": "DoesNotExist", "values": []},
                ]
            }
        },
    ),
    ("the empty selector: every namespace", [CLUSTER], {"namespaceSelector": {}}),
    (
        "a selector with a list",
        [CLUSTER],
        {"namespaces": ["team-a"], "namespaceSelector": {"matchLabels": {"team": "b"}}},
    ),
    ("ServiceAccounts by name", KINDS, {"serviceAccounts": ["default", "builder", "ci.runner"]}),
    ("every ServiceAccount", KINDS, {"serviceAccounts": ["*"]}),
    ("100 ServiceAccounts", KINDS, {"serviceAccounts": [f"sa-{i}" for i in range(100)]}),
    ("two registries", KINDS, {"registries": TWO_REGISTRIES}),
    (
        "one account in two regions",
        KINDS,
        {"registries": [{**TWO_REGISTRIES[0], "region": r} for r in ("eu-west-1", "us-east-1")]},
    ),
    (
        "20 registries",
        KINDS,
        {"registries": [{"accountId": f"1234567890{i:02}", "region": "eu-west-1"} for i in range(20)]},
    ),
    (
        "all three",
        KINDS,
        {"serviceAccounts": ["default"], "registries": TWO_REGISTRIES},
    ),
]


@pytest.mark.parametrize(
    "kind, fields",
    [
        pytest.param(kind, fields, id=f"{kind}: {case}")
        for case, kinds, fields in REACH_ACCEPTED
        for kind in kinds
    ],
)
def test_each_reach_field_is_accepted_as_written(kube_api, our_crds, namespace, kind, fields):
    spec = reach_spec(kind, **copy.deepcopy(fields))
    try:
        created = create(kube_api, kind, "v1alpha2", spec, namespace, dry_run=True)
    except ApiException as exc:
        pytest.fail(f"{kind} refused {fields}: {exc.body}")
    # Nothing pruned and nothing defaulted: the operator and the webhook see what the user wrote.
    assert created["spec"] == spec


def test_a_seed_style_resource_gets_none_of_the_new_fields(kube_api, our_crds, namespace):
    """No default is added for the new fields: a resource written for the seed operator reads back
    exactly as written, so it behaves exactly as it did."""
    for kind in KINDS:
        spec = {**copy.deepcopy(SPEC), **(CLUSTER_EXTRA if kind == CLUSTER else {})}
        created = create(kube_api, kind, "v1alpha2", spec, namespace, dry_run=True)
        assert created["spec"] == spec, kind


def test_a_cluster_resource_with_neither_namespaces_nor_a_selector_is_left_to_the_webhook(
    kube_api, our_crds, namespace
):
    """The seed's schema accepts a ClusterAWSECRImagePullSecret without namespaces, so ours must too
    (a CEL rule "namespaces or namespaceSelector" would refuse seed-valid objects): the validating
    webhook refuses it with its reason, and the operator marks it not Ready."""
    created = create(
        kube_api, CLUSTER, "v1alpha2", {"awsAccess": dict(REGION), "secretName": "x"}, namespace, dry_run=True
    )
    assert "namespaces" not in created["spec"] and "namespaceSelector" not in created["spec"]
    with pytest.raises(ApiException) as error:  # an empty list stays refused, as in the seed
        create(kube_api, CLUSTER, "v1alpha2", {"secretName": "x", "namespaces": []}, namespace, dry_run=True)
    assert (
        "spec.namespaces: Invalid value: 0: spec.namespaces in body should have at least 1 items"
        in (json.loads(error.value.body)["message"])
    )


def test_the_namespaced_kind_has_no_selector(kube_api, our_crds, namespace):
    """An AWSECRImagePullSecret manages its own namespace only: a namespaceSelector is an unknown
    field, pruned as the API server prunes any (kubectl's strict validation names it)."""
    spec = reach_spec("AWSECRImagePullSecret", namespaceSelector={})
    created = create(kube_api, "AWSECRImagePullSecret", "v1alpha2", spec, namespace, dry_run=True)
    assert "namespaceSelector" not in created["spec"]


STAR_WITH_NAMES = "'*' selects every ServiceAccount and cannot be listed with names: use [\"*\"] alone"
VALUES_REQUIRED = (
    "operators In and NotIn compare with values: list at least one, or use Exists or DoesNotExist"
)
VALUES_FORBIDDEN = "operators Exists and DoesNotExist take no values: remove values, or use In or NotIn"
LABEL_VALUE = "must be a label value: at most 63 letters, digits, '-', '_' and '.'"
REACH_REFUSED = [
    # (case, kinds, fields, where the API server reports it, the message)
    (
        "an operator that is not one",
        [CLUSTER],
        {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Equals", "values": ["a"]}]}},
        'spec.namespaceSelector.matchExpressions[0].operator: Unsupported value: "Equals"',
        'supported values: "In", "NotIn", "Exists", "DoesNotExist"',
    ),
    (
        "In without values",
        [CLUSTER],
        {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In"}]}},
        "spec.namespaceSelector.matchExpressions[0].values: Required value",
        VALUES_REQUIRED,
    ),
    (
        "NotIn with an empty list",
        [CLUSTER],
        {"namespaceSelector": {"matchExpressions": [{**NAME_EXCLUSION, "values": []}]}},
        "spec.namespaceSelector.matchExpressions[0].values: Required value",
        VALUES_REQUIRED,
    ),
    (
        "Exists with values",
        [CLUSTER],
        {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists", "values": ["a"]}]}},
        "spec.namespaceSelector.matchExpressions[0].values: Forbidden",
        VALUES_FORBIDDEN,
    ),
    (
        "an expression without a key",
        [CLUSTER],
        {"namespaceSelector": {"matchExpressions": [{"operator": "Exists"}]}},
        "spec.namespaceSelector.matchExpressions[0].key: Required value",
        "",
    ),
    (
        "an expression key that is not a label key",
        [CLUSTER],
        {"namespaceSelector": {"matchExpressions": [{"key": "-team", "operator": "Exists"}]}},
        'spec.namespaceSelector.matchExpressions[0].key: Invalid value: "-team"',
        "must be a label key: an optional DNS prefix and '/', then at most 63 letters",
    ),
    (
        "a label key that is not one",
        [CLUSTER],
        {"namespaceSelector": {"matchLabels": {"team": "a", "my team": "a"}}},
        "spec.namespaceSelector.matchLabels",
        'has the key "my team", which is not a label key',
    ),
    (
        "a label value that is not one",
        [CLUSTER],
        {"namespaceSelector": {"matchLabels": {"team": "a b"}}},
        'spec.namespaceSelector.matchLabels[team]: Invalid value: "a b"',
        LABEL_VALUE,
    ),
    (
        "an expression value that is not a label value",
        [CLUSTER],
        {"namespaceSelector": {"matchExpressions": [{**NAME_EXCLUSION, "values": ["kube-system", "a b"]}]}},
        'spec.namespaceSelector.matchExpressions[0].values[1]: Invalid value: "a b"',
        LABEL_VALUE,
    ),
    (
        "'*' with names",
        KINDS,
        {"serviceAccounts": ["*", "default"]},
        "spec.serviceAccounts: Invalid value",
        STAR_WITH_NAMES,
    ),
    (
        "a ServiceAccount twice",
        KINDS,
        {"serviceAccounts": ["default", "builder", "default"]},
        'spec.serviceAccounts[2]: Duplicate value: "default"',
        "",
    ),
    (
        "a ServiceAccount name that is not one",
        KINDS,
        {"serviceAccounts": ["Builder"]},
        'spec.serviceAccounts[0]: Invalid value: "Builder"',
        "must be a ServiceAccount name",
    ),
    (
        "101 ServiceAccounts",
        KINDS,
        {"serviceAccounts": [f"sa-{i}" for i in range(101)]},
        "spec.serviceAccounts: Too many: 101",
        "must have at most 100 items",
    ),
    (
        "21 registries",
        KINDS,
        {"registries": [{"accountId": f"1234567890{i:02}", "region": "eu-west-1"} for i in range(21)]},
        "spec.registries: Too many: 21",
        "must have at most 20 items",
    ),
    (
        "a registry twice",
        KINDS,
        {"registries": [*TWO_REGISTRIES, dict(TWO_REGISTRIES[0])]},
        'spec.registries[2]: Duplicate value: {"accountId":"123456789012","region":"eu-west-1"}',
        "",
    ),
    (
        "an account ID that is not one",
        KINDS,
        {"registries": [{"accountId": "12345678901", "region": "eu-west-1"}]},
        'spec.registries[0].accountId: Invalid value: "12345678901"',
        "is not an AWS account ID: use its 12 digits, such as 123456789012",
    ),
    (
        "a region that is not one",
        KINDS,
        {"registries": [TWO_REGISTRIES[0], {"accountId": "123456789012", "region": "Ireland"}]},
        'spec.registries[1].region: Invalid value: "Ireland"',
        "must be an AWS region name such as eu-west-1",
    ),
    (
        "a registry without a region",
        KINDS,
        {"registries": [{"accountId": "123456789012"}]},
        "spec.registries[0].region: Required value",
        "",
    ),
]


@pytest.mark.parametrize(
    "kind, fields, where, message",
    [
        pytest.param(kind, fields, where, message, id=f"{kind}: {case}")
        for case, kinds, fields, where, message in REACH_REFUSED
        for kind in kinds
    ],
)
def test_each_reach_rule_refuses_with_a_message_that_says_what_to_change(
    kube_api, our_crds, namespace, kind, fields, where, message
):
    with pytest.raises(ApiException) as error:
        create(kube_api, kind, "v1alpha2", reach_spec(kind, **copy.deepcopy(fields)), namespace, dry_run=True)
    assert error.value.status == 422
    found = json.loads(error.value.body)["message"]
    assert where in found and message in found, found


def test_the_largest_valid_resource_passes_within_the_cel_cost_budget(kube_api, our_crds, namespace):
    """Every bound at its maximum (each string at its longest): the API server's runtime CEL cost
    limit is not reached, so no valid resource is refused for its size."""
    prefix = "p" * 249
    spec = reach_spec(
        CLUSTER,
        namespaceSelector={
            "matchLabels": {f"{prefix}{i:03}/{'n' * 63}": "v" * 63 for i in range(64)},
            "matchExpressions": [
                {
                    "key": f"{prefix}{i:03}/{'k' * 63}",
                    "operator": "NotIn",
                    "values": [f"{j:03}{'v' * 60}" for j in range(256)],
                }
                for i in range(64)
            ],
        },
        serviceAccounts=[f"{i:03}{'s' * 250}" for i in range(100)],
        registries=[{"accountId": f"1234567890{i:02}", "region": "ap-southeast-1"} for i in range(20)],
    )
    try:
        create(kube_api, CLUSTER, "v1alpha2", spec, namespace, dry_run=True)
    except ApiException as exc:
        pytest.fail(f"refused: {json.loads(exc.body)['message'][:2000]}")


def test_status_lists_the_patched_service_accounts_per_namespace(kube_api, our_crds, namespace):
    custom = client.CustomObjectsApi(kube_api)
    plural = PLURALS[CLUSTER]
    created = create(kube_api, CLUSTER, "v1alpha2", reach_spec(CLUSTER, serviceAccounts=["*"]), namespace)
    name = created["metadata"]["name"]
    result = {
        "namespace": "team-a",
        "ready": True,
        "reason": "SecretUpdated",
        "serviceAccounts": ["builder", "default"],
    }
    try:
        patched = custom.patch_cluster_custom_object_status(
            GROUP, "v1alpha2", plural, name, {"status": {"namespaces": [result]}}
        )
        assert patched["status"]["namespaces"] == [result]
    finally:
        custom.delete_cluster_custom_object(GROUP, "v1alpha2", plural, name)


def wide_table(api, path: str) -> tuple[list[str], list[dict]]:
    """`kubectl get -o wide`, as the API server renders it: the column names and the rows' cells."""
    response = api.call_api(
        path,
        "GET",
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        _preload_content=False,
        auth_settings=["BearerToken"],
    )
    table = json.loads(response.data)
    names = [c["name"] for c in table["columnDefinitions"]]
    return names, [dict(zip(names, row["cells"], strict=True)) for row in table["rows"]]


def test_wide_output_shows_the_selector_beside_the_namespaces_and_the_service_accounts(
    kube_api, our_crds, namespace
):
    custom = client.CustomObjectsApi(kube_api)
    selector = {"matchExpressions": [NAME_EXCLUSION]}
    spec = reach_spec(CLUSTER, namespaces=["team-a"], namespaceSelector=selector, serviceAccounts=["default"])
    name = create(kube_api, CLUSTER, "v1alpha2", spec, namespace)["metadata"]["name"]
    own = create(
        kube_api,
        "AWSECRImagePullSecret",
        "v1alpha2",
        reach_spec("AWSECRImagePullSecret", serviceAccounts=["*"]),
        namespace,
    )
    try:
        names, rows = wide_table(kube_api, f"/apis/{GROUP}/v1alpha2/clusterawsecrimagepullsecrets")
        assert names.index("Selector") == names.index("Namespaces") + 1
        (row,) = [r for r in rows if r["Name"] == name]
        assert json.loads(row["Namespaces"]) == ["team-a"]
        assert json.loads(row["Selector"]) == selector
        assert json.loads(row["Service Accounts"]) == ["default"]
        _, rows = wide_table(
            kube_api, f"/apis/{GROUP}/v1alpha2/namespaces/{namespace}/awsecrimagepullsecrets"
        )
        (row,) = [r for r in rows if r["Name"] == own["metadata"]["name"]]
        assert json.loads(row["Service Accounts"]) == ["*"]
    finally:
        custom.delete_cluster_custom_object(GROUP, "v1alpha2", PLURALS[CLUSTER], name)
