"""Reach (issue 21), against the real API server and the local ECR: namespaces chosen by label,
ServiceAccounts given the pull Secret, and several registries in one Secret.

Where a time is given (a namespace selected within 5 s, a removed entry restored within 15 s) the
tests wait longer than that, so that a loaded machine does not fail them: `make bench` measures it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from secrets_app.kube.api import Kube
from secrets_app.services.targets import service_accounts

from .helpers import (
    GROUP,
    VERSION,
    aws_access,
    get_cluster_resource,
    get_namespaced_resource,
    is_ready,
    read_secret,
    unique,
    wait_for,
)

SECRET = "ecr-pull"
LIVE = 20  # seconds: what "within 5 s" gets here (the benchmark measures it)
FAST_REFRESH = {"ECRCONTROL_MIN_REFRESH_SECONDS": "1"}


@pytest.fixture
def namespaces(kube_api):
    """Create namespaces (with labels) for one test; all deleted afterwards."""
    core, made = client.CoreV1Api(kube_api), []

    def make(labels: dict | None = None, name: str | None = None) -> str:
        name = name or f"t-{uuid.uuid4().hex[:10]}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
        made.append(name)
        return name

    yield make
    for name in made:
        with contextlib.suppress(ApiException):
            core.patch_namespace(name, {"metadata": {"finalizers": None}})
            core.delete_namespace(name)


def cluster_resource(api, name: str, **spec) -> dict:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": name},
        "spec": {"awsAccess": aws_access(), "secretName": SECRET, **spec},
    }
    return client.CustomObjectsApi(api).create_cluster_custom_object(
        GROUP, VERSION, "clusterawsecrimagepullsecrets", body
    )


def namespaced_resource(api, namespace: str, name: str, region: str = "eu-west-1", **spec) -> dict:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"awsAccess": aws_access(region=region), "secretName": SECRET, **spec},
    }
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", body
    )


def patch_cluster_resource(api, name: str, spec: dict) -> None:
    client.CustomObjectsApi(api).patch_cluster_custom_object(
        GROUP, VERSION, "clusterawsecrimagepullsecrets", name, {"spec": spec}
    )


def label(api, namespace: str, labels: dict) -> None:
    client.CoreV1Api(api).patch_namespace(namespace, {"metadata": {"labels": labels}})


def has_secret(api, namespace: str) -> bool:
    return read_secret(api, namespace, SECRET) is not None


def pull_secrets(api, namespace: str, account: str) -> list[str]:
    """The ServiceAccount's imagePullSecrets names ([] while it does not exist: a new namespace's
    `default` comes a moment after the namespace)."""
    try:
        found = client.CoreV1Api(api).read_namespaced_service_account(account, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise
    return [ref.name for ref in found.image_pull_secrets or []]


def make_account(api, namespace: str, name: str, pull: list[str] | None = None) -> None:
    refs = [client.V1LocalObjectReference(name=n) for n in pull] if pull else None
    client.CoreV1Api(api).create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name), image_pull_secrets=refs)
    )


def auths(api, namespace: str) -> dict:
    secret = read_secret(api, namespace, SECRET)
    return json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))["auths"]


def status_namespaces(body: dict) -> dict[str, dict]:
    return {entry["namespace"]: entry for entry in (body.get("status") or {}).get("namespaces") or []}


# -- namespaces by label ----------------------------------------------------------------------
def test_a_selector_follows_namespace_labels_in_and_out_and_adds_to_the_listed_ones(
    kube_api, operator, namespaces
):
    team = unique("team")
    listed = namespaces()
    labelled = namespaces({"team": team})
    plain = namespaces()
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_secret(plain, client.V1Secret(metadata=client.V1ObjectMeta(name="theirs")))
    name = unique("sel")
    cluster_resource(kube_api, name, namespaces=[listed], namespaceSelector={"matchLabels": {"team": team}})

    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)), LIVE)
    assert has_secret(kube_api, listed) and has_secret(kube_api, labelled)
    assert not has_secret(kube_api, plain)
    assert set(status_namespaces(get_cluster_resource(kube_api, name))) == {listed, labelled}

    label(kube_api, plain, {"team": team})  # labelled into the selection
    wait_for(lambda: has_secret(kube_api, plain), LIVE)
    created = namespaces({"team": team})  # created with the label
    wait_for(lambda: has_secret(kube_api, created), LIVE)

    label(kube_api, plain, {"team": None})  # labelled out: only our Secret goes
    wait_for(lambda: not has_secret(kube_api, plain), LIVE)
    assert core.read_namespaced_secret("theirs", plain)
    label(kube_api, listed, {"team": "someone-else"})  # listed by name: stays whatever its labels
    body = wait_for(
        lambda: (
            (b := get_cluster_resource(kube_api, name))
            and set(status_namespaces(b)) == {listed, labelled, created}
            and b
        ),
        LIVE,
    )
    assert is_ready(body) and has_secret(kube_api, listed)


def test_not_in_excludes_namespaces_by_name_and_a_terminating_namespace_is_skipped_without_failure(
    kube_api, operator, namespaces
):
    team = unique("team")
    kept, excluded = namespaces({"team": team}), namespaces({"team": team})
    name = unique("notin")
    cluster_resource(
        kube_api,
        name,
        namespaceSelector={
            "matchLabels": {"team": team},
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [excluded]}
            ],
        },
    )
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)), LIVE)
    assert has_secret(kube_api, kept) and not has_secret(kube_api, excluded)

    # A namespace held in Terminating by a finalizer, then selected: skipped, not a failure.
    dying = namespaces({"team": "nobody"})
    core = client.CoreV1Api(kube_api)
    core.patch_namespace(dying, {"metadata": {"finalizers": ["example.com/hold"]}})
    core.delete_namespace(dying)
    wait_for(lambda: core.read_namespace(dying).status.phase == "Terminating", LIVE)
    label(kube_api, dying, {"team": team})
    fresh = namespaces({"team": team})  # something that does bring a reconcile
    wait_for(lambda: has_secret(kube_api, fresh), LIVE)
    body = wait_for(
        lambda: (b := get_cluster_resource(kube_api, name)) and fresh in status_namespaces(b) and b
    )
    assert is_ready(body), body["status"]
    assert dying not in status_namespaces(body) and not has_secret(kube_api, dying)


# -- ServiceAccounts --------------------------------------------------------------------------
def test_listed_service_accounts_get_the_entry_after_theirs_and_lose_only_it_when_unlisted(
    kube_api, operator, namespace
):
    make_account(kube_api, namespace, "builder", pull=["theirs", "also-theirs"])
    namespaced_resource(kube_api, namespace, "pull", serviceAccounts=["builder"])
    wait_for(lambda: pull_secrets(kube_api, namespace, "builder") == ["theirs", "also-theirs", SECRET], LIVE)
    body = wait_for(lambda: (b := get_namespaced_resource(kube_api, namespace, "pull")) and is_ready(b) and b)
    assert status_namespaces(body)[namespace]["serviceAccounts"] == ["builder"]
    assert SECRET not in pull_secrets(kube_api, namespace, "default")  # not listed: left alone
    core = client.CoreV1Api(kube_api)
    wait_for(  # events are recorded after the status is written
        lambda: any(
            e.reason == "ServiceAccountPatched" and "builder" in e.message
            for e in core.list_namespaced_event(namespace, field_selector="involvedObject.name=pull").items
        )
    )

    client.CustomObjectsApi(kube_api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", "pull", {"spec": {"serviceAccounts": None}}
    )
    wait_for(lambda: pull_secrets(kube_api, namespace, "builder") == ["theirs", "also-theirs"], LIVE)


def test_star_covers_every_service_account_including_later_ones_and_restores_a_removed_entry(
    kube_api, operator, namespace
):
    namespaced_resource(kube_api, namespace, "pull", serviceAccounts=["*"])
    wait_for(lambda: SECRET in pull_secrets(kube_api, namespace, "default"), LIVE)

    make_account(kube_api, namespace, "late", pull=["theirs"])  # created later
    wait_for(lambda: pull_secrets(kube_api, namespace, "late") == ["theirs", SECRET], LIVE)

    # Removed by hand: put back, after the entries that are there.
    client.CoreV1Api(kube_api).patch_namespaced_service_account(
        "late", namespace, {"imagePullSecrets": [{"name": "theirs"}, {"name": "added-meanwhile"}]}
    )
    wait_for(lambda: pull_secrets(kube_api, namespace, "late") == ["theirs", "added-meanwhile", SECRET], LIVE)

    # Deleted: every entry it made goes, the others stay.
    client.CustomObjectsApi(kube_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", "pull"
    )
    wait_for(lambda: pull_secrets(kube_api, namespace, "late") == ["theirs", "added-meanwhile"], LIVE)
    wait_for(lambda: SECRET not in pull_secrets(kube_api, namespace, "default"), LIVE)


def test_a_concurrent_edit_between_read_and_patch_is_kept_in_order(kube_api, control_plane, namespace):
    """The patch is pinned to the list as read (JSON patch `test`): an entry someone added after
    the read is not overwritten; ours goes after it, from a fresh read."""
    make_account(kube_api, namespace, "builder", pull=["first"])
    kube = Kube(kube_api)
    stale = kube.get_service_account(namespace, "builder")
    client.CoreV1Api(kube_api).patch_namespaced_service_account(
        "builder", namespace, {"imagePullSecrets": [{"name": "first"}, {"name": "concurrent"}]}
    )
    outcome = service_accounts.sync(kube, namespace, {"serviceAccounts": ["builder"]}, SECRET, [stale])
    assert outcome.patched == ["builder"] and not outcome.failed
    assert pull_secrets(kube_api, namespace, "builder") == ["first", "concurrent", SECRET]

    stale = kube.get_service_account(namespace, "builder")
    client.CoreV1Api(kube_api).patch_namespaced_service_account(
        "builder",
        namespace,
        {"imagePullSecrets": [{"name": SECRET}, {"name": "first"}, {"name": "concurrent"}]},
    )  # reordered meanwhile: our entry moved to the front
    assert service_accounts.release(kube, namespace, SECRET, [stale]) == ["builder"]
    assert pull_secrets(kube_api, namespace, "builder") == ["first", "concurrent"]


def test_a_namespace_leaving_the_selection_loses_the_entry(kube_api, operator, namespaces):
    team = unique("team")
    ns = namespaces({"team": team})
    name = unique("sa")
    cluster_resource(
        kube_api, name, namespaceSelector={"matchLabels": {"team": team}}, serviceAccounts=["default"]
    )
    wait_for(lambda: SECRET in pull_secrets(kube_api, ns, "default"), LIVE)
    label(kube_api, ns, {"team": None})
    wait_for(
        lambda: SECRET not in pull_secrets(kube_api, ns, "default") and not has_secret(kube_api, ns), LIVE
    )
    removed = f"removed secret {SECRET} from the imagePullSecrets of ServiceAccount {ns}/default"
    core = client.CoreV1Api(kube_api)
    wait_for(
        lambda: any(
            e.reason == "ServiceAccountPatched" and e.message == removed
            for e in core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items
        )
    )


def deny_service_account_updates(api, namespace: str) -> str:
    """An admission policy refusing every ServiceAccount update in `namespace`; returns its name."""
    policy = unique("deny-sa")
    admission = client.AdmissionregistrationV1Api(api)
    admission.create_validating_admission_policy(
        {
            "metadata": {"name": policy},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["UPDATE"],
                            "resources": ["serviceaccounts"],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": "ServiceAccounts here are frozen"}],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {
            "metadata": {"name": policy},
            "spec": {
                "policyName": policy,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        }
    )
    return policy


# The chart's ClusterRole, but ServiceAccounts may only be patched where a RoleBinding allows it.
OPERATOR_RULES = [
    {"apiGroups": [GROUP], "resources": ["*"], "verbs": ["*"]},
    {
        "apiGroups": [""],
        "resources": ["secrets"],
        "verbs": ["get", "list", "watch", "create", "update", "delete"],
    },
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]},
]


def operator_without_patch_rights(api, control_plane, tmp_path, may_patch_in: str):
    """A kubeconfig of a ServiceAccount with OPERATOR_RULES, and patch on ServiceAccounts only in
    `may_patch_in`; returns (kubeconfig path, cleanup)."""
    home, name = unique("op-home"), unique("ecrcontrol-op")
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=home)))
    core.create_namespaced_service_account(
        home, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
    )
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": home}]
    rbac.create_cluster_role({"metadata": {"name": name}, "rules": OPERATOR_RULES})
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": subject,
        }
    )
    patcher = f"{name}-patch"
    rbac.create_cluster_role(
        {
            "metadata": {"name": patcher},
            "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["patch"]}],
        }
    )
    rbac.create_namespaced_role_binding(
        may_patch_in,
        {
            "metadata": {"name": patcher},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": patcher},
            "subjects": subject,
        },
    )
    token = core.create_namespaced_service_account_token(
        name, home, {"spec": {"expirationSeconds": 3600}}
    ).status.token
    config = json.loads(control_plane.kubeconfig.read_text())
    config["users"] = [{"name": "admin", "user": {"token": token}}]
    path = tmp_path / "restricted.kubeconfig"
    path.write_text(json.dumps(config))

    def cleanup() -> None:
        for call in (
            lambda: rbac.delete_cluster_role_binding(name),
            lambda: rbac.delete_cluster_role(name),
            lambda: rbac.delete_cluster_role(patcher),
            lambda: core.delete_namespace(home),
        ):
            with contextlib.suppress(ApiException):
                call()

    return path, cleanup


@pytest.mark.parametrize("refusal", ["rbac", "admission"])
def test_a_service_account_that_cannot_be_patched_fails_only_its_namespace(
    kube_api, control_plane, start_operator, ecr, namespaces, tmp_path, refusal
):
    locked, open_ = namespaces(), namespaces()
    if refusal == "rbac":
        kubeconfig, cleanup = operator_without_patch_rights(kube_api, control_plane, tmp_path, open_)
        start_operator(ecr.url, kubeconfig=kubeconfig)
    else:
        policy = deny_service_account_updates(kube_api, locked)
        admission = client.AdmissionregistrationV1Api(kube_api)
        start_operator(ecr.url)

        def cleanup() -> None:
            admission.delete_validating_admission_policy_binding(policy)
            admission.delete_validating_admission_policy(policy)

    try:
        name = unique("iso")
        cluster_resource(kube_api, name, namespaces=[locked, open_], serviceAccounts=["default"])
        body = wait_for(
            lambda: (
                (b := get_cluster_resource(kube_api, name))
                and status_namespaces(b).get(locked, {}).get("reason") == "ServiceAccountPatchFailed"
                and status_namespaces(b).get(open_, {}).get("ready")
                and b
            ),
            LIVE,
        )
        results = status_namespaces(body)
        expected = "frozen" if refusal == "admission" else "forbidden"
        assert expected in results[locked]["message"] and results[locked]["ready"] is False
        assert results[open_]["serviceAccounts"] == ["default"]
        assert SECRET in pull_secrets(kube_api, open_, "default") and SECRET not in pull_secrets(
            kube_api, locked, "default"
        )
        assert has_secret(kube_api, locked)  # the Secret itself is written there all the same
        assert not is_ready(body)
        core = client.CoreV1Api(kube_api)
        wait_for(  # events are recorded after the status is written
            lambda: any(
                e.reason == "ServiceAccountPatchFailed" and locked in e.message
                for e in core.list_namespaced_event(
                    "default", field_selector=f"involvedObject.name={name}"
                ).items
            )
        )
    finally:
        cleanup()


# -- several registries -----------------------------------------------------------------------
REGISTRIES = [
    {"accountId": "111111111111", "region": "us-east-1"},
    {"accountId": "222222222222", "region": "us-east-1"},
    {"accountId": "333333333333", "region": "eu-west-1"},
]


def test_two_regions_cost_two_ecr_calls_per_refresh_and_every_registry_has_its_entry(
    kube_api, start_operator, ecr, namespace
):
    ecr.token_lifetime = datetime.timedelta(seconds=8)  # a refresh every ~4 s
    start_operator(ecr.url, **FAST_REFRESH)
    namespaced_resource(kube_api, namespace, "pull", registries=REGISTRIES)
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "pull")), LIVE)
    hosts = set(auths(kube_api, namespace))
    assert {f"{r['accountId']}.dkr.ecr.{r['region']}.amazonaws.com" for r in REGISTRIES} <= hosts
    assert len(hosts) == 4  # and the default registry of the key's own account
    entries = auths(kube_api, namespace)
    east = {
        entries[f"{a}.dkr.ecr.us-east-1.amazonaws.com"]["password"] for a in ("111111111111", "222222222222")
    }
    assert len(east) == 1  # one token for the region, whatever the account

    ecr.reset_counters()
    first = read_secret(kube_api, namespace, SECRET).metadata.resource_version
    wait_for(lambda: read_secret(kube_api, namespace, SECRET).metadata.resource_version != first, LIVE)
    wait_for(lambda: len(ecr.token_signers) >= 2, LIVE)
    calls = sorted(s.region for s in ecr.token_signers[:2])
    assert calls == ["eu-west-1", "us-east-1"], ecr.token_signers


def test_a_failing_region_fails_the_resource_and_keeps_every_entry_of_the_secret(
    kube_api, start_operator, ecr, namespace
):
    ecr.token_lifetime = datetime.timedelta(seconds=8)
    start_operator(ecr.url, **FAST_REFRESH)
    namespaced_resource(kube_api, namespace, "pull", registries=REGISTRIES)
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "pull")), LIVE)
    before = auths(kube_api, namespace)

    ecr.failing_regions = {"us-east-1"}
    body = wait_for(
        lambda: (b := get_namespaced_resource(kube_api, namespace, "pull")) and not is_ready(b) and b, LIVE
    )
    condition = body["status"]["conditions"][0]
    assert "us-east-1" in condition["message"], condition
    # eu-west-1 is refreshed, us-east-1's registries keep the entries they had.
    after = wait_for(
        lambda: (
            (a := auths(kube_api, namespace))
            and a["333333333333.dkr.ecr.eu-west-1.amazonaws.com"]
            != before["333333333333.dkr.ecr.eu-west-1.amazonaws.com"]
            and a
        ),
        LIVE,
    )
    for account in ("111111111111", "222222222222"):
        host = f"{account}.dkr.ecr.us-east-1.amazonaws.com"
        assert after[host] == before[host]

    ecr.failing_regions = set()
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "pull")), LIVE)
    healed = auths(kube_api, namespace)
    assert (
        healed["111111111111.dkr.ecr.us-east-1.amazonaws.com"]
        != before["111111111111.dkr.ecr.us-east-1.amazonaws.com"]
    )


def test_embedded_the_watches_stores_serve_selection_and_service_accounts(
    kube_api, start_operator, ecr, namespaces
):
    """The embedded default reads namespaces and ServiceAccounts from its watches' stores."""
    start_operator(ecr.url, embedded=True)
    team = unique("team")
    ns = namespaces({"team": team})
    name = unique("emb")
    cluster_resource(kube_api, name, namespaceSelector={"matchLabels": {"team": team}}, serviceAccounts=["*"])
    wait_for(lambda: SECRET in pull_secrets(kube_api, ns, "default"), LIVE)
    make_account(kube_api, ns, "late")
    wait_for(lambda: pull_secrets(kube_api, ns, "late") == [SECRET], LIVE)
    later = namespaces({"team": team})
    wait_for(lambda: has_secret(kube_api, later) and SECRET in pull_secrets(kube_api, later, "default"), LIVE)
    label(kube_api, ns, {"team": None})
    wait_for(lambda: not has_secret(kube_api, ns) and pull_secrets(kube_api, ns, "late") == [], LIVE)
