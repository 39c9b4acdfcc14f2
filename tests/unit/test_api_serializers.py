"""The REST API's serializers: the representation, and every kind of bad input refused per field
before anything is sent to the cluster."""

from __future__ import annotations

import pytest

from secrets_app.api.errors import nested
from secrets_app.api.serializers import (
    MSG_KEY_TO_SWITCH,
    ClusterPullSecretSerializer,
    NamespacedPullSecretSerializer,
)
from secrets_app.models import Cluster, ClusterPullSecret, ManagedSecret
from secrets_app.services import specs
from secrets_app.services.identity import access

from .conftest import CANARY, namespaced_body, namespaced_row

pytestmark = pytest.mark.django_db


def errors_of(serializer_class, data, instance=None, partial=False) -> dict:
    serializer = serializer_class(instance, data=data, partial=partial)
    assert not serializer.is_valid()
    return serializer.errors


@pytest.fixture(autouse=True)
def one_cluster():
    Cluster.default()


def test_a_valid_body_gives_the_row_fields_and_the_key_apart():
    serializer = NamespacedPullSecretSerializer(data=namespaced_body())
    assert serializer.is_valid(), serializer.errors
    data = dict(serializer.validated_data)
    assert data.pop("cluster").name == "local"
    assert data == {
        "name": "pull",
        "namespace": "team-a",
        "identity_kind": "inline",
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": CANARY,
        "region": "eu-west-1",
        "role_arn": "",
        "credentials_ref": "",
        "aws_access": {"accessKeyId": "AKIAEXAMPLE", "region": "eu-west-1"},
        "secret_name": "ecr-pull",
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda b: b["spec"]["awsAccess"].update(region="Europe"),
            {
                "spec": {
                    "awsAccess": {
                        "region": ["'Europe' is not an AWS region name: use one such as eu-west-1."]
                    }
                }
            },
        ),
        (
            lambda b: b["spec"].update(secretName="Ecr_Pull"),
            {"spec": {"secretName": [specs.MSG_NOT_SUBDOMAIN.format(value="Ecr_Pull")]}},
        ),
        (
            lambda b: b["metadata"].update(namespace="team.a"),
            {"metadata": {"namespace": [specs.MSG_NOT_LABEL.format(value="team.a")]}},
        ),
        (lambda b: b["metadata"].update(name=42), {"metadata": {"name": ["must be a string."]}}),
        (lambda b: b["spec"].update(secretName=True), {"spec": {"secretName": ["must be a string."]}}),
        (
            lambda b: b["spec"].update(secretName="x" * 300),
            {"spec": {"secretName": ["Ensure this field has no more than 253 characters."]}},
        ),
        (
            lambda b: b["spec"]["awsAccess"].pop("secretAccessKey"),
            {
                "spec": {
                    "awsAccess": {
                        "secretAccessKey": [
                            "required to create the resource: the secret access key of accessKeyId."
                        ]
                    }
                }
            },
        ),
        (
            lambda b: b["spec"].update(awsAccess="AKIA"),
            {
                "spec": {
                    "awsAccess": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}
                }
            },
        ),
        (
            lambda b: b["spec"].update(secretNmae="typo"),
            {
                "spec": {
                    "secretNmae": [
                        "unknown field: remove it (see the schema at /api/schema/ for the fields there are)."
                    ]
                }
            },
        ),
        (
            lambda b: b.update(labels={}),
            {
                "labels": [
                    "unknown field: remove it (see the schema at /api/schema/ for the fields there are)."
                ]
            },
        ),
        (lambda b: b.pop("spec"), {"spec": ["This field is required."]}),
    ],
)
def test_bad_input_is_refused_on_the_field_it_concerns(change, expected):
    body = namespaced_body()
    change(body)
    assert errors_of(NamespacedPullSecretSerializer, body) == expected


def test_every_problem_is_reported_at_once():
    body = namespaced_body(secretName="Bad_Name", extra=1)
    body["spec"]["awsAccess"]["region"] = "nowhere"
    errors = errors_of(NamespacedPullSecretSerializer, body)
    assert set(errors["spec"]) == {"secretName", "extra", "awsAccess"}


def test_no_error_message_echoes_the_secret_key():
    for key in ([CANARY], {"k": CANARY}, CANARY * 30):
        body = namespaced_body()
        body["spec"]["awsAccess"]["secretAccessKey"] = key
        assert CANARY not in str(errors_of(NamespacedPullSecretSerializer, body))


def test_namespaces_are_checked_one_by_one_and_repeats_dropped():
    body = namespaced_body(namespaces=["a", "B_", "a", "c"])
    body["metadata"] = {"name": "shared"}
    assert errors_of(ClusterPullSecretSerializer, body) == {
        "spec": {
            "namespaces": {
                1: [
                    "'B_' is not a valid namespace name: use at most 63 lower-case letters, "
                    "digits and '-', starting and ending with a letter or digit (e.g. team-a)."
                ]
            }
        }
    }
    body["spec"]["namespaces"] = ["a", "b", "a"]
    serializer = ClusterPullSecretSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["namespaces"] == ["a", "b"]
    body["spec"]["namespaces"] = []
    assert errors_of(ClusterPullSecretSerializer, body) == {
        "spec": {"namespaces": [specs.MSG_NAMESPACES_MISSING]}
    }


def test_a_partial_update_needs_only_what_changes():
    row = namespaced_row()
    serializer = NamespacedPullSecretSerializer(
        row, data={"spec": {"awsAccess": {"region": "us-east-1"}}}, partial=True
    )
    assert serializer.is_valid(), serializer.errors
    data = dict(serializer.validated_data)
    assert (data["region"], data["identity_kind"], data["access_key_id"], data["secret_access_key"]) == (
        "us-east-1",
        "inline",
        "AKIAEXAMPLE",
        "",
    )
    assert "secret_name" not in data and "name" not in data


def test_the_representation_has_metadata_spec_status_and_never_the_key():
    row = namespaced_row(ready=True, reason="SecretsUpdated", observed_generation=2)
    ManagedSecret.objects.create(
        cluster=row.cluster,
        namespace="team-a",
        name="ecr-pull",
        owner_kind="AWSECRImagePullSecret",
        owner_namespace="team-a",
        owner_name="pull",
        owner_uid="uid-a",
        state="synced",
    )
    data = NamespacedPullSecretSerializer(row).data
    assert set(data) == {"id", "apiVersion", "kind", "metadata", "spec", "status", "syncedAt"}
    assert data["spec"]["awsAccess"] == {"accessKeyId": "AKIAEXAMPLE", "region": "eu-west-1"}
    status = data["status"]
    assert (status["ready"], status["reason"], status["observedGeneration"]) == (True, "SecretsUpdated", 2)
    assert status["namespaces"][0]["namespace"] == "team-a" and status["namespaces"][0]["state"] == "synced"


def test_a_list_loads_every_rows_secrets_in_one_query(django_assert_num_queries):
    rows = [
        ClusterPullSecret.objects.create(
            cluster=Cluster.default(),
            name=f"c{i}",
            uid=f"u{i}",
            secret_name="s",
            access_key_id="A",
            region="eu-west-1",
            namespaces=["a", "b"],
        )
        for i in range(5)
    ]
    with django_assert_num_queries(1):
        data = ClusterPullSecretSerializer(rows, many=True).data
    assert [len(d["status"]["namespaces"]) for d in data] == [2] * 5


def test_writer_field_paths_become_nested_errors():
    assert nested(
        {
            "spec.secretName": ["taken"],
            "spec.awsAccess": ["refused"],
            "spec.awsAccess.region": ["not served"],
            "": ["whole"],
        }
    ) == {
        "spec": {
            "secretName": ["taken"],
            "awsAccess": {"non_field_errors": ["refused"], "region": ["not served"]},
        }
    }


# -- the AWS identity ----------------------------------------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"
UNKNOWN = "unknown field: remove it (see the schema at /api/schema/ for the fields there are)."


def body_with_access(aws_access: dict, cluster: bool = False) -> dict:
    body = namespaced_body()
    body["spec"]["awsAccess"] = {"region": "eu-west-1", **aws_access}
    if cluster:
        body["metadata"] = {"name": "shared"}
        body["spec"]["namespaces"] = ["a", "b"]
    return body


@pytest.mark.parametrize(
    ("aws_access", "cluster", "kind", "reference"),
    [
        ({"secretRef": {"name": "aws-creds"}}, False, "secret", "team-a/aws-creds"),
        ({"secretRef": {"name": "aws-creds", "namespace": "team-a"}}, False, "secret", "team-a/aws-creds"),
        (
            {
                "secretRef": {
                    "name": "aws-creds",
                    "namespace": "keys",
                    "accessKeyIdKey": "ID",
                    "secretAccessKeyKey": "SECRET",
                    "sessionTokenKey": "TOKEN",
                },
                "roleArn": ROLE,
                "externalId": "team-a-7",
                "roleSessionName": "ecr-shared",
            },
            True,
            "secret",
            "keys/aws-creds",
        ),
        (
            {"serviceAccountRef": {"name": "puller", "audience": "sts.example.com"}, "roleArn": ROLE},
            False,
            "serviceAccount",
            "team-a/puller",
        ),
        (
            {"serviceAccountRef": {"name": "puller", "namespace": "team-a"}, "roleArn": ROLE},
            True,
            "serviceAccount",
            "team-a/puller",
        ),
        ({}, True, "ambient", ""),
        ({"roleArn": ROLE}, True, "ambient", ""),
    ],
)
def test_each_identity_kind_gives_its_row_fields_and_no_key(aws_access, cluster, kind, reference):
    serializer_class = ClusterPullSecretSerializer if cluster else NamespacedPullSecretSerializer
    serializer = serializer_class(data=body_with_access(aws_access, cluster))
    assert serializer.is_valid(), serializer.errors
    data = serializer.validated_data
    assert (data["identity_kind"], data["credentials_ref"], data["access_key_id"]) == (kind, reference, "")
    assert data["aws_access"] == {"region": "eu-west-1", **aws_access}
    assert data["role_arn"] == aws_access.get("roleArn", "") and data["secret_access_key"] == ""


def test_inline_keys_may_assume_a_role():
    body = body_with_access(
        {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": CANARY, "roleArn": ROLE, "externalId": "x-7"}
    )
    serializer = NamespacedPullSecretSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    data = serializer.validated_data
    assert (data["identity_kind"], data["role_arn"], data["secret_access_key"]) == ("inline", ROLE, CANARY)
    assert CANARY not in str(data["aws_access"])


def identity_error(field_path: str, message: str) -> dict:
    *parents, leaf = field_path.split(".")
    tree: dict = {leaf: [message]}
    for parent in reversed(parents):
        tree = {parent: tree}
    return {"spec": {"awsAccess": tree}}


@pytest.mark.parametrize(
    ("aws_access", "cluster", "field", "message"),
    [
        (
            {"secretRef": {"namespace": "team-a"}},
            False,
            "secretRef.name",
            access.MSG_NOT_AN_OBJECT.format(field="secretRef"),
        ),
        (
            {"secretRef": {"name": "AWS_Creds"}},
            False,
            "secretRef.name",
            access.MSG_REF_NAME.format(field="secretRef", value="AWS_Creds"),
        ),
        (
            {"secretRef": {"name": "c", "namespace": "team-b"}},
            False,
            "secretRef.namespace",
            access.MSG_REF_OTHER_NAMESPACE.format(
                field="secretRef", value="team-b", what="Secrets", own="team-a"
            ),
        ),
        (
            {"secretRef": {"name": "c"}},
            True,
            "secretRef.namespace",
            access.MSG_REF_NAMESPACE_MISSING.format(field="secretRef", what="Secret"),
        ),
        (
            {"secretRef": {"name": "c", "sessionTokenKey": "a key"}},
            False,
            "secretRef.sessionTokenKey",
            access.MSG_SECRET_KEY_INVALID.format(field="sessionTokenKey", value="a key"),
        ),
        ({"secretRef": {"name": "c", "key": "x"}}, False, "secretRef.key", UNKNOWN),
        ({"secretRef": "aws-creds"}, False, "secretRef.non_field_errors", None),
        ({"serviceAccountRef": {"name": "puller"}}, False, "roleArn", access.MSG_NEEDS_ROLE),
        (
            {"serviceAccountRef": {"name": "puller"}, "roleArn": ROLE, "externalId": "x-7"},
            False,
            "externalId",
            access.MSG_EXTERNAL_ID_WEB_IDENTITY,
        ),
        (
            {"serviceAccountRef": {"name": "p"}, "roleArn": ROLE},
            True,
            "serviceAccountRef.namespace",
            access.MSG_REF_NAMESPACE_MISSING.format(field="serviceAccountRef", what="ServiceAccount"),
        ),
        (
            {"serviceAccountRef": {"name": "p", "audience": ""}, "roleArn": ROLE},
            False,
            "serviceAccountRef.audience",
            "This field may not be blank.",
        ),
        (
            {"accessKeyId": "AKIA", "secretAccessKey": CANARY, "secretRef": {"name": "c"}},
            False,
            "non_field_errors",
            access.MSG_SEVERAL_BASES.format(found="accessKeyId/secretAccessKey and secretRef"),
        ),
        (
            {},
            False,
            "non_field_errors",
            access.MSG_AMBIENT_REFUSED.format(who="AWSECRImagePullSecrets", policy="cluster"),
        ),
        (
            {"secretRef": {"name": "c"}, "roleArn": "arn:aws:iam::1:user/me"},
            False,
            "roleArn",
            access.MSG_ROLE_ARN_INVALID.format(value="arn:aws:iam::1:user/me"),
        ),
        (
            {"secretRef": {"name": "c"}, "externalId": "x-7"},
            False,
            "externalId",
            access.MSG_WITHOUT_ROLE.format(field="externalId"),
        ),
        (
            {"secretRef": {"name": "c"}, "roleArn": ROLE, "roleSessionName": "a session"},
            False,
            "roleSessionName",
            access.MSG_SESSION_NAME_INVALID,
        ),
        (
            {"secretAccessKey": CANARY},
            False,
            "accessKeyId",
            access.MSG_FIELD_MISSING.format(field="accessKeyId"),
        ),
    ],
)
def test_bad_identity_input_is_refused_on_its_field_with_the_webhooks_words(
    aws_access, cluster, field, message
):
    serializer_class = ClusterPullSecretSerializer if cluster else NamespacedPullSecretSerializer
    errors = errors_of(serializer_class, body_with_access(aws_access, cluster))
    if message is None:  # DRF's own words
        node = errors["spec"]["awsAccess"]
        for part in field.split("."):
            node = node[part]
        assert node
    else:
        assert errors == identity_error(field, message)
    assert CANARY not in str(errors)


def test_a_secret_key_beside_a_service_account_is_two_identities_and_never_echoed():
    aws_access = {"secretAccessKey": CANARY, "serviceAccountRef": {"name": "c"}, "roleArn": ROLE}
    errors = errors_of(NamespacedPullSecretSerializer, body_with_access(aws_access))
    assert errors["spec"]["awsAccess"] == {
        "non_field_errors": [
            access.MSG_SEVERAL_BASES.format(found="accessKeyId/secretAccessKey and serviceAccountRef")
        ],
        "accessKeyId": [access.MSG_FIELD_MISSING.format(field="accessKeyId")],
    }
    assert CANARY not in str(errors)


def test_every_identity_problem_is_reported_at_once():
    aws_access = {"secretRef": {"name": "Bad", "accessKeyIdKey": "a b"}, "externalId": "x-7"}
    errors = errors_of(NamespacedPullSecretSerializer, body_with_access(aws_access))
    assert set(errors["spec"]["awsAccess"]) == {"secretRef", "externalId"}
    assert set(errors["spec"]["awsAccess"]["secretRef"]) == {"name", "accessKeyIdKey"}


def secret_row(**changes):
    fields = {
        "identity_kind": "secret",
        "access_key_id": "",
        "credentials_ref": "team-a/aws-creds",
        "role_arn": ROLE,
        "aws_access": {
            "secretRef": {"name": "aws-creds", "sessionTokenKey": "TOKEN"},
            "roleArn": ROLE,
            "externalId": "team-a-7",
            "region": "eu-west-1",
        },
    }
    return namespaced_row(**{**fields, **changes})


def test_the_representation_shows_the_identity_as_applied_and_status_identity():
    written = {"kind": "secret", "roleArn": ROLE, "accessKeyIdSuffix": "0042"}  # by the controller
    row = secret_row(observed_generation=2, ready=True, status_identity=written)
    data = NamespacedPullSecretSerializer(row).data
    assert data["spec"]["awsAccess"] == {
        "region": "eu-west-1",
        "roleArn": ROLE,
        "secretRef": {"name": "aws-creds", "sessionTokenKey": "TOKEN"},
        "externalId": "team-a-7",
    }
    assert data["status"]["identity"] == written
    inline = namespaced_row(
        name="keys",
        uid="uid-k",
        observed_generation=2,
        status_identity={"kind": "inline", "accessKeyIdSuffix": "MPLE"},
    )
    assert NamespacedPullSecretSerializer(inline).data["status"]["identity"] == {
        "kind": "inline",
        "accessKeyIdSuffix": "MPLE",
    }
    pending = namespaced_row(  # generation 2 not processed yet: what the controller wrote was for 1
        name="new",
        uid="uid-n",
        observed_generation=1,
        status_identity={"kind": "inline", "accessKeyIdSuffix": "MPLE"},
    )
    assert NamespacedPullSecretSerializer(pending).data["status"]["identity"] is None


def patched(row, aws_access: dict):
    serializer = NamespacedPullSecretSerializer(row, data={"spec": {"awsAccess": aws_access}}, partial=True)
    return serializer


def test_a_patch_naming_another_identity_switches_to_it_without_a_key():
    serializer = patched(namespaced_row(), {"secretRef": {"name": "aws-creds"}})
    assert serializer.is_valid(), serializer.errors
    data = serializer.validated_data
    assert (data["identity_kind"], data["access_key_id"], data["secret_access_key"]) == ("secret", "", "")
    assert data["aws_access"] == {"secretRef": {"name": "aws-creds"}, "region": "eu-west-1"}


def test_a_patch_back_to_inline_keys_needs_the_secret_key():
    row = secret_row()
    errors = serializer_errors(patched(row, {"accessKeyId": "AKIANEW"}))
    assert errors == identity_error("secretAccessKey", MSG_KEY_TO_SWITCH)
    serializer = patched(row, {"accessKeyId": "AKIANEW", "secretAccessKey": CANARY})
    assert serializer.is_valid(), serializer.errors
    data = serializer.validated_data
    assert (data["identity_kind"], data["access_key_id"], data["secret_access_key"]) == (
        "inline",
        "AKIANEW",
        CANARY,
    )
    assert data["aws_access"] == {
        "accessKeyId": "AKIANEW",
        "roleArn": ROLE,
        "externalId": "team-a-7",
        "region": "eu-west-1",
    }


def test_a_patch_changes_the_role_alone_and_null_removes_a_field():
    row = secret_row()
    serializer = patched(row, {"externalId": None, "roleSessionName": "ecr-a"})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["aws_access"] == {
        "secretRef": {"name": "aws-creds", "sessionTokenKey": "TOKEN"},
        "roleArn": ROLE,
        "roleSessionName": "ecr-a",
        "region": "eu-west-1",
    }
    errors = serializer_errors(patched(row, {"roleArn": None}))  # the external ID needs it
    assert errors == identity_error("externalId", access.MSG_WITHOUT_ROLE.format(field="externalId"))


def test_an_update_is_not_refused_for_a_problem_the_resource_already_had():
    row = namespaced_row(identity_kind="ambient", access_key_id="", aws_access={"region": "eu-west-1"})
    serializer = patched(row, {"region": "us-east-1"})  # the operator's own identity is refused here...
    assert serializer.is_valid(), serializer.errors  # ...but the webhook would not hold it against an edit
    assert serializer.validated_data["identity_kind"] == "ambient"


def serializer_errors(serializer) -> dict:
    assert not serializer.is_valid()
    return serializer.errors
