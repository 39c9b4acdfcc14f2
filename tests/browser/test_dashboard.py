"""The dashboard in headless Chromium against the real stack: what an on-call engineer sees and does.

Every page a test sees is checked for the secret key canary (see conftest.Session), and so are
the processes' logs, the database file and the admin history.
"""

from __future__ import annotations

import re
import subprocess

from kubernetes import client

from devstack.controlplane import ControlPlane
from tests.integration.conftest import CHART_CRDS, apply_crds
from tests.integration.helpers import (
    CANARY_SECRET,
    GROUP,
    VERSION,
    create_cluster_resource,
    create_namespace,
    create_namespaced_resource,
    get_cluster_resource_or_none,
    is_ready,
    kubectl,
    read_secret,
    unique,
    wait_for,
)
from tests.settings import TEST_DB

READY_TIMEOUT = 90
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"


def wait_ready_in_cluster(read) -> dict:
    return wait_for(lambda: is_ready(read()) and read(), timeout=READY_TIMEOUT)


def assert_canary_absent_from_db_and_history() -> None:
    from django.contrib.admin.models import LogEntry

    for entry in LogEntry.objects.all():
        assert CANARY_SECRET not in entry.change_message + entry.object_repr
    # The database file, its WAL and shared memory, read by another process: closing a file this
    # process opened would drop its SQLite locks (POSIX locks are per process), corrupting the DB.
    files = [str(p) for p in TEST_DB.parent.glob(TEST_DB.name + "*")]
    found = subprocess.run(["grep", "-F", "-l", "-a", CANARY_SECRET, *files], capture_output=True, text=True)
    assert found.returncode == 1, f"the secret key is in {found.stdout or found.stderr}"


def test_dashboard_counts_match_the_cluster_and_the_failing_resource_is_listed_first(
    stack, open_session, kube_api, namespace, ecr
):
    good = create_namespaced_resource(kube_api, namespace, "good", secret_name="ecr-good")
    custom = client.CustomObjectsApi(kube_api)
    read_good = lambda: custom.get_namespaced_custom_object(  # noqa: E731
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", "good"
    )
    wait_ready_in_cluster(read_good)
    ecr.fail_with = 403  # ECR refuses the next identity's token: that resource fails
    try:
        create_namespaced_resource(
            kube_api, namespace, "broken", secret_name="ecr-broken", key_id="AKIABROKEN"
        )
        read_broken = lambda: custom.get_namespaced_custom_object(  # noqa: E731
            GROUP, VERSION, namespace, "awsecrimagepullsecrets", "broken"
        )
        wait_for(lambda: (read_broken().get("status") or {}).get("conditions"), timeout=READY_TIMEOUT)
    finally:
        ecr.fail_with = None
    assert good["metadata"]["name"] == "good"

    items = custom.list_cluster_custom_object(GROUP, VERSION, "awsecrimagepullsecrets")["items"]
    ready = sum(is_ready(i) for i in items)
    secrets = client.CoreV1Api(kube_api).list_secret_for_all_namespaces(
        label_selector="app.kubernetes.io/managed-by=ecrcontrol"
    )
    session = open_session()
    card = session.page.locator("#cluster-local")

    def counts_match() -> bool:
        session.go("/admin/")
        return (
            card.locator('[data-count="ready"]').inner_text() == str(ready)
            and card.locator('[data-count="failing"]').inner_text() == str(len(items) - ready)
            and card.locator('[data-count="synced"]').inner_text() == str(len(secrets.items))
        )

    wait_for(counts_match, timeout=30, interval=1)
    assert session.page.title() == "Dashboard | ecrcontrol"
    problems = session.page.locator("#problems")
    assert f"{namespace}/broken" in problems.inner_text() and f"{namespace}/good" not in problems.inner_text()
    session.shot("dashboard")
    assert session.fits_width(), "horizontal scroll at 1366 px"

    session.go("/admin/secrets_app/namespacedpullsecret/")
    rows = session.page.locator("#result_list tbody tr")
    assert f"{namespace}/broken" in rows.nth(0).inner_text()  # failing first
    assert "Failing" in rows.nth(0).inner_text() and "Ready" in rows.nth(1).inner_text()
    assert session.page.locator("#result_list time[title]").count() > 0  # absolute time on hover
    session.shot("list-awsecrimagepullsecrets")
    assert session.fits_width(), "horizontal scroll at 1366 px"
    session.go("/admin/secrets_app/namespacedpullsecret/?status=failing")
    assert session.page.locator("#result_list tbody tr").count() == 1
    session.go("/admin/secrets_app/managedsecret/")
    session.shot("list-managed-secrets")
    assert session.fits_width(), "horizontal scroll at 1366 px"


def test_create_through_the_form_after_a_webhook_denial_then_refresh_and_delete(
    stack, open_session, kube_api, namespace
):
    from django.contrib.admin.models import ADDITION, DELETION, LogEntry

    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="taken"), string_data={"a": "b"})
    )
    session = open_session()
    page = session.page
    session.go("/admin/secrets_app/namespacedpullsecret/add/")
    page.fill("#id_namespace", namespace)
    page.fill("#id_name", "web")
    page.fill("#id_secret_name", "taken")
    page.fill("#id_access_key_id", "AKIAIOSFODNN7EXAMPLE")
    page.fill("#id_secret_access_key", CANARY_SECRET)
    page.fill("#id_region", "eu-west-1")
    session.submit("input[name=_save]")
    denial = page.locator(".field-secret_name .errorlist").inner_text()
    assert denial.startswith(f"secret taken already exists in namespace {namespace}, you can choose")
    assert page.input_value("#id_secret_access_key") == ""  # never rendered back
    assert page.input_value("#id_name") == "web"
    session.shot("form-webhook-denial")

    page.fill("#id_secret_name", "ecr-web")
    page.fill("#id_secret_access_key", CANARY_SECRET)
    session.submit("input[name=_save]")
    page.locator("#ready-status .badge-green").wait_for(timeout=READY_TIMEOUT * 1000)  # no reload by hand
    assert "Ready" in page.locator("#ready-status").inner_text()
    page.locator("#managed-secrets tr[data-namespace] .badge-green").wait_for()
    secret = read_secret(kube_api, namespace, "ecr-web")
    assert secret is not None and secret.type == "kubernetes.io/dockerconfigjson"
    url = page.url

    def event_shown() -> bool:
        session.go(url)  # the Events are read from the cluster at page load
        return "SecretCreationSuccess" in page.locator("#events").inner_text()

    wait_for(event_shown, timeout=30, interval=1)
    session.shot("resource-page")

    session.submit("#refresh-now")
    assert "Refresh started for access key AKIAIOSFODNN7EXAMPLE in eu-west-1" in page.inner_text(
        ".messagelist"
    )
    session.submit("#refresh-now")
    assert "the next manual refresh is allowed at" in page.inner_text(".messagelist")

    session.go(page.locator("a.deletelink").get_attribute("href"))
    confirmation = page.inner_text("#content")
    assert f"Secret {namespace}/ecr-web (Synced)" in confirmation
    session.shot("delete-confirmation")
    session.submit("input[type=submit]")
    assert "was deleted successfully" in page.inner_text(".messagelist")
    wait_for(lambda: read_secret(kube_api, namespace, "ecr-web") is None, timeout=60)

    mine = LogEntry.objects.filter(user__username="alice", object_repr=f"{namespace}/web")
    assert set(mine.values_list("action_flag", flat=True)) >= {ADDITION, DELETION}
    assert mine.filter(change_message__contains="Refresh now requested").exists()
    assert_canary_absent_from_db_and_history()


def test_adding_a_namespace_writes_its_secret_and_a_kubectl_edit_in_between_is_a_conflict(
    stack, open_session, kube_api, control_plane
):
    name, first, second = unique("shared"), unique("ns"), unique("ns")
    for ns in (first, second):
        create_namespace(kube_api, ns)
    create_cluster_resource(kube_api, name, [first], secret_name="ecr-shared")
    wait_ready_in_cluster(lambda: get_cluster_resource_or_none(kube_api, name))
    from secrets_app.models import ClusterPullSecret

    row = wait_for(lambda: ClusterPullSecret.objects.filter(name=name).first(), timeout=30)
    session = open_session()
    page = session.page
    session.go(f"/admin/secrets_app/clusterpullsecret/{row.pk}/change/")
    page.fill("#id_namespaces", f"{first}\n{second}")

    patch = '{"spec":{"awsAccess":{"region":"us-east-1"}}}'
    edited = kubectl(control_plane, "patch", "caeps", name, "--type=merge", "-p", patch)
    assert edited.returncode == 0, edited.stderr
    session.submit("input[name=_save]")
    error = page.inner_text("ul.errorlist.nonfield")
    assert re.search(
        rf"ClusterAWSECRImagePullSecret {name} was changed in the cluster since you loaded it", error
    )
    assert second in page.input_value("#id_namespaces")  # the input is kept
    assert read_secret(kube_api, second, "ecr-shared") is None  # nothing was overwritten
    assert get_cluster_resource_or_none(kube_api, name)["spec"]["awsAccess"]["region"] == "us-east-1"
    session.shot("form-conflict")

    session.go(f"/admin/secrets_app/clusterpullsecret/{row.pk}/change/")
    assert page.input_value("#id_region") == "us-east-1"
    page.fill("#id_namespaces", f"{first}\n{second}")
    session.submit("input[name=_save]")
    page.locator(f'#managed-secrets tr[data-namespace="{second}"] .badge-green').wait_for(
        timeout=READY_TIMEOUT * 1000
    )
    assert read_secret(kube_api, second, "ecr-shared") is not None
    assert get_cluster_resource_or_none(kube_api, name)["spec"]["namespaces"] == [first, second]

    session.go("/admin/secrets_app/clusterpullsecret/")
    page.check(f'#result_list tr:has-text("{name}") input.action-select')
    page.select_option("select[name=action]", "refresh_now")
    session.submit("button[name=index]")
    messages = page.inner_text(".messagelist")
    assert "Refresh started for access key AKIAIOSFODNN7EXAMPLE in us-east-1" in messages
    session.shot("list-cluster-resources")
    assert_canary_absent_from_db_and_history()


def test_a_viewer_sees_no_edit_control_and_a_forged_post_is_refused(stack, open_session, kube_api):
    from django.contrib.auth.models import Group, User

    from secrets_app import roles
    from secrets_app.models import ClusterPullSecret

    viewer = User.objects.create_user("victor", password="browser-test-password", is_staff=True)
    viewer.groups.add(Group.objects.get(name=roles.VIEWERS))
    name, ns = unique("seen"), unique("ns")
    create_namespace(kube_api, ns)
    create_cluster_resource(kube_api, name, [ns])
    row = wait_for(lambda: ClusterPullSecret.objects.filter(name=name).first(), timeout=30)
    session = open_session("victor")
    page = session.page
    session.go(f"/admin/secrets_app/clusterpullsecret/{row.pk}/change/")
    assert page.locator("#id_secret_name").count() == 0 and page.locator("#refresh-now").count() == 0
    assert page.locator("input[name=_save], a.deletelink").count() == 0
    session.shot("resource-page-viewer")
    session.go("/admin/secrets_app/clusterpullsecret/")
    assert page.locator("a.addlink, select[name=action]").count() == 0

    token = next(c["value"] for c in session.context.cookies() if c["name"] == "csrftoken")
    url = f"/admin/secrets_app/clusterpullsecret/{row.pk}/change/"
    forged = {"csrfmiddlewaretoken": token, "secret_name": "stolen", "namespaces": ns, "region": "eu-west-1"}
    headers = {"Referer": stack["web"].url + url}
    assert page.request.post(url, form=forged, headers=headers).status == 403
    refresh = page.request.post(url.replace("change", "refresh"), form=forged, headers=headers)
    assert refresh.status == 403
    assert get_cluster_resource_or_none(kube_api, name)["spec"]["secretName"] == "ecr-pull"


def test_a_second_cluster_added_in_the_admin_is_watched_without_a_restart(stack, open_session, tmp_path):
    session = open_session()
    page = session.page
    session.go("/admin/secrets_app/cluster/add/")
    page.fill("#id_name", "nowhere")
    page.fill("#id_kubeconfig_path", str(tmp_path / "missing.yaml"))
    session.submit("input[name=_save]")
    assert page.inner_text("ul.errorlist.nonfield") == (
        f"Connection test failed: kubeconfig file {tmp_path / 'missing.yaml'} does not exist (or is not a "
        "file): give its full path."
    )

    with ControlPlane() as far:
        api = client.ApiClient(
            __import__("kubernetes")
            .config.new_client_from_config(config_file=str(far.kubeconfig))
            .configuration
        )
        apply_crds(api, CHART_CRDS)
        create_cluster_resource(api, "far-away", ["default"], secret_name="ecr-far")
        session.go("/admin/secrets_app/cluster/add/")
        page.fill("#id_name", "second")
        page.fill("#id_kubeconfig_path", str(far.kubeconfig))
        session.submit("input[name=_save]")
        assert re.search(
            r"Connection test: API server v1\.\d+\.\d+ answered", page.inner_text(".messagelist")
        )

        def listed_ready() -> bool:
            session.go("/admin/secrets_app/clusterpullsecret/?cluster__id__exact=" + _cluster_pk("second"))
            row = page.locator('#result_list tr:has-text("far-away")')
            return row.count() == 1 and "Ready" in row.inner_text()

        wait_for(listed_ready, timeout=READY_TIMEOUT, interval=1)
        assert read_secret(api, "default", "ecr-far") is not None
        session.go("/admin/")
        assert page.locator("#cluster-second").count() == 1
        session.shot("dashboard-two-clusters")

        session.go(f"/admin/secrets_app/cluster/{_cluster_pk('second')}/delete/")
        assert "Nothing is deleted in the cluster itself." in page.inner_text("#content")
        session.submit("input[type=submit]")
        controller_log = stack["operator"].controller.log_path
        wait_for(
            lambda: "stopping the controller of cluster second" in controller_log.read_text(), timeout=15
        )
        api.close()


def _cluster_pk(name: str) -> str:
    from secrets_app.models import Cluster

    return str(Cluster.objects.get(name=name).pk)


def test_create_with_keys_in_a_secret_through_the_form_and_see_it_ready(
    stack, open_session, kube_api, namespace, ecr
):
    """The Secret holds the keys (the canary as the secret key): chosen in the form by name only."""
    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="aws-creds"),
            string_data={"AWS_ACCESS_KEY_ID": "AKIABROWSERREF000001", "AWS_SECRET_ACCESS_KEY": CANARY_SECRET},
        ),
    )
    session = open_session()
    page = session.page
    session.go("/admin/secrets_app/namespacedpullsecret/add/")
    assert page.is_checked("#id_identity_kind_0")  # keys in the resource, as the seed operator has them
    assert page.is_visible("#id_access_key_id") and not page.is_visible("#id_secret_ref_name")
    page.fill("#id_namespace", namespace)
    page.fill("#id_name", "by-ref")
    page.fill("#id_secret_name", "ecr-by-ref")
    page.fill("#id_region", "eu-west-1")
    page.check('input[name="identity_kind"][value="secret"]')
    assert page.is_visible("#id_secret_ref_name") and not page.is_visible("#id_access_key_id")
    assert not page.is_visible("#id_service_account_name") and page.is_visible("#id_role_arn")
    page.fill("#id_secret_ref_name", "AWS_Creds")
    session.shot("form-identity-secret")
    session.submit("input[name=_save]")
    error = page.locator(".field-secret_ref_name .errorlist").inner_text()
    assert error.startswith("spec.awsAccess.secretRef.name 'AWS_Creds' is not a valid Kubernetes name")
    assert page.is_checked('input[name="identity_kind"][value="secret"]')  # the choice is kept...
    assert page.is_visible("#id_secret_ref_name")  # ...and so is its fieldset
    session.shot("form-identity-error")

    page.fill("#id_secret_ref_name", "aws-creds")
    session.submit("input[name=_save]")
    try:
        page.locator("#ready-status .badge-green").wait_for(timeout=READY_TIMEOUT * 1000)
    except Exception:
        session.shot("resource-page-secret-ref-not-ready")
        raise AssertionError(f"not Ready: {page.inner_text('#status-module')}") from None
    identity = page.locator("#status-identity")
    identity.get_by_text(f"{namespace}/aws-creds").wait_for()
    assert "Keys in a Secret" in identity.inner_text()
    custom = client.CustomObjectsApi(kube_api)
    body = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "awsecrimagepullsecrets", "by-ref")
    assert body["spec"]["awsAccess"] == {"region": "eu-west-1", "secretRef": {"name": "aws-creds"}}
    assert read_secret(kube_api, namespace, "ecr-by-ref") is not None
    assert "AKIABROWSERREF000001" in [s.access_key_id for s in ecr.token_signers]
    assert page.input_value("#id_secret_ref_name") == "aws-creds"
    session.shot("resource-page-secret-ref")

    # Two more beside it, applied with kubectl's API: a role assumed from the Secret's keys, and a
    # ServiceAccount's web identity (that ServiceAccount does not exist: it fails).
    for name, aws_access in (
        ("with-role", {"secretRef": {"name": "aws-creds"}, "roleArn": ROLE, "externalId": "team-a-7"}),
        ("web-identity", {"serviceAccountRef": {"name": "puller"}, "roleArn": ROLE}),
    ):
        manifest = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AWSECRImagePullSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"awsAccess": {"region": "eu-west-1", **aws_access}, "secretName": f"ecr-{name}"},
        }
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "awsecrimagepullsecrets", manifest)
    from secrets_app.models import NamespacedPullSecret

    wait_for(
        lambda: NamespacedPullSecret.objects.filter(namespace=namespace, ready__isnull=False).count() == 3
    )
    session.go(f"/admin/secrets_app/namespacedpullsecret/?q={namespace}")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    web_identity = page.locator('#result_list tr:has-text("web-identity")')
    assert "ServiceAccount" in web_identity.inner_text() and "ecr-puller" in web_identity.inner_text()
    assert web_identity.locator(f'.field-role span[title="{ROLE}"]').count() == 1  # the whole ARN on hover
    session.shot("list-identities")
    assert session.fits_width(), "horizontal scroll at 1366 px"
    session.go(f"/admin/secrets_app/namespacedpullsecret/?identity_kind__exact=secret&q={namespace}")
    assert rows.count() == 2 and "Secret aws-creds" in rows.first.inner_text().replace("\n", " ")

    session.go("/admin/secrets_app/clusterpullsecret/add/")
    page.check('input[name="identity_kind"][value="serviceAccount"]')
    assert page.is_visible("#id_service_account_namespace") and not page.is_visible("#id_secret_ref_name")
    session.shot("form-identity-service-account")
    assert_canary_absent_from_db_and_history()
