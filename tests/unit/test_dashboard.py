"""The dashboard and list pages: constant query counts, what they show, and roles."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from secrets_app import roles
from secrets_app.choices import ResourceKind, SecretState
from secrets_app.models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret
from secrets_app.services import connectivity

from .conftest import cluster_row

pytestmark = pytest.mark.django_db
NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(autouse=True)
def clusters_reachable(monkeypatch):
    """The connection test is our own service; here every cluster answers as v1.36.3."""
    cache.clear()
    monkeypatch.setattr(connectivity, "test", lambda *args: connectivity.Connection(version="v1.36.3"))


def make_rows(n: int, cluster: Cluster | None = None) -> None:
    cluster = cluster or Cluster.default()
    rows, secrets = [], []
    for i in range(n):
        ready = (True, False, None)[i % 3]
        rows.append(
            NamespacedPullSecret(
                cluster=cluster,
                namespace=f"ns-{i}",
                name=f"pull-{i}",
                uid=f"{cluster.name}-uid-{i}",
                secret_name="ecr",
                access_key_id="AKIA1",
                region="eu-west-1",
                ready=ready,
                reason={True: "SecretsUpdated", False: "GetAWSAuthTokenFailed", None: ""}[ready],
                message="token refused" if ready is False else "",
                expires_at=NOW + datetime.timedelta(hours=12, minutes=i),
                next_refresh=NOW + datetime.timedelta(hours=6, minutes=i),
                transition_time=NOW - datetime.timedelta(minutes=i),
            )
        )
        secrets.append(
            ManagedSecret(
                cluster=cluster,
                namespace=f"ns-{i}",
                name="ecr",
                owner_kind=ResourceKind.NAMESPACED,
                owner_namespace=f"ns-{i}",
                owner_name=f"pull-{i}",
                owner_uid=f"{cluster.name}-uid-{i}",
                state=SecretState.SYNCED if ready else SecretState.FAILED,
            )
        )
    NamespacedPullSecret.objects.bulk_create(rows)
    ManagedSecret.objects.bulk_create(secrets)


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def count_queries(django_assert_max_num_queries, client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/secrets_app/namespacedpullsecret/",
        "/admin/secrets_app/clusterpullsecret/",
        "/admin/secrets_app/managedsecret/",
    ],
)
def test_page_costs_the_same_number_of_queries_with_many_rows(admin_client, django_assert_num_queries, url):
    make_rows(9)
    few = count_queries(None, admin_client, url)
    make_rows(300, Cluster.objects.create(name="second"))
    with django_assert_num_queries(few):
        admin_client.get(url)


def test_dashboard_shows_per_cluster_counts_and_the_problems_longest_failing_first(admin_client):
    make_rows(6)
    html = admin_client.get("/admin/").content.decode()
    assert "<title>Dashboard | ecrcontrol</title>" in html and "Django administration" not in html
    assert 'data-count="ready">2<' in html and 'data-count="failing">2<' in html
    assert 'data-count="pending">2<' in html and 'data-count="synced">2<' in html
    assert 'data-count="failed">4<' in html
    assert html.index("ns-4/pull-4") < html.index("ns-1/pull-1")  # failing 4 min before 1 min
    assert "GetAWSAuthTokenFailed" in html and "token refused" in html
    assert 'title="' in html and "ago</time>" in html  # relative time, absolute on hover


def test_the_problem_list_is_paginated(admin_client):
    make_rows(90)  # 30 failing
    first = admin_client.get("/admin/").content.decode()
    second = admin_client.get("/admin/?page=2").content.decode()
    assert "page 1 of 2" in first and "page 2 of 2" in second
    assert first.count('<td class="message">') == 25 and second.count('<td class="message">') == 5


def test_an_unreachable_cluster_gets_a_banner_and_the_rest_still_works(admin_client, monkeypatch):
    monkeypatch.setattr(
        connectivity, "test", lambda *args: connectivity.Connection(error="API server unreachable: refused")
    )
    make_rows(3)
    html = admin_client.get("/admin/").content.decode()
    assert "Cluster local is unreachable:</strong> API server unreachable: refused" in html
    assert 'data-count="ready">1<' in html


def test_list_filters_by_status_and_expiry_and_searches(admin_client):
    make_rows(6)
    url = "/admin/secrets_app/namespacedpullsecret/"
    listing = admin_client.get(url).content.decode()
    assert '<th scope="col" class="sortable column-status sorted ascending">' in listing  # failing first
    failing = admin_client.get(url, {"status": "failing"}).content.decode()
    assert "ns-1/pull-1" in failing and "ns-0/pull-0" not in failing
    NamespacedPullSecret.objects.filter(name="pull-0").update(expires_at=NOW + datetime.timedelta(minutes=30))
    soon = admin_client.get(url, {"expiring": "1h"}).content.decode()
    assert "ns-0/pull-0" in soon and "ns-1/pull-1" not in soon
    found = admin_client.get(url, {"q": "pull-5"}).content.decode()
    assert "ns-5/pull-5" in found and "ns-4/pull-4" not in found
    assert "badge-green" in failing or "badge-red" in failing


def test_a_viewer_sees_no_edit_control_and_a_forged_post_is_refused(client):
    make_rows(1)
    viewer = User.objects.create_user("eve", password="x", is_staff=True)
    viewer.groups.add(Group.objects.get(name=roles.VIEWERS))
    client.force_login(viewer)
    row = NamespacedPullSecret.objects.get()
    page = client.get(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/change/").content.decode()
    assert 'name="secret_name"' not in page and "Refresh now" not in page and "deletelink" not in page
    listing = client.get("/admin/secrets_app/namespacedpullsecret/").content.decode()
    assert "addlink" not in listing and 'name="action"' not in listing
    shared = cluster_row(cluster=row.cluster, uid="u2")
    page = client.get(f"/admin/secrets_app/clusterpullsecret/{shared.pk}/change/").content.decode()
    assert '<div class="readonly">a, b</div>' in page
    change = client.post(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/change/", {"secret_name": "x"})
    assert change.status_code == 403
    assert client.post(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/refresh/").status_code == 403
    delete = client.post(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert client.post("/admin/secrets_app/cluster/add/", {"name": "x"}).status_code == 403
    assert NamespacedPullSecret.objects.get().secret_name == "ecr"


def test_an_operator_sees_the_edit_controls(client):
    make_rows(1)
    operator = User.objects.create_user("op", password="x", is_staff=True)
    operator.groups.add(Group.objects.get(name=roles.OPERATORS))
    client.force_login(operator)
    row = NamespacedPullSecret.objects.get()
    page = client.get(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/change/").content.decode()
    assert 'name="secret_name"' in page and "Refresh now" in page and "deletelink" in page
    assert 'type="password"' in page


def test_the_delete_confirmation_lists_the_secrets_that_go_with_the_resource(admin_client):
    row = cluster_row()
    ManagedSecret.objects.create(
        cluster=row.cluster,
        namespace="a",
        name="ecr",
        owner_kind=ResourceKind.CLUSTER,
        owner_name="shared",
        owner_uid="u1",
        state=SecretState.SYNCED,
    )
    page = admin_client.get(f"/admin/secrets_app/clusterpullsecret/{row.pk}/delete/").content.decode()
    assert "Secret a/ecr (Synced)" in page and "Secret b/ecr" in page


def test_the_resource_page_shows_each_namespace_and_a_banner_when_events_cannot_be_read(
    admin_client, tmp_path
):
    cluster = Cluster.objects.create(name="gone", kubeconfig_path=str(tmp_path / "gone.yaml"))
    row = cluster_row(cluster=cluster, ready=True, reason="SecretsUpdated")
    page = admin_client.get(f"/admin/secrets_app/clusterpullsecret/{row.pk}/change/").content.decode()
    assert '<tr data-namespace="a">' in page and '<tr data-namespace="b">' in page
    assert f"Events of shared could not be read from cluster gone: kubeconfig file {tmp_path}" in page
    assert 'name="secret_name"' in page  # the rest of the page works
    status = admin_client.get(f"/admin/secrets_app/clusterpullsecret/{row.pk}/status/").content.decode()
    assert "badge-green" in status and "SecretsUpdated" in status


def test_a_delete_the_cluster_does_not_take_is_said_and_the_row_stays(admin_client, tmp_path):
    cluster = Cluster.objects.create(name="gone", kubeconfig_path=str(tmp_path / "gone.yaml"))
    row = cluster_row(cluster=cluster, namespaces=["a"])
    url = f"/admin/secrets_app/clusterpullsecret/{row.pk}/delete/"
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert (
        "ClusterAWSECRImagePullSecret shared was not written: the cluster&#x27;s API server did not answer"
        in (response.content.decode())
    )
    assert ClusterPullSecret.objects.filter(pk=row.pk).exists()
    from django.contrib.admin.models import LogEntry

    assert not LogEntry.objects.exists()  # no deletion logged for a delete that did not happen


# -- the AWS identity ----------------------------------------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"


def secret_row(**changes) -> NamespacedPullSecret:
    make_rows(1)
    row = NamespacedPullSecret.objects.get()
    fields = {
        "identity_kind": "secret",
        "access_key_id": "",
        "credentials_ref": "ns-0/aws-creds",
        "role_arn": ROLE,
        "aws_access": {"secretRef": {"name": "aws-creds"}, "roleArn": ROLE, "region": "eu-west-1"},
        "observed_generation": 0,
        **changes,
    }
    NamespacedPullSecret.objects.filter(pk=row.pk).update(**fields)
    return NamespacedPullSecret.objects.get(pk=row.pk)


def test_the_lists_show_the_identity_and_the_role_and_filter_by_kind(admin_client):
    row = secret_row()
    make_rows(2, Cluster.objects.create(name="second"))  # inline keys, no role
    url = "/admin/secrets_app/namespacedpullsecret/"
    listing = admin_client.get(url).content.decode()
    assert '<th scope="col" class="sortable column-identity">' in listing
    assert '<th scope="col" class="sortable column-role">' in listing
    assert (
        '<td class="field-identity"><span title="Keys in a Secret: ns-0/aws-creds">Secret '
        '<span class="muted identity-ref">aws-creds</span></span></td>'
    ) in listing
    assert f'<td class="field-role"><span class="role-name" title="{ROLE}">ecr-puller</span></td>' in listing
    assert '<span title="Keys in the resource">Inline keys</span>' in listing
    only = admin_client.get(url, {"identity_kind__exact": "secret"}).content.decode()
    assert f"{row.namespace}/{row.name}" in only and "ns-1/pull-1" not in only
    shared = cluster_row(
        uid="u2", identity_kind="serviceAccount", credentials_ref="team-a/puller", role_arn=ROLE
    )
    listing = admin_client.get("/admin/secrets_app/clusterpullsecret/").content.decode()
    assert 'ServiceAccount <span class="muted identity-ref">team-a/puller</span>' in listing
    assert shared.name in listing


def test_the_resource_page_shows_the_identity_the_controller_uses_near_the_status(admin_client):
    row = secret_row(status_identity={"kind": "secret", "roleArn": ROLE, "accessKeyIdSuffix": "0042"})
    page = admin_client.get(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/change/").content.decode()
    status = page[
        page.index('id="status-identity"') : page.index("</td>", page.index('id="status-identity"'))
    ]
    assert "Keys in a Secret" in status and "<code>ns-0/aws-creds</code>" in status and ROLE in status
    assert "<code>0042</code>" in status  # the key ID's end, which only the controller knows
    inline = cluster_row(
        observed_generation=0, status_identity={"kind": "inline", "accessKeyIdSuffix": "KIA1"}
    )
    fragment = admin_client.get(f"/admin/secrets_app/clusterpullsecret/{inline.pk}/status/").content.decode()
    assert "Keys in the resource" in fragment and "access key ID ending in" in fragment
    assert "<code>KIA1</code>" in fragment
    NamespacedPullSecret.objects.filter(pk=row.pk).update(generation=5)  # an edit not processed yet
    fragment = admin_client.get(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/status/").content.decode()
    after = fragment[fragment.index('id="status-identity"') :]
    assert after[: after.index("</td>")].split(">", 1)[1].strip() == "-"


def test_the_change_form_offers_the_four_identities_with_the_chosen_ones_fields(admin_client):
    row = secret_row()
    page = admin_client.get(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/change/").content.decode()
    for value in ("inline", "secret", "serviceAccount", "ambient"):
        assert f'name="identity_kind" value="{value}"' in page
    assert 'value="secret" class="radiolist" required id="id_identity_kind_1" checked>' in page
    assert 'class="module aligned identity identity-secret"' in page
    assert 'name="secret_ref_name" value="aws-creds"' in page
    assert 'name="secret_ref_namespace"' not in page  # its own namespace, always
    assert f'name="role_arn" value="{ROLE}"' in page
    assert 'name="secret_access_key"' in page and "Required to switch to keys in the resource." in page
    cluster = cluster_row()
    page = admin_client.get(f"/admin/secrets_app/clusterpullsecret/{cluster.pk}/change/").content.decode()
    assert 'name="secret_ref_namespace"' in page and 'name="service_account_namespace"' in page


def test_a_viewer_sees_the_identity_in_words(client):
    row = secret_row()
    viewer = User.objects.create_user("vic", password="x", is_staff=True)
    viewer.groups.add(Group.objects.get(name=roles.VIEWERS))
    client.force_login(viewer)
    page = client.get(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/change/").content.decode()
    assert (
        '<div class="readonly">Keys in a Secret: ns-0/aws-creds; keys AWS_ACCESS_KEY_ID, '
        "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN</div>"
    ) in page
    assert f'<div class="readonly">{ROLE}</div>' in page
    assert 'name="secret_ref_name"' not in page


def test_refresh_now_names_an_identity_without_keys_in_words(admin_client, monkeypatch):
    from secrets_app.services.identity import refresh

    monkeypatch.setattr(refresh, "async_task", lambda *args, **kwargs: None)
    row = secret_row()
    response = admin_client.post(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/refresh/", follow=True)
    assert (
        f"Refresh started for the keys in Secret ns-0/aws-creds as {ROLE} in eu-west-1"
        in response.content.decode()
    )
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.filter(change_message="Refresh now requested.").count() == 1
    other = cluster_row(uid="u2", identity_kind="ambient", access_key_id="", region="us-east-1")
    listing = "/admin/secrets_app/clusterpullsecret/"
    response = admin_client.post(
        listing, {"action": "refresh_now", "_selected_action": [other.pk]}, follow=True
    )
    assert "Refresh started for the operator&#x27;s own identity in us-east-1" in response.content.decode()
    assert LogEntry.objects.filter(change_message="Refresh now requested.").count() == 2
