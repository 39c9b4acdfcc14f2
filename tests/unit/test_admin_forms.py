"""The admin's resource and cluster forms: checks before anything is sent, and the writer's answers
put on the right fields (the writer is our own module: faked here, real in tests/browser)."""

from __future__ import annotations

import pytest

from secrets_app.admin.forms import (
    MSG_KEY_REQUIRED_SWITCH,
    ClusterForm,
    ClusterResourceForm,
    NamespacedResourceForm,
)
from secrets_app.models import Cluster, ClusterPullSecret, NamespacedPullSecret
from secrets_app.services import specs, writer
from secrets_app.services.identity import access

pytestmark = pytest.mark.django_db
CANARY = "CANARY0secret0key0never0leaves0the0cluster0"


def refuse_with(monkeypatch, error: Exception) -> None:
    def save(row, secret_access_key=""):
        raise error

    monkeypatch.setattr(writer, "save_to_cluster", save)


def namespaced_data(**changes) -> dict:
    data = {
        "cluster": Cluster.default().pk,
        "namespace": "team-a",
        "name": "pull",
        "secret_name": "ecr-pull",
        "identity_kind": "inline",
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": CANARY,
        "region": "eu-west-1",
    }
    return {**data, **changes}


def existing_cluster_row() -> ClusterPullSecret:
    return ClusterPullSecret.objects.create(
        cluster=Cluster.default(),
        name="shared",
        uid="uid-9",
        generation=3,
        secret_name="ecr-pull",
        access_key_id="AKIAOLD",
        region="eu-west-1",
        namespaces=["a", "b"],
    )


def change_data(row: ClusterPullSecret, **changes) -> dict:
    data = {
        "secret_name": row.secret_name,
        "namespaces": "\n".join(row.namespaces),
        "identity_kind": row.identity_kind,
        "access_key_id": row.access_key_id,
        "secret_access_key": "",
        "region": row.region,
        "shown_generation": str(row.generation),
    }
    return {**data, **changes}


def change_form(row: ClusterPullSecret, **changes) -> ClusterResourceForm:
    form_class = type("ChangeForm", (ClusterResourceForm,), {})
    fields = ClusterResourceForm.base_fields.items()
    form_class.base_fields = {k: v for k, v in fields if k not in ("cluster", "name")}  # read-only on change
    return form_class(data=change_data(row, **changes), instance=row)


def test_a_valid_create_is_written_with_the_key_and_the_key_is_not_stored(written):
    form = NamespacedResourceForm(data=namespaced_data())
    assert form.is_valid(), form.errors
    ((row, key),) = written
    assert key == CANARY and row.secret_name == "ecr-pull"
    assert form.written.pk == row.pk
    assert CANARY not in str(NamespacedPullSecret.objects.values().get())


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("region", "Europe", "'Europe' is not an AWS region name"),
        ("secret_name", "Ecr_Pull", "'Ecr_Pull' is not a valid Kubernetes name"),
        ("name", "-bad", "'-bad' is not a valid Kubernetes name"),
        ("namespace", "team.a", "'team.a' is not a valid namespace name"),
        ("secret_access_key", "", "it is required to create the resource"),
        ("access_key_id", "", "This field is required"),
    ],
)
def test_bad_input_gets_a_field_error_and_nothing_is_sent(written, field, value, expected):
    form = NamespacedResourceForm(data=namespaced_data(**{field: value}))
    assert not form.is_valid()
    assert expected in " ".join(form.errors[field])
    assert written == []


def test_an_empty_namespace_list_is_refused_before_anything_is_sent(written):
    data = {k: v for k, v in namespaced_data(namespaces=" \n ").items() if k != "namespace"}
    form = ClusterResourceForm(data=data)
    assert not form.is_valid()
    assert form.errors["namespaces"] == [specs.MSG_NAMESPACES_MISSING]
    assert written == []


def test_namespaces_are_read_one_per_line_or_comma_separated_without_repeats(written):
    data = {k: v for k, v in namespaced_data(namespaces="a, b\nc\na").items() if k != "namespace"}
    form = ClusterResourceForm(data=data)
    assert form.is_valid(), form.errors
    assert written[0][0].namespaces == ["a", "b", "c"]


def test_a_change_without_a_key_keeps_it_and_sends_the_generation_that_was_shown(written):
    row = existing_cluster_row()
    ClusterPullSecret.objects.filter(pk=row.pk).update(generation=4)  # the watch saw a newer one
    form = change_form(ClusterPullSecret.objects.get(pk=row.pk), namespaces="a\nb\nc", shown_generation="3")
    assert form.is_valid(), form.errors
    ((sent, key),) = written
    assert key == "" and sent.generation == 3 and sent.namespaces == ["a", "b", "c"]


def test_a_new_access_key_id_needs_its_secret_key(written):
    row = existing_cluster_row()
    form = change_form(row, access_key_id="AKIANEW")
    assert not form.is_valid()
    assert "belongs to the new access key ID" in form.errors["secret_access_key"][0]
    assert written == []


def test_a_conflict_is_a_form_error_saying_what_the_cluster_now_holds_and_the_input_is_kept(monkeypatch):
    row = existing_cluster_row()
    ClusterPullSecret.objects.filter(pk=row.pk).update(region="us-east-1", generation=4)  # a kubectl edit
    refuse_with(monkeypatch, writer.WriteConflict("ClusterAWSECRImagePullSecret shared was changed"))
    form = change_form(row, namespaces="a\nb\nmine", secret_access_key=CANARY)
    assert not form.is_valid()
    error = form.non_field_errors()[0]
    assert error.startswith("ClusterAWSECRImagePullSecret shared was changed")
    assert "region 'us-east-1' (your form: 'eu-west-1')" in error
    html = str(form)
    assert "mine" in html  # the user's input is still there...
    assert CANARY not in html  # ...except the secret key


def test_a_webhook_denial_is_shown_word_for_word_on_the_fields_it_names(monkeypatch, written):
    denial = "spec.awsAccess.region 'xx-nowhere-9' is not served by ECR: pick another."
    other = "the credentials were refused."
    refuse_with(monkeypatch, writer.WriteError("denied", {"spec.awsAccess.region": [denial], "": [other]}))
    form = NamespacedResourceForm(data=namespaced_data())
    assert not form.is_valid()
    assert form.errors["region"] == [denial]
    assert form.non_field_errors() == [other]


def test_a_resource_deleted_meanwhile_is_said_so(monkeypatch):
    row = existing_cluster_row()
    refuse_with(monkeypatch, writer.WriteGone("ClusterAWSECRImagePullSecret shared no longer exists"))
    form = change_form(row)
    assert not form.is_valid()
    assert "no longer exists" in form.non_field_errors()[0]


def test_a_cluster_that_cannot_be_reached_is_not_saved_and_the_exact_error_is_shown(tmp_path):
    missing = tmp_path / "nope.yaml"
    form = ClusterForm(data={"name": "other", "kubeconfig_path": str(missing), "context": ""})
    assert not form.is_valid()
    assert form.non_field_errors() == [
        f"Connection test failed: kubeconfig file {missing} does not exist (or is not a file): "
        "give its full path."
    ]
    saved = ClusterForm(data={"name": "other", "kubeconfig_path": str(missing), "save_unreachable": "on"})
    assert saved.is_valid(), saved.errors


def test_a_cluster_whose_kubeconfig_cannot_be_loaded_is_a_form_error_not_a_crash(tmp_path):
    cluster = Cluster.objects.create(name="gone", kubeconfig_path=str(tmp_path / "gone.yaml"))
    form = NamespacedResourceForm(data=namespaced_data(cluster=cluster.pk))
    assert not form.is_valid()
    assert form.non_field_errors() == [
        f"AWSECRImagePullSecret team-a/pull was not written: the cluster's API server did not answer "
        f"(kubeconfig file {tmp_path / 'gone.yaml'} does not exist (or is not a file): give its full path.). "
        "Try again."
    ]
    assert not NamespacedPullSecret.objects.exists()


# -- the AWS identity: four kinds, each with its fields -------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"


def later_ns(**changes) -> tuple:
    """Namespaced form data, built in the test (the default Cluster row needs the database)."""
    return (namespaced_data, changes)


def later_cluster(**changes) -> tuple:
    return (cluster_data, changes)


def cluster_data(**changes) -> dict:
    data = {k: v for k, v in namespaced_data(namespaces="a\nb").items() if k != "namespace"}
    return {**data, **changes}


@pytest.mark.parametrize(
    ("form_class", "data", "expected"),
    [
        (
            NamespacedResourceForm,
            later_ns(identity_kind="secret", secret_ref_name="aws-creds"),
            {"secretRef": {"name": "aws-creds"}},
        ),
        (
            NamespacedResourceForm,
            later_ns(
                identity_kind="secret",
                secret_ref_name="aws-creds",
                access_key_id_key="ID",
                secret_access_key_key="SECRET",
                session_token_key="TOKEN",
                role_arn=ROLE,
                external_id="team-a-7",
            ),
            {
                "secretRef": {
                    "name": "aws-creds",
                    "accessKeyIdKey": "ID",
                    "secretAccessKeyKey": "SECRET",
                    "sessionTokenKey": "TOKEN",
                },
                "roleArn": ROLE,
                "externalId": "team-a-7",
            },
        ),
        (
            ClusterResourceForm,
            later_cluster(identity_kind="secret", secret_ref_name="aws-creds", secret_ref_namespace="team-a"),
            {"secretRef": {"name": "aws-creds", "namespace": "team-a"}},
        ),
        (
            NamespacedResourceForm,
            later_ns(
                identity_kind="serviceAccount",
                service_account_name="puller",
                audience="sts.example.com",
                role_arn=ROLE,
                role_session_name="ecr-team-a",
            ),
            {
                "serviceAccountRef": {"name": "puller", "audience": "sts.example.com"},
                "roleArn": ROLE,
                "roleSessionName": "ecr-team-a",
            },
        ),
        (
            ClusterResourceForm,
            later_cluster(
                identity_kind="serviceAccount",
                service_account_name="puller",
                service_account_namespace="team-a",
                role_arn=ROLE,
            ),
            {"serviceAccountRef": {"name": "puller", "namespace": "team-a"}, "roleArn": ROLE},
        ),
        (ClusterResourceForm, later_cluster(identity_kind="ambient", role_arn=ROLE), {"roleArn": ROLE}),
        (ClusterResourceForm, later_cluster(identity_kind="ambient"), {}),
    ],
)
def test_each_identity_kind_is_written_with_its_fields_only_and_no_secret_key(
    written, form_class, data, expected
):
    build, changes = data
    data = build(**changes)
    form = form_class(data=data)  # every kind's data has a secret key typed in: it is not used
    assert form.is_valid(), form.errors
    ((row, key),) = written
    assert key == ""
    assert (row.identity_kind, row.aws_access, row.access_key_id) == (data["identity_kind"], expected, "")
    assert row.role_arn == data.get("role_arn", "")
    assert CANARY not in str(type(row).objects.values().get())


def test_inline_keys_may_assume_a_role(written):
    form = NamespacedResourceForm(data=namespaced_data(role_arn=ROLE, external_id="team-a-7"))
    assert form.is_valid(), form.errors
    ((row, key),) = written
    assert key == CANARY and row.identity_kind == "inline" and row.access_key_id == "AKIAEXAMPLE"
    assert row.aws_access == {"accessKeyId": "AKIAEXAMPLE", "roleArn": ROLE, "externalId": "team-a-7"}


@pytest.mark.parametrize(
    ("form_class", "data", "field", "expected"),
    [
        (
            NamespacedResourceForm,
            later_ns(identity_kind="secret"),
            "secret_ref_name",
            "This field is required.",
        ),
        (
            NamespacedResourceForm,
            later_ns(identity_kind="secret", secret_ref_name="AWS_Creds"),
            "secret_ref_name",
            access.MSG_REF_NAME.format(field="secretRef", value="AWS_Creds"),
        ),
        (
            NamespacedResourceForm,
            later_ns(identity_kind="secret", secret_ref_name="c", access_key_id_key="a key"),
            "access_key_id_key",
            access.MSG_SECRET_KEY_INVALID.format(field="accessKeyIdKey", value="a key"),
        ),
        (
            ClusterResourceForm,
            later_cluster(identity_kind="secret", secret_ref_name="c"),
            "secret_ref_namespace",
            access.MSG_REF_NAMESPACE_MISSING.format(field="secretRef", what="Secret"),
        ),
        (
            ClusterResourceForm,
            later_cluster(identity_kind="secret", secret_ref_name="c", secret_ref_namespace="Team_A"),
            "secret_ref_namespace",
            "'Team_A' is not a valid namespace name",
        ),
        (
            NamespacedResourceForm,
            later_ns(identity_kind="serviceAccount"),
            "service_account_name",
            "This field is required.",
        ),
        (
            NamespacedResourceForm,
            later_ns(identity_kind="serviceAccount", service_account_name="puller"),
            "role_arn",
            access.MSG_NEEDS_ROLE,
        ),
        (
            ClusterResourceForm,
            later_cluster(identity_kind="serviceAccount", service_account_name="p", role_arn=ROLE),
            "service_account_namespace",
            access.MSG_REF_NAMESPACE_MISSING.format(field="serviceAccountRef", what="ServiceAccount"),
        ),
        (
            NamespacedResourceForm,
            later_ns(
                identity_kind="serviceAccount", service_account_name="p", role_arn=ROLE, external_id="x-1"
            ),
            "external_id",
            access.MSG_EXTERNAL_ID_WEB_IDENTITY,
        ),
        (
            NamespacedResourceForm,
            later_ns(role_arn="arn:aws:iam::1:user/me"),
            "role_arn",
            access.MSG_ROLE_ARN_INVALID.format(value="arn:aws:iam::1:user/me"),
        ),
        (
            NamespacedResourceForm,
            later_ns(external_id="team-a-7"),
            "external_id",
            access.MSG_WITHOUT_ROLE.format(field="externalId"),
        ),
        (
            NamespacedResourceForm,
            later_ns(role_arn=ROLE, role_session_name="a session"),
            "role_session_name",
            access.MSG_SESSION_NAME_INVALID,
        ),
        (
            NamespacedResourceForm,
            later_ns(identity_kind="ambient"),
            "identity_kind",
            "which AWSECRImagePullSecrets may not use (ECRCONTROL_AMBIENT_CREDENTIALS=cluster)",
        ),
        (
            NamespacedResourceForm,
            later_ns(identity_kind="keys"),
            "identity_kind",
            "Select a valid choice. keys is not one of the available choices.",
        ),
    ],
)
def test_bad_identity_input_gets_an_error_on_its_field_and_nothing_is_sent(
    written, form_class, data, field, expected
):
    build, changes = data
    form = form_class(data=build(**changes))
    assert not form.is_valid()
    assert expected in " ".join(form.errors.get(field, [])), form.errors
    assert written == []
    assert CANARY not in str(form)


def test_several_identity_problems_are_reported_at_once(written):
    data = namespaced_data(
        identity_kind="secret", secret_ref_name="Bad", access_key_id_key="a key", external_id="x-1"
    )
    form = NamespacedResourceForm(data=data)
    assert not form.is_valid()
    assert set(form.errors) == {"secret_ref_name", "access_key_id_key", "external_id"}


def existing_secret_row() -> ClusterPullSecret:
    return ClusterPullSecret.objects.create(
        cluster=Cluster.default(),
        name="shared",
        uid="uid-9",
        generation=3,
        secret_name="ecr-pull",
        identity_kind="secret",
        credentials_ref="team-a/aws-creds",
        aws_access={
            "secretRef": {"name": "aws-creds", "namespace": "team-a", "sessionTokenKey": "TOKEN"},
            "region": "eu-west-1",
        },
        region="eu-west-1",
        namespaces=["a", "b"],
    )


def test_a_change_form_shows_the_identity_it_has():
    row = existing_secret_row()
    form = ClusterResourceForm(instance=row)
    assert form["identity_kind"].value() == "secret"
    values = {
        name: form[name].value() for name in ("secret_ref_name", "secret_ref_namespace", "session_token_key")
    }
    assert values == {
        "secret_ref_name": "aws-creds",
        "secret_ref_namespace": "team-a",
        "session_token_key": "TOKEN",
    }
    assert form["access_key_id_key"].value() in ("", None)  # the default, shown as a placeholder
    html = str(form["access_key_id_key"])
    assert 'placeholder="AWS_ACCESS_KEY_ID"' in html


def test_switching_from_inline_keys_to_a_secret_sends_no_key_and_clears_the_key_id(written):
    row = existing_cluster_row()
    data = change_data(row, identity_kind="secret", secret_ref_name="aws-creds", secret_ref_namespace="a")
    form = change_form(row, **data)
    assert form.is_valid(), form.errors
    ((sent, key),) = written
    assert key == "" and sent.identity_kind == "secret" and sent.access_key_id == ""
    assert sent.aws_access == {"secretRef": {"name": "aws-creds", "namespace": "a"}}


def test_switching_to_inline_keys_needs_the_secret_key(written):
    row = existing_secret_row()
    form = change_form(row, identity_kind="inline", access_key_id="AKIANEW")
    assert not form.is_valid()
    assert form.errors["secret_access_key"] == [MSG_KEY_REQUIRED_SWITCH]
    form = change_form(row, identity_kind="inline", access_key_id="AKIANEW", secret_access_key=CANARY)
    assert form.is_valid(), form.errors
    ((sent, key),) = written
    assert key == CANARY and sent.identity_kind == "inline" and sent.aws_access == {"accessKeyId": "AKIANEW"}


def test_editing_a_secret_reference_keeps_what_the_form_has_no_field_for_and_drops_emptied_keys(written):
    row = existing_secret_row()
    form = change_form(
        row,
        identity_kind="secret",
        secret_ref_name="other-creds",
        secret_ref_namespace="team-a",
        session_token_key="",
        role_arn=ROLE,
    )
    assert form.is_valid(), form.errors
    ((sent, key),) = written
    assert sent.aws_access == {"secretRef": {"name": "other-creds", "namespace": "team-a"}, "roleArn": ROLE}
    assert sent.role_arn == ROLE and key == ""


@pytest.mark.parametrize(
    ("kind", "path", "field"),
    [
        ("secret", "spec.awsAccess", "secret_ref_name"),
        ("secret", "spec.awsAccess.secretRef.name", "secret_ref_name"),
        ("serviceAccount", "spec.awsAccess.roleArn", "role_arn"),
        ("serviceAccount", "spec.awsAccess.serviceAccountRef.audience", "audience"),
        ("inline", "spec.awsAccess", "access_key_id"),
        ("ambient", "spec.awsAccess", "identity_kind"),
    ],
)
def test_a_cluster_denial_of_the_identity_lands_on_the_field_of_the_chosen_kind(
    monkeypatch, kind, path, field
):
    denial = f"{path} was refused: fix it."
    refuse_with(monkeypatch, writer.WriteError("denied", {path: [denial]}))
    data = cluster_data(
        identity_kind=kind,
        secret_ref_name="c",
        secret_ref_namespace="a",
        service_account_name="p",
        service_account_namespace="a",
        role_arn=ROLE,
    )
    form = ClusterResourceForm(data=data)
    assert not form.is_valid()
    assert form.errors[field] == [denial]


# -- what the writer makes of a row's identity (services.writer._spec: pure, no cluster) ----------
def spec_of(row, base: dict | None = None, key: str = "") -> dict:
    return writer._spec(row, {"spec": base} if base is not None else None, key)


def new_row(**fields) -> ClusterPullSecret:
    defaults = {"name": "shared", "secret_name": "ecr-pull", "region": "eu-west-1", "namespaces": ["a"]}
    return ClusterPullSecret(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("fields", "key", "expected"),
    [
        (
            {"identity_kind": "inline", "access_key_id": "AKIAEXAMPLE", "aws_access": {"roleArn": ROLE}},
            CANARY,
            {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": CANARY, "roleArn": ROLE, "region": "eu-west-1"},
        ),
        (
            {
                "identity_kind": "secret",
                "aws_access": {
                    "secretRef": {"name": "c", "namespace": "a"},
                    "roleArn": ROLE,
                    "externalId": "x-7",
                },
            },
            "",
            {
                "secretRef": {"name": "c", "namespace": "a"},
                "roleArn": ROLE,
                "externalId": "x-7",
                "region": "eu-west-1",
            },
        ),
        (
            {
                "identity_kind": "serviceAccount",
                "aws_access": {
                    "serviceAccountRef": {"name": "p", "namespace": "a", "audience": "sts.example.com"},
                    "roleArn": ROLE,
                    "roleSessionName": "ecr-shared",
                },
            },
            "",
            {
                "serviceAccountRef": {"name": "p", "namespace": "a", "audience": "sts.example.com"},
                "roleArn": ROLE,
                "roleSessionName": "ecr-shared",
                "region": "eu-west-1",
            },
        ),
        ({"identity_kind": "ambient", "aws_access": {}}, "", {"region": "eu-west-1"}),
    ],
)
def test_the_writer_creates_each_identity_kind_with_its_fields_only(fields, key, expected):
    spec = spec_of(new_row(**fields), key=key)
    assert spec == {"awsAccess": expected, "secretName": "ecr-pull", "namespaces": ["a"]}


STORED = {  # as the mutating webhook stores inline keys (base64), with a role and a field of the future
    "accessKeyId": "QUtJQU9MRA==",  # AKIAOLD
    "secretAccessKey": "c2VjcmV0",
    "region": "eu-west-1",
    "roleArn": ROLE,
    "externalId": "x-7",
    "futureField": "kept",
}


def test_switching_from_inline_keys_to_a_secret_removes_the_keys_and_the_old_role_fields():
    row = new_row(identity_kind="secret", aws_access={"secretRef": {"name": "c", "namespace": "a"}})
    spec = spec_of(row, {"awsAccess": STORED, "secretName": "ecr-pull"})
    assert spec["awsAccess"] == {
        "region": "eu-west-1",
        "futureField": "kept",
        "secretRef": {"name": "c", "namespace": "a"},
    }


def test_switching_from_a_service_account_to_inline_keys_needs_the_secret_key():
    base = {
        "awsAccess": {
            "serviceAccountRef": {"name": "p", "namespace": "a"},
            "roleArn": ROLE,
            "region": "eu-west-1",
        }
    }
    row = new_row(identity_kind="inline", access_key_id="AKIANEW", aws_access={"roleArn": ROLE})
    with pytest.raises(writer.WriteError, match="required to switch to keys in the resource"):
        spec_of(row, base)
    assert spec_of(row, base, CANARY)["awsAccess"] == {
        "roleArn": ROLE,
        "region": "eu-west-1",
        "accessKeyId": "AKIANEW",
        "secretAccessKey": CANARY,
    }


def test_inline_keys_with_the_same_key_id_keep_the_stored_secret_key_and_a_new_id_needs_one():
    row = new_row(
        identity_kind="inline", access_key_id="AKIAOLD", aws_access={"roleArn": ROLE, "externalId": "x-7"}
    )
    assert spec_of(row, {"awsAccess": STORED})["awsAccess"] == STORED
    row.access_key_id = "AKIANEW"
    with pytest.raises(writer.WriteError, match="required to change the access key ID"):
        spec_of(row, {"awsAccess": STORED})


@pytest.mark.parametrize(
    ("fields", "key", "message", "path"),
    [
        (
            {"identity_kind": "secret", "aws_access": {"secretRef": {"name": "c", "namespace": "a"}}},
            CANARY,
            "the AWS identity is keys in a Secret, which takes none",
            "",
        ),
        (
            {"identity_kind": "secret", "aws_access": {}},
            "",
            "secretRef must be an object",
            "spec.awsAccess.secretRef",
        ),
        (
            {"identity_kind": "inline", "access_key_id": ""},
            CANARY,
            "accessKeyId is empty",
            "spec.awsAccess.accessKeyId",
        ),
    ],
)
def test_the_writer_refuses_a_row_whose_identity_would_silently_become_another(fields, key, message, path):
    with pytest.raises(writer.WriteError, match=message) as error:
        spec_of(new_row(**fields), key=key)
    assert list(error.value.fields) == [path]
    assert CANARY not in str(error.value)
