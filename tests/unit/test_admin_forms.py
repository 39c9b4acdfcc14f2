"""The admin's resource and cluster forms: checks before anything is sent, and the writer's answers
put on the right fields (the writer is our own module: faked here, real in tests/browser)."""

from __future__ import annotations

import pytest

from secrets_app.admin.forms import ClusterForm, ClusterResourceForm, NamespacedResourceForm
from secrets_app.models import Cluster, ClusterPullSecret, NamespacedPullSecret
from secrets_app.services import writer

pytestmark = pytest.mark.django_db
CANARY = "CANARY0secret0key0never0leaves0the0cluster0"


@pytest.fixture
def written(monkeypatch):
    """Calls to the writer, answered with the row as if the cluster took it."""
    calls = []

    def save(row, secret_access_key=""):
        calls.append((row, secret_access_key))
        row.uid = row.uid or "uid-1"
        row.save()
        return row

    monkeypatch.setattr(writer, "save_to_cluster", save)
    return calls


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
    assert form.errors["namespaces"] == ["List at least one namespace (one per line)."]
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
