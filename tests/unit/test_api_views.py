"""The REST API's endpoints in-process: status codes, ETag/If-Match, the writer's answers as HTTP,
permissions, refresh, the summary and the secret key never in a response."""

from __future__ import annotations

import datetime
import json

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from secrets_app.api import parsers
from secrets_app.models import Cluster, ClusterPullSecret, IdentityRefresh, NamespacedPullSecret
from secrets_app.services import connectivity, writer
from secrets_app.services.identity import refresh

from .conftest import CANARY, client_for, cluster_row, namespaced_body, namespaced_row, refuse_with

pytestmark = pytest.mark.django_db
URL = "/api/v1/awsecrimagepullsecrets/"


@pytest.fixture(autouse=True)
def fresh_throttle_and_connections(monkeypatch):
    cache.clear()
    monkeypatch.setattr(connectivity, "test", lambda *args: connectivity.Connection(version="v1.36.3"))


def test_create_is_written_with_the_key_answers_201_with_location_and_etag_and_never_the_key(
    operator_client, writes
):
    Cluster.default()
    response = operator_client.post(URL, namespaced_body(), format="json")
    assert response.status_code == 201, response.content
    ((row, key),) = writes
    assert key == CANARY and row.secret_name == "ecr-pull" and row.cluster.name == "local"
    body = response.json()
    assert response["Location"] == f"http://testserver{URL}{body['id']}/"
    assert response["ETag"] == f'"uid-1.{body["metadata"]["generation"]}"'
    assert body["kind"] == "AWSECRImagePullSecret" and body["apiVersion"] == "aws.zakariaamine.com/v1alpha2"
    assert body["spec"] == {
        "awsAccess": {"accessKeyId": "AKIAEXAMPLE", "region": "eu-west-1"},
        "secretName": "ecr-pull",
    }
    assert body["status"]["namespaces"] == [
        {"namespace": "team-a", "state": "pending", "lastWritten": None, "expiresAt": None, "error": ""}
    ]
    assert CANARY not in response.content.decode()
    assert LogEntry.objects.get().change_message == "Created through the REST API."


def test_a_manifest_as_kubectl_would_apply_it_is_accepted(operator_client, writes):
    Cluster.default()
    manifest = {
        "apiVersion": "aws.zakariaamine.com/v1alpha2",
        "kind": "AWSECRImagePullSecret",
        **namespaced_body(),
    }
    assert operator_client.post(URL, manifest, format="json").status_code == 201
    wrong = {**manifest, "kind": "ClusterAWSECRImagePullSecret"}
    response = operator_client.post(URL, wrong, format="json")
    assert response.status_code == 400
    assert response.json() == {"kind": ["must be 'AWSECRImagePullSecret' here (or left out)."]}


def test_the_cluster_must_be_named_when_there_are_several(operator_client, writes):
    Cluster.default()
    Cluster.objects.create(name="other")
    response = operator_client.post(URL, namespaced_body(), format="json")
    assert response.status_code == 400
    assert response.json()["metadata"]["cluster"] == [
        "required when ecrcontrol manages several clusters: one of local, other."
    ]
    body = namespaced_body()
    body["metadata"]["cluster"] = "nowhere"
    response = operator_client.post(URL, body, format="json")
    assert response.json()["metadata"]["cluster"] == [
        "no cluster named 'nowhere': use one of GET /api/v1/clusters/."
    ]
    body["metadata"]["cluster"] = "\x00other"  # not even looked up: PostgreSQL refuses NUL (a 500)
    response = operator_client.post(URL, body, format="json")
    assert response.json()["metadata"]["cluster"] == [
        "no cluster named " + repr("\x00other") + ": use one of GET /api/v1/clusters/."
    ]
    body["metadata"]["cluster"] = "other"
    assert operator_client.post(URL, body, format="json").status_code == 201
    assert writes[0][0].cluster.name == "other"


def test_get_carries_the_etag_and_reads_the_mirror_with_its_synced_time(viewer_client):
    synced = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
    row = namespaced_row(synced_at=synced, ready=False, reason="GetAWSAuthTokenFailed", message="refused")
    response = viewer_client.get(f"{URL}{row.pk}/")
    assert response.status_code == 200
    assert response["ETag"] == '"uid-a.2"'
    body = response.json()
    assert body["syncedAt"] == "2026-11-30T12:00:00Z"
    assert body["metadata"] == {
        "cluster": "local",
        "name": "pull",
        "namespace": "team-a",
        "uid": "uid-a",
        "generation": 2,
        "resourceVersion": "17",
    }
    assert body["status"]["ready"] is False and body["status"]["reason"] == "GetAWSAuthTokenFailed"


def test_a_stale_if_match_is_412_and_nothing_is_sent(operator_client, writes):
    row = namespaced_row()
    response = operator_client.patch(
        f"{URL}{row.pk}/",
        {"spec": {"awsAccess": {"region": "us-east-1"}}},
        format="json",
        HTTP_IF_MATCH='"uid-a.1"',
    )
    assert response.status_code == 412
    assert response.json()["detail"].startswith(
        'team-a/pull has changed since you read it: its ETag is now "uid-a.2"'
    )
    assert writes == []


def test_a_matching_if_match_changes_only_the_given_fields_and_answers_the_new_etag(operator_client, writes):
    row = namespaced_row()
    response = operator_client.patch(
        f"{URL}{row.pk}/",
        {"spec": {"awsAccess": {"region": "us-east-1"}}},
        format="json",
        HTTP_IF_MATCH='"uid-a.2"',
    )
    assert response.status_code == 200, response.content
    ((sent, key),) = writes
    assert (sent.region, sent.secret_name, sent.access_key_id, key) == (
        "us-east-1",
        "ecr-pull",
        "AKIAEXAMPLE",
        "",
    )
    assert sent.generation == 3 and response["ETag"] == '"uid-a.3"'


def test_put_replaces_the_spec_and_metadata_may_be_sent_back_unchanged_but_not_changed(
    operator_client, writes
):
    row = namespaced_row()
    current = operator_client.get(f"{URL}{row.pk}/").json()
    current["spec"]["secretName"] = "other-pull"
    response = operator_client.put(f"{URL}{row.pk}/", current, format="json")
    assert response.status_code == 200, response.content
    assert writes[0][0].secret_name == "other-pull"
    current["metadata"]["name"] = "renamed"
    current["metadata"]["namespace"] = "team-b"
    response = operator_client.put(f"{URL}{row.pk}/", current, format="json")
    assert response.status_code == 400
    assert response.json()["metadata"] == {
        "name": ["cannot be changed (it is 'pull'): create a new resource instead, and delete this one."],
        "namespace": [
            "cannot be changed (it is 'team-a'): create a new resource instead, and delete this one."
        ],
    }


def test_a_new_access_key_id_needs_its_secret_key(operator_client, writes):
    row = namespaced_row()
    response = operator_client.patch(
        f"{URL}{row.pk}/", {"spec": {"awsAccess": {"accessKeyId": "AKIANEW"}}}, format="json"
    )
    assert response.status_code == 400
    assert "required when accessKeyId changes" in response.json()["spec"]["awsAccess"]["secretAccessKey"][0]
    assert writes == []


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (writer.WriteConflict("AWSECRImagePullSecret team-a/pull was changed in the cluster"), 409, None),
        (writer.WriteGone("AWSECRImagePullSecret team-a/pull no longer exists in the cluster"), 404, None),
        (writer.WriteUnavailable("the cluster's API server did not answer (refused). Try again."), 503, None),
        (
            writer.WriteError(
                "the API server rejected it: admission webhook denied the request: secret x already exists",
                {"spec.secretName": ["secret x already exists, change spec.secretName"], "": ["other"]},
            ),
            400,
            {"spec": {"secretName": ["secret x already exists, change spec.secretName"]}},
        ),
    ],
)
def test_the_writers_refusals_are_http_answers(operator_client, monkeypatch, error, status, body):
    row = namespaced_row()
    refuse_with(monkeypatch, error)
    for response in (
        operator_client.patch(f"{URL}{row.pk}/", {"spec": {"secretName": "x"}}, format="json"),
        *([operator_client.delete(f"{URL}{row.pk}/")] if status != 400 else []),
    ):
        assert response.status_code == status
        assert response.json() == {"detail": str(error), **(body or {})}


def test_delete_goes_through_the_writer_and_checks_if_match(operator_client, writes):
    row = namespaced_row()
    assert operator_client.delete(f"{URL}{row.pk}/", HTTP_IF_MATCH='"uid-a.1"').status_code == 412
    assert operator_client.delete(f"{URL}{row.pk}/", HTTP_IF_MATCH='"uid-a.2"').status_code == 204
    assert writes[0][1] == "deleted" and not NamespacedPullSecret.objects.exists()
    assert operator_client.delete(f"{URL}{row.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("{not json", "application/json", "the body is not valid JSON"),
        ("[" * 5000 + "]" * 5000, "application/json", "nested too deeply"),
        ('{"a": NaN}', "application/json", "NaN is not allowed"),
        (" " * (parsers.MAX_BODY_BYTES + 1), "application/json", "larger than 65536 bytes"),
    ],
)
def test_malformed_deep_or_oversized_bodies_are_400_with_a_reason(
    operator_client, writes, body, content_type, expected
):
    response = operator_client.generic("POST", URL, body, content_type=content_type)
    assert response.status_code == 400
    assert expected in response.json()["detail"]
    assert writes == []


def test_a_body_that_is_not_json_is_415(operator_client, writes):
    response = operator_client.generic("POST", URL, "a=b", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_refresh_is_202_then_429_with_retry_after_for_the_same_identity(operator_client, monkeypatch):
    started = []
    monkeypatch.setattr(refresh, "async_task", lambda *args, **kwargs: started.append(args))
    row = namespaced_row()
    other = cluster_row(cluster=row.cluster, uid="uid-c", access_key_id="AKIAEXAMPLE", namespaces=["a"])
    response = operator_client.post(f"{URL}{row.pk}/refresh/")
    assert response.status_code == 202
    assert response.json()["accessKeyId"] == "AKIAEXAMPLE" and len(started) == 1
    again = operator_client.post(f"/api/v1/clusterawsecrimagepullsecrets/{other.pk}/refresh/")
    assert again.status_code == 429
    assert 55 <= int(again["Retry-After"]) <= 60
    assert "next manual refresh is allowed at" in again.json()["detail"] and again.json()["allowedAt"]
    assert len(started) == 1 and IdentityRefresh.objects.count() == 1


def test_refresh_of_a_resource_without_identity_is_409(operator_client):
    row = namespaced_row(access_key_id="")
    response = operator_client.post(f"{URL}{row.pk}/refresh/")
    assert response.status_code == 409
    assert "has no AWS identity and region yet" in response.json()["detail"]


def test_the_permission_matrix(writes, monkeypatch):
    monkeypatch.setattr(refresh, "async_task", lambda *args, **kwargs: None)
    row = namespaced_row()
    anonymous, nobody = APIClient(), client_for(None)
    viewer, operator = client_for("viewers"), client_for("operators")
    detail = f"{URL}{row.pk}/"
    reads = [
        ("get", URL),
        ("get", detail),
        ("get", "/api/v1/summary/"),
        ("get", "/api/v1/secrets/"),
        ("get", "/api/v1/clusters/"),
    ]
    writes = [("patch", detail), ("post", f"{detail}refresh/"), ("post", URL), ("delete", detail)]
    for method, url in reads + writes:
        response = getattr(anonymous, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"] == "Token"
        assert getattr(nobody, method)(url, {}, format="json").status_code == 403, (method, url)
    for method, url in reads:
        assert getattr(viewer, method)(url).status_code == 200, (method, url)
        assert getattr(operator, method)(url).status_code == 200, (method, url)
    for method, url in writes:
        assert getattr(viewer, method)(url, {}, format="json").status_code == 403, (method, url)
    assert operator.patch(detail, {"spec": {"secretName": "b"}}, format="json").status_code == 200
    assert operator.post(f"{detail}refresh/").status_code == 202
    assert (
        operator.post(
            URL,
            namespaced_body(secretName="c") | {"metadata": {"name": "n", "namespace": "x"}},
            format="json",
        ).status_code
        == 201
    )
    assert operator.delete(detail).status_code == 204


def test_requests_are_throttled_per_user(viewer_client):
    with override_settings(ECRCONTROL_API_THROTTLE_RATE="3/minute"):
        codes = [viewer_client.get(URL).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client_for("viewers").get(URL).status_code == 200  # another user has their own budget


def test_summary_gives_the_dashboards_counts_per_cluster(viewer_client):
    from .test_dashboard import make_rows

    make_rows(6)
    body = viewer_client.get("/api/v1/summary/").json()
    (local,) = body["clusters"]
    assert local["cluster"] == "local"
    assert local["resources"] == {"ready": 2, "failing": 2, "pending": 2, "total": 6}
    assert local["secrets"] == {"pending": 0, "synced": 2, "failed": 4, "conflict": 0, "total": 6}
    assert local["apiServer"] == {"reachable": True, "version": "v1.36.3", "error": ""}


def test_no_response_ever_holds_the_secret_key(operator_client, writes):
    Cluster.default()
    created = operator_client.post(URL, namespaced_body(), format="json")
    pk = created.json()["id"]
    bad = operator_client.post(URL, namespaced_body(secretName="Bad_Name"), format="json")
    wrong_type = namespaced_body()
    wrong_type["spec"]["awsAccess"]["secretAccessKey"] = [CANARY]
    responses = [created, bad, operator_client.post(URL, wrong_type, format="json")]
    responses += [
        operator_client.get(URL),
        operator_client.get(f"{URL}{pk}/"),
        operator_client.get("/api/v1/secrets/"),
    ]
    for response in responses:
        assert CANARY not in response.content.decode()
    assert CANARY not in json.dumps(list(NamespacedPullSecret.objects.values()), default=str)


def test_schema_and_docs_are_served_with_local_assets(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/awsecrimagepullsecrets/{id}/refresh/" in paths and not any("webhooks" in p for p in paths)
    codes = set(paths["/api/v1/awsecrimagepullsecrets/{id}/"]["patch"]["responses"])
    assert {"200", "400", "401", "403", "404", "409", "412", "429", "503"} <= codes
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs


@pytest.mark.parametrize(
    "url", [URL, "/api/v1/clusterawsecrimagepullsecrets/", "/api/v1/secrets/", "/api/v1/summary/"]
)
def test_a_list_costs_the_same_number_of_queries_with_many_rows(
    viewer_client, django_assert_num_queries, url
):
    from .test_dashboard import make_rows

    make_rows(9)
    ClusterPullSecret.objects.create(
        cluster=Cluster.default(), name="c", uid="u", secret_name="s", region="eu-west-1", namespaces=["a"]
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert viewer_client.get(url, {"pageSize": 1000} if "summary" not in url else {}).status_code == 200
    make_rows(300, Cluster.objects.create(name="second"))
    with django_assert_num_queries(len(few)):
        viewer_client.get(url, {"pageSize": 1000} if "summary" not in url else {})


def test_the_generated_schema_is_valid_openapi_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/summary/" in (tmp_path / "schema.yaml").read_text()


def test_any_other_api_path_is_a_json_404(viewer_client):
    for path in ("/api/v1/awsecrimagepullsecrets/1.5e-3/", "/api/v1/nothing/", "/api/v2/"):
        response = viewer_client.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "no such API path: see /api/schema/ for the paths there are."}


def test_put_needs_the_whole_object_and_patch_only_what_changes(operator_client, writes):
    row = namespaced_row()
    spec = {"awsAccess": {"accessKeyId": "AKIAEXAMPLE", "region": "eu-west-1"}, "secretName": "ecr-pull"}
    response = operator_client.put(f"{URL}{row.pk}/", {"spec": spec}, format="json")
    assert response.status_code == 400 and response.json() == {"metadata": ["This field is required."]}
    assert operator_client.patch(f"{URL}{row.pk}/", {"spec": spec}, format="json").status_code == 200


# -- the AWS identity ----------------------------------------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"


def secret_ref_body(**aws_access) -> dict:
    body = namespaced_body()
    body["spec"]["awsAccess"] = {"region": "eu-west-1", "secretRef": {"name": "aws-creds"}, **aws_access}
    return body


def test_create_with_keys_in_a_secret_sends_no_key_and_answers_the_reference(operator_client, writes):
    Cluster.default()
    response = operator_client.post(URL, secret_ref_body(roleArn=ROLE), format="json")
    assert response.status_code == 201, response.content
    ((row, key),) = writes
    assert key == "" and row.identity_kind == "secret" and row.credentials_ref == "team-a/aws-creds"
    assert response.json()["spec"]["awsAccess"] == {
        "region": "eu-west-1",
        "roleArn": ROLE,
        "secretRef": {"name": "aws-creds"},
    }
    listed = operator_client.get(URL, {"identity": "secret", "roleArn": ROLE}).json()["results"]
    assert [r["id"] for r in listed] == [response.json()["id"]]


def test_a_patch_switches_the_identity_and_the_writer_gets_the_new_one(operator_client, writes):
    row = namespaced_row()
    response = operator_client.patch(
        f"{URL}{row.pk}/",
        {"spec": {"awsAccess": {"serviceAccountRef": {"name": "puller"}, "roleArn": ROLE}}},
        format="json",
    )
    assert response.status_code == 200, response.content
    ((sent, key),) = writes
    assert (sent.identity_kind, sent.access_key_id, sent.role_arn, key) == ("serviceAccount", "", ROLE, "")
    assert sent.aws_access == {
        "serviceAccountRef": {"name": "puller"},
        "roleArn": ROLE,
        "region": "eu-west-1",
    }
    back = operator_client.patch(
        f"{URL}{row.pk}/", {"spec": {"awsAccess": {"accessKeyId": "AKIANEW"}}}, format="json"
    )
    assert back.status_code == 400
    assert back.json()["spec"]["awsAccess"]["secretAccessKey"][0].startswith("required to switch")


def test_refresh_of_a_resource_with_keys_in_a_secret_names_its_identity(operator_client, monkeypatch):
    monkeypatch.setattr(refresh, "async_task", lambda *args, **kwargs: None)
    row = namespaced_row(identity_kind="secret", access_key_id="", credentials_ref="team-a/aws-creds")
    response = operator_client.post(f"{URL}{row.pk}/refresh/")
    assert response.status_code == 202, response.content
    assert response.json() == {
        "detail": "refresh started for secret team-a/aws-creds in eu-west-1: a new token, and every Secret "
        "that uses it rewritten within seconds.",
        "identity": "secret team-a/aws-creds",
        "accessKeyId": "",
        "region": "eu-west-1",
    }


def test_no_response_ever_holds_the_secret_key_with_keys_in_a_secret(operator_client, writes):
    """The canary as a secret key sent beside a secretRef (refused, never echoed), then a secretRef
    resource read back every way: the canary is nowhere."""
    Cluster.default()
    responses = [operator_client.post(URL, secret_ref_body(secretAccessKey=CANARY), format="json")]
    assert responses[0].status_code == 400
    created = operator_client.post(URL, secret_ref_body(), format="json")
    pk = created.json()["id"]
    responses += [
        created,
        operator_client.patch(
            f"{URL}{pk}/", {"spec": {"awsAccess": {"secretAccessKey": CANARY}}}, format="json"
        ),
        operator_client.put(f"{URL}{pk}/", secret_ref_body(secretAccessKey=CANARY), format="json"),
        operator_client.get(URL),
        operator_client.get(f"{URL}{pk}/"),
    ]
    for response in responses:
        assert CANARY not in response.content.decode()
    assert responses[2].status_code == 400 and responses[3].status_code == 400
    assert CANARY not in json.dumps(list(NamespacedPullSecret.objects.values()), default=str)
    assert all(key == "" for _, key in writes)
