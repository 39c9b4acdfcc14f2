"""Bad input and faults: rejected keys, missing namespaces, foreign Secrets, restarts, hand edits."""

from __future__ import annotations

import datetime
import time

from kubernetes import client

from secrets_app.models import ClusterPullSecret, ManagedSecret, NamespacedPullSecret
from secrets_app.services.identity import refresh

from .helpers import (
    CANARY_SECRET,
    GROUP,
    VERSION,
    create_cluster_resource,
    create_namespace,
    create_namespaced_resource,
    docker_config,
    get_cluster_resource,
    get_namespaced_resource,
    is_ready,
    kubectl,
    read_secret,
    ready_condition,
    unique,
    wait_for,
    wait_for_reason,
)


def test_rejected_credentials_mark_not_ready_once_without_a_retry_storm(
    kube_api, start_operator, strict_ecr, namespace
):
    start_operator(strict_ecr.url)
    # A key unknown to IAM, and to every Secret earlier tests left (one could share its token).
    create_namespaced_resource(kube_api, namespace, "bad-keys", key_id=unique("AKIAUNKNOWN").upper())

    def rejected():
        """Ready=False with the credentials-rejected reason"""
        condition = ready_condition(get_namespaced_resource(kube_api, namespace, "bad-keys"))
        return condition and condition["status"] == "False" and condition

    condition = wait_for(rejected)
    assert condition["reason"] == "GetAWSAuthTokenFailed"
    assert "ECR rejected the credentials" in condition["message"]
    assert "Check spec.awsAccess" in condition["message"]
    time.sleep(5)  # several lease and watch cycles: a storm would show here
    assert strict_ecr.token_calls == 1
    events = client.CoreV1Api(kube_api).list_namespaced_event(namespace).items
    assert [e.reason for e in events] == ["GetAWSAuthTokenFailed"]
    assert read_secret(kube_api, namespace, "ecr-pull") is None


def test_missing_namespace_does_not_stop_the_others_and_is_filled_in_when_created(kube_api, operator):
    present, missing = unique("ns"), unique("later")
    create_namespace(kube_api, present)
    name = unique("caeps")
    create_cluster_resource(kube_api, name, [present, missing])

    def reported():
        """status names the missing namespace"""
        body = get_cluster_resource(kube_api, name)
        results = {n["namespace"]: n for n in (body.get("status") or {}).get("namespaces") or []}
        return missing in results and results

    results = wait_for(reported)
    assert results[present]["ready"] is True
    assert results[missing] == {
        "namespace": missing,
        "ready": False,
        "reason": "NamespaceNotFound",
        "message": f"namespace {missing} does not exist; the Secret will be created when it does",
    }
    assert not is_ready(get_cluster_resource(kube_api, name))
    assert read_secret(kube_api, present, "ecr-pull") is not None

    create_namespace(kube_api, missing)
    wait_for(lambda: read_secret(kube_api, missing, "ecr-pull"), timeout=15)
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)))


def test_foreign_secret_is_left_untouched_and_reported(kube_api, operator, namespace):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="ecr-pull"), string_data={"mine": "yes"})
    )
    create_namespaced_resource(kube_api, namespace, "intruder")

    condition = wait_for_reason(
        lambda: get_namespaced_resource(kube_api, namespace, "intruder"), "SecretsFailed"
    )
    assert "a Secret named ecr-pull already exists in namespace" in condition["message"]
    assert "not managed by ecrcontrol" in condition["message"]
    secret = core.read_namespaced_secret("ecr-pull", namespace)
    assert secret.type == "Opaque" and set(secret.data) == {"mine"}
    assert not secret.metadata.owner_references


def test_managed_secret_deleted_or_edited_by_hand_is_restored_within_seconds(kube_api, operator, namespace):
    create_namespaced_resource(kube_api, namespace, "keeper")
    original = wait_for(lambda: read_secret(kube_api, namespace, "ecr-pull"))
    core = client.CoreV1Api(kube_api)

    core.delete_namespaced_secret("ecr-pull", namespace)
    restored = wait_for(
        lambda: (
            (s := read_secret(kube_api, namespace, "ecr-pull"))
            and s.metadata.uid != original.metadata.uid
            and s
        ),
        timeout=10,
    )
    assert docker_config(restored)["auths"]

    restored.data[".dockerconfigjson"] = "eyJhdXRocyI6IHt9fQ=="  # {"auths": {}}
    core.replace_namespaced_secret("ecr-pull", namespace, restored)
    wait_for(lambda: docker_config(read_secret(kube_api, namespace, "ecr-pull"))["auths"], timeout=10)


def test_namespace_removed_from_spec_loses_its_secret_and_delete_removes_everything(kube_api, operator):
    keep, drop = unique("keep"), unique("drop")
    for ns in (keep, drop):
        create_namespace(kube_api, ns)
    name = unique("caeps")
    create_cluster_resource(kube_api, name, [keep, drop])
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)))
    assert ManagedSecret.objects.filter(owner_name=name).count() == 2

    custom = client.CustomObjectsApi(kube_api)
    custom.patch_cluster_custom_object(
        GROUP, VERSION, "clusterawsecrimagepullsecrets", name, {"spec": {"namespaces": [keep]}}
    )
    wait_for(lambda: read_secret(kube_api, drop, "ecr-pull") is None, timeout=15)
    assert read_secret(kube_api, keep, "ecr-pull") is not None
    wait_for(
        lambda: (
            list(ManagedSecret.objects.filter(owner_name=name).values_list("namespace", flat=True)) == [keep]
        )
    )
    assert ClusterPullSecret.objects.get(name=name).namespaces == [keep]

    custom.delete_cluster_custom_object(GROUP, VERSION, "clusterawsecrimagepullsecrets", name)
    wait_for(lambda: read_secret(kube_api, keep, "ecr-pull") is None, timeout=60)  # garbage collector
    wait_for(lambda: not ClusterPullSecret.objects.filter(name=name).exists())
    wait_for(lambda: not ManagedSecret.objects.filter(owner_name=name).exists())


def test_controller_reconnects_after_the_api_server_restarts(kube_api, operator, control_plane, namespace):
    control_plane.restart_apiserver()
    create_namespaced_resource(kube_api, namespace, "after-restart")
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "after-restart")), timeout=60)
    assert operator.controller.running()


def test_worker_killed_mid_reconcile_converges_without_duplicates(kube_api, operator):
    namespaces = [unique("kill") for _ in range(25)]
    for ns in namespaces:
        create_namespace(kube_api, ns)
    name = unique("caeps")
    create_cluster_resource(kube_api, name, namespaces)
    wait_for(lambda: any(read_secret(kube_api, ns, "ecr-pull") for ns in namespaces), interval=0.02)
    operator.kill_worker()
    written = sum(1 for ns in namespaces if read_secret(kube_api, ns, "ecr-pull"))
    operator.start_worker()
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)), timeout=60)
    core = client.CoreV1Api(kube_api)
    for ns in namespaces:
        secrets = core.list_namespaced_secret(
            ns, label_selector="app.kubernetes.io/managed-by=ecrcontrol"
        ).items
        assert [s.metadata.name for s in secrets] == ["ecr-pull"]
        assert docker_config(secrets[0])["auths"]
    assert ManagedSecret.objects.filter(owner_name=name, state="synced").count() == len(namespaces)
    print(f"worker killed after {written}/{len(namespaces)} Secrets were written")


def test_kubectl_wait_for_ready_works(kube_api, operator, control_plane, namespace):
    create_namespaced_resource(kube_api, namespace, "waited")
    result = kubectl(
        control_plane, "-n", namespace, "wait", "--for=condition=Ready", "aeps/waited", "--timeout=30s"
    )
    assert result.returncode == 0, result.stderr
    assert "condition met" in result.stdout
    listing = kubectl(control_plane, "-n", namespace, "get", "aeps")
    assert listing.returncode == 0, listing.stderr
    columns = listing.stdout.split("\n")[0].split()
    assert columns == ["NAME", "READY", "SECRET", "EXPIRES", "AGE"]


def test_canary_secret_key_never_leaves_the_cluster_object(kube_api, operator, namespace, control_plane):
    from .datastores import dump_test_database

    create_namespaced_resource(kube_api, namespace, "canary")
    name = unique("caeps")
    create_cluster_resource(kube_api, name, [namespace], secret_name="other")
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "canary")))
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)))
    assert NamespacedPullSecret.objects.filter(name="canary").exists()

    dump = dump_test_database()
    assert "canary" in dump  # the dump does hold the mirror rows
    assert CANARY_SECRET not in dump
    assert CANARY_SECRET not in operator.logs()
    events = client.CoreV1Api(kube_api).list_event_for_all_namespaces().items
    assert events and not any(CANARY_SECRET in (e.message or "") for e in events)
    statuses = [
        get_namespaced_resource(kube_api, namespace, "canary")["status"],
        get_cluster_resource(kube_api, name)["status"],
    ]
    assert CANARY_SECRET not in repr(statuses)
    secrets = client.CoreV1Api(kube_api).list_namespaced_secret(namespace).items
    assert CANARY_SECRET not in repr([s.data for s in secrets])


def test_ecr_errors_are_retried_with_backoff_and_recover(kube_api, operator, ecr, namespace):
    ecr.fail_with = 503
    create_namespaced_resource(kube_api, namespace, "flaky")

    condition = wait_for_reason(
        lambda: get_namespaced_resource(kube_api, namespace, "flaky"), "GetAWSAuthTokenFailed"
    )
    assert "Retrying with backoff" in condition["message"]
    time.sleep(3)
    retried = ecr.token_calls
    assert retried >= 2  # retried (boto3 itself tries twice per attempt), with backoff: not hundreds
    assert retried < 20
    ecr.fail_with = None
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "flaky")), timeout=20)
    assert read_secret(kube_api, namespace, "ecr-pull") is not None


def test_a_secret_released_by_one_resource_is_taken_by_the_one_waiting_for_it(kube_api, operator, namespace):
    first = unique("first")
    create_cluster_resource(kube_api, first, [namespace])
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, first)))
    create_namespaced_resource(kube_api, namespace, "second")

    def waiting():
        """the second resource reports the name as held by another owner"""
        body = get_namespaced_resource(kube_api, namespace, "second")
        results = (body.get("status") or {}).get("namespaces") or []
        return any(r["reason"] == "SecretConflict" for r in results)

    wait_for(waiting)
    client.CustomObjectsApi(kube_api).delete_cluster_custom_object(
        GROUP, VERSION, "clusterawsecrimagepullsecrets", first
    )
    # The garbage collector deletes the first owner's Secret; the second takes the name at once,
    # not at its slow conflict retry (30 min).
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "second")))
    secret = read_secret(kube_api, namespace, "ecr-pull")
    owner = get_namespaced_resource(kube_api, namespace, "second")
    assert [ref.uid for ref in secret.metadata.owner_references] == [owner["metadata"]["uid"]]


def _expiry(secret) -> datetime.datetime:
    return datetime.datetime.fromisoformat(secret.metadata.annotations["expiry"].replace("Z", "+00:00"))


def test_throttling_from_ecr_backs_off_and_recovers_with_every_secret_still_valid(
    kube_api, start_operator, ecr, namespace
):
    # Eight identities (eight calls) against a quota of 1 per second with bursts of 2.
    ecr.throttle(rate=1, burst=2)
    start_operator(ecr.url)
    names = [f"t{i}" for i in range(8)]
    for i, name in enumerate(names):
        create_namespaced_resource(
            kube_api, namespace, name, secret_name=f"pull-{name}", key_id=f"AKIATHROTTLED{i:07d}"
        )

    def all_ready():
        """every resource Ready"""
        return all(is_ready(get_namespaced_resource(kube_api, namespace, n)) for n in names)

    wait_for(all_ready, timeout=120, interval=0.5)
    print(f"\n8 identities at 1 call/s (bursts of 2): {ecr.token_calls} calls, {ecr.throttled} throttled")
    assert ecr.throttled > 0  # ECR really throttled: the resources above came through it
    # Retried with backoff, not in a loop: a few tries per identity (boto3's own retry included).
    assert ecr.token_calls < 8 * 8, f"{ecr.token_calls} calls for 8 identities"
    now = datetime.datetime.now(datetime.UTC)
    secrets = {n: read_secret(kube_api, namespace, f"pull-{n}") for n in names}
    assert all(_expiry(s) - now > datetime.timedelta(hours=11) for s in secrets.values())

    # Now every call is throttled, and a refresh is asked for: it fails and is retried with
    # backoff, and the Secret it had keeps its valid token meanwhile.
    ecr.throttle(rate=1e-9, burst=0)
    row = NamespacedPullSecret.objects.get(namespace=namespace, name="t0")
    refresh.request(row)
    uid = row.uid

    def throttled_event():
        """a GetAWSAuthTokenFailed event on t0"""
        events = client.CoreV1Api(kube_api).list_namespaced_event(
            namespace, field_selector=f"involvedObject.uid={uid}"
        )
        return next((e for e in events.items if e.reason == "GetAWSAuthTokenFailed"), None)

    # The status says so too, but only until a retry takes the still-valid token from the Secret.
    event = wait_for(throttled_event, timeout=30)
    assert "ThrottlingException" in event.message and "Retrying with backoff" in event.message
    kept = read_secret(kube_api, namespace, "pull-t0")
    assert kept.metadata.resource_version == secrets["t0"].metadata.resource_version
    assert _expiry(kept) > datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=11)

    ecr.throttle()  # back to AWS's quota
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "t0")), timeout=30)
    assert all_ready()
    for name in names:
        assert _expiry(read_secret(kube_api, namespace, f"pull-{name}")) > datetime.datetime.now(datetime.UTC)
