"""spec.awsAccess as the reconcile and the webhook read it: one base identity, a role, every problem."""

from __future__ import annotations

import pytest
from django.test import override_settings

from secrets_app.kube.kinds import CLUSTER, NAMESPACED
from secrets_app.services.identity import access, resolve

ROLE = "arn:aws:iam::123456789012:role/ecr-puller"


def body(kind=NAMESPACED, **aws_access) -> dict:
    meta = {"name": "r", "namespace": "team-a"} if kind.namespaced else {"name": "r"}
    return {"metadata": meta, "spec": {"secretName": "p", "awsAccess": {"region": "eu-west-1", **aws_access}}}


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"accessKeyId": "AKIA1", "secretAccessKey": "s"}, access.INLINE),
        ({"secretRef": {"name": "aws-creds"}}, access.SECRET),
        ({"serviceAccountRef": {"name": "puller"}, "roleArn": ROLE}, access.SERVICE_ACCOUNT),
    ],
)
def test_each_base_identity_is_parsed_from_its_fields(fields, kind):
    assert access.problems(NAMESPACED, body(**fields)) == []
    assert access.parse(NAMESPACED, body(**fields)).kind == kind


def test_a_reference_of_a_namespaced_resource_reads_its_own_namespace_with_the_default_keys():
    parsed = access.parse(NAMESPACED, body(secretRef={"name": "aws-creds"}))
    assert parsed.reference == "team-a/aws-creds"
    assert parsed.keys == ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def test_no_credentials_is_the_operators_own_identity_for_the_cluster_kind_only():
    assert access.problems(CLUSTER, body(CLUSTER)) == []
    assert access.parse(CLUSTER, body(CLUSTER)).kind == access.AMBIENT
    [problem] = access.problems(NAMESPACED, body())
    assert (
        "AWSECRImagePullSecrets may not use" in problem
        and "ECRCONTROL_AMBIENT_CREDENTIALS=cluster" in problem
    )


@override_settings(ECRCONTROL_AMBIENT_CREDENTIALS="off")
def test_ambient_off_refuses_the_cluster_kind_too():
    [problem] = access.problems(CLUSTER, body(CLUSTER))
    assert "cluster-scoped resources may not use" in problem and "=off" in problem


@override_settings(ECRCONTROL_AMBIENT_CREDENTIALS="all")
def test_ambient_all_allows_the_namespaced_kind():
    assert access.problems(NAMESPACED, body()) == []


def test_every_problem_is_reported_at_once_each_naming_its_field():
    found = access.problems(
        NAMESPACED,
        body(
            accessKeyId="AKIA1",
            secretRef={"name": "aws-creds", "namespace": "kube-system"},
            externalId="x",
            roleSessionName="a b",
        ),
    )
    assert found == [
        access.MSG_SEVERAL_BASES.format(found="accessKeyId/secretAccessKey and secretRef"),
        access.MSG_FIELD_MISSING.format(field="secretAccessKey"),
        access.MSG_REF_OTHER_NAMESPACE.format(
            field="secretRef", value="kube-system", what="Secrets", own="team-a"
        ),
        access.MSG_WITHOUT_ROLE.format(field="externalId"),
        access.MSG_WITHOUT_ROLE.format(field="roleSessionName"),
    ]


def test_a_web_identity_needs_a_role_and_takes_no_external_id():
    found = access.problems(NAMESPACED, body(serviceAccountRef={"name": "puller"}, externalId="team-a-7"))
    assert access.MSG_NEEDS_ROLE in found and access.MSG_WITHOUT_ROLE.format(field="externalId") in found
    found = access.problems(
        NAMESPACED, body(serviceAccountRef={"name": "puller"}, roleArn=ROLE, externalId="t-7")
    )
    assert found == [access.MSG_EXTERNAL_ID_WEB_IDENTITY]


def test_a_cluster_resource_must_name_the_namespace_of_its_reference():
    found = access.problems(CLUSTER, body(CLUSTER, secretRef={"name": "aws-creds"}))
    assert found == [access.MSG_REF_NAMESPACE_MISSING.format(field="secretRef", what="Secret")]


@pytest.mark.parametrize(
    "role_arn",
    [
        "arn:aws:iam::12345:role/x",  # short account
        "arn:aws:iam::123456789012:user/x",  # not a role
        "arn:aws:iam::123456789012:role/ecr\n",  # trailing newline: the CRD and IAM refuse it
        "arn:aws:iam::123456789012:role/écr",  # not ASCII
    ],
)
def test_a_role_arn_that_iam_would_refuse_is_a_problem(role_arn):
    assert access.problems(NAMESPACED, body(roleArn=role_arn, accessKeyId="A", secretAccessKey="s")) == [
        access.MSG_ROLE_ARN_INVALID.format(value=role_arn)
    ]


def test_a_session_name_outside_stss_characters_is_a_problem():
    found = access.problems(
        NAMESPACED, body(accessKeyId="A", secretAccessKey="s", roleArn=ROLE, roleSessionName="sessión")
    )
    assert found == [access.MSG_SESSION_NAME_INVALID]


def test_the_shown_access_never_holds_the_secret_key_and_decodes_the_key_id():
    shown = access.summary(body(accessKeyId="QUtJQTEyMzQ=", secretAccessKey="c2VjcmV0", roleArn=ROLE))
    assert shown["aws_access"] == {"region": "eu-west-1", "accessKeyId": "AKIA1234", "roleArn": ROLE}
    assert (shown["identity_kind"], shown["role_arn"], shown["reference"]) == ("inline", ROLE, "")


def test_identities_differ_by_keys_role_and_external_id_but_not_by_a_default_session_name():
    def source(resource: str = "aeps.a.x", **fields) -> str:
        parsed = access.parse(NAMESPACED, body(accessKeyId="AKIA1", secretAccessKey="s", **fields))
        return resolve.resolve(parsed, None, "1", resource).source

    assert source(roleArn=ROLE) == source(roleArn=ROLE, resource="aeps.b.y")  # shared by resources
    assert source(roleArn=ROLE) != source(roleArn=ROLE.replace("ecr-puller", "other"))
    assert source(roleArn=ROLE) != source(roleArn=ROLE, externalId="team-a-7")
    assert source(roleArn=ROLE) != source()
    assert source(roleArn=ROLE) != source(roleArn=ROLE, roleSessionName="audit-me")


def test_the_status_names_the_identity_without_anything_secret():
    parsed = access.parse(
        NAMESPACED, body(accessKeyId="AKIAEXAMPLE00004321", secretAccessKey="CANARY0secret0key", roleArn=ROLE)
    )
    identity = resolve.resolve(parsed, None, "1", "aeps.team-a.r")
    assert identity.status() == {"kind": "inline", "roleArn": ROLE, "accessKeyIdSuffix": "4321"}
    assert "CANARY0secret0key" not in repr(identity) + repr(identity.keys) + repr(parsed)
    assert identity.session_name == "aeps.team-a.r"
