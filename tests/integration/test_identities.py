"""AWS identities without keys in the resource, against the real API server and the local ECR + STS.

Each test asserts which identity signed the ECR call at the local ECR front (`ecr.token_signers`)
and which STS calls were made (`ecr.sts_calls`), not only that the resource became Ready.
"""

from __future__ import annotations

import datetime
import json
import time

from kubernetes import client

from secrets_app.models import ClusterPullSecret, ManagedSecret, NamespacedPullSecret

from .helpers import (
    CANARY_SECRET,
    GROUP,
    VERSION,
    b64,
    get_cluster_resource,
    get_namespaced_resource,
    is_ready,
    put_key_secret,
    read_secret,
    ready_condition,
    unique,
    wait_for,
    wait_for_reason,
)

ROLE = "arn:aws:iam::123456789012:role/ecr-puller"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other-team"
OPERATOR_KEY = "AKIAOPERATOR00000001"
FAST_REFRESH = {"ECRCONTROL_MIN_REFRESH_SECONDS": "1"}


def create_namespaced(api, namespace: str, name: str, access: dict, secret_name: str = "ecr-pull") -> dict:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"awsAccess": {"region": "eu-west-1", **access}, "secretName": secret_name},
    }
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", body
    )


def create_cluster(api, name: str, namespaces: list[str], access: dict) -> dict:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": name},
        "spec": {
            "awsAccess": {"region": "eu-west-1", **access},
            "secretName": "ecr-pull",
            "namespaces": namespaces,
        },
    }
    return client.CustomObjectsApi(api).create_cluster_custom_object(
        GROUP, VERSION, "clusterawsecrimagepullsecrets", body
    )


def ready_namespaced(api, namespace: str, name: str, timeout: float = 30) -> dict:
    return _ready(lambda: get_namespaced_resource(api, namespace, name), timeout)


def ready_cluster(api, name: str, timeout: float = 30) -> dict:
    return _ready(lambda: get_cluster_resource(api, name), timeout)


def _ready(read, timeout: float) -> dict:
    try:
        return wait_for(lambda: (b := read()) and is_ready(b) and b, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; its status: {read().get('status')}") from None


def events_of(api, namespace: str, name: str) -> list:
    found = client.CoreV1Api(api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    )
    return found.items


def test_keys_from_a_secret_sign_the_ecr_call_and_the_status_names_them_by_suffix(
    kube_api, operator, ecr, namespace
):
    put_key_secret(kube_api, namespace, "aws-creds", "AKIASECRETREF0000042")
    create_namespaced(kube_api, namespace, "pull", {"secretRef": {"name": "aws-creds"}})
    body = ready_namespaced(kube_api, namespace, "pull")

    assert [(s.access_key_id, s.role_arn) for s in ecr.token_signers] == [("AKIASECRETREF0000042", "")]
    assert body["status"]["identity"] == {"kind": "secret", "accessKeyIdSuffix": "0042"}
    assert read_secret(kube_api, namespace, "ecr-pull") is not None
    row = NamespacedPullSecret.objects.get(namespace=namespace, name="pull")
    assert (row.identity_kind, row.credentials_ref, row.access_key_id) == (
        "secret",
        f"{namespace}/aws-creds",
        "",
    )
    assert row.status_identity == body["status"]["identity"]  # what the dashboard and the API show


def test_a_rotated_secret_takes_effect_within_10_seconds_with_a_credentials_rotated_event(
    kube_api, operator, ecr, namespace
):
    put_key_secret(kube_api, namespace, "aws-creds", "AKIAROTATEBEFORE0001")
    create_namespaced(kube_api, namespace, "pull", {"secretRef": {"name": "aws-creds"}})
    ready_namespaced(kube_api, namespace, "pull")
    before = read_secret(kube_api, namespace, "ecr-pull")

    put_key_secret(kube_api, namespace, "aws-creds", "AKIAROTATEAFTER00002", secret="another-secret-key")
    wait_for(lambda: any(s.access_key_id == "AKIAROTATEAFTER00002" for s in ecr.token_signers), timeout=10)
    after = wait_for(
        lambda: (
            (s := read_secret(kube_api, namespace, "ecr-pull"))
            and s.metadata.resource_version != before.metadata.resource_version
            and s
        ),
        timeout=10,
    )
    assert (
        after.metadata.labels["ecrcontrol.io/token-source"]
        != before.metadata.labels["ecrcontrol.io/token-source"]
    )
    rotated = wait_for(
        lambda: [e for e in events_of(kube_api, namespace, "pull") if e.reason == "CredentialsRotated"]
    )
    assert f"Secret {namespace}/aws-creds" in rotated[0].message
    body = get_namespaced_resource(kube_api, namespace, "pull")
    assert body["status"]["identity"]["accessKeyIdSuffix"] == "0002"


def test_a_missing_secret_is_reported_without_an_ecr_call_and_heals_when_it_appears(
    kube_api, operator, ecr, namespace
):
    create_namespaced(kube_api, namespace, "pull", {"secretRef": {"name": "later"}})
    condition = wait_for_reason(
        lambda: get_namespaced_resource(kube_api, namespace, "pull"), "CredentialsNotFound"
    )
    assert condition["status"] == "False"
    assert f"Secret {namespace}/later" in condition["message"]
    assert "AWS_ACCESS_KEY_ID" in condition["message"]
    assert ecr.token_calls == 0

    # A Secret without the secret key: still not found, the message names the key.
    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="later"),
            data={"AWS_ACCESS_KEY_ID": b64("AKIAHEALS00000000001")},
        ),
    )
    wait_for(
        lambda: (
            "has no key AWS_SECRET_ACCESS_KEY"
            in ready_condition(get_namespaced_resource(kube_api, namespace, "pull"))["message"]
        ),
        timeout=10,
    )
    assert ecr.token_calls == 0

    put_key_secret(kube_api, namespace, "later", "AKIAHEALS00000000001")
    ready_namespaced(kube_api, namespace, "pull", timeout=10)
    assert [s.access_key_id for s in ecr.token_signers] == ["AKIAHEALS00000000001"]


def test_a_service_account_web_identity_assumes_the_role_with_a_token_of_that_service_account(
    kube_api, operator, ecr, namespace
):
    client.CoreV1Api(kube_api).create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="puller"))
    )
    name = unique("caeps")
    create_cluster(
        kube_api,
        name,
        [namespace],
        {"serviceAccountRef": {"name": "puller", "namespace": namespace}, "roleArn": ROLE},
    )
    body = ready_cluster(kube_api, name)

    [sts] = ecr.sts_calls
    assert (sts.action, sts.role_arn, sts.signer_access_key_id) == ("AssumeRoleWithWebIdentity", ROLE, "")
    assert sts.sub == f"system:serviceaccount:{namespace}:puller"
    assert sts.aud == "sts.amazonaws.com"
    assert sts.session_name == f"caeps.{name}"
    [signer] = ecr.token_signers
    assert signer.role_arn == ROLE and signer.session_token
    assert body["status"]["identity"] == {"kind": "serviceAccount", "roleArn": ROLE}


def test_a_missing_service_account_is_reported_and_heals_soon_after_it_is_created(
    kube_api, operator, ecr, namespace
):
    create_namespaced(kube_api, namespace, "pull", {"serviceAccountRef": {"name": "later"}, "roleArn": ROLE})
    condition = wait_for_reason(
        lambda: get_namespaced_resource(kube_api, namespace, "pull"), "CredentialsNotFound"
    )
    assert f"ServiceAccount {namespace}/later" in condition["message"]
    assert ecr.sts_calls == [] and ecr.token_calls == 0
    client.CoreV1Api(kube_api).create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="later"))
    )
    ready_namespaced(kube_api, namespace, "pull", timeout=15)  # the backoff is at most 4 s in tests
    assert [c.sub for c in ecr.sts_calls] == [f"system:serviceaccount:{namespace}:later"]


def test_the_operators_own_identity_serves_a_cluster_resource(kube_api, start_operator, ecr, namespace):
    start_operator(ecr.url, AWS_ACCESS_KEY_ID=OPERATOR_KEY, AWS_SECRET_ACCESS_KEY=CANARY_SECRET)
    name = unique("caeps")
    create_cluster(kube_api, name, [namespace], {})
    body = ready_cluster(kube_api, name)

    assert [(s.access_key_id, s.role_arn) for s in ecr.token_signers] == [(OPERATOR_KEY, "")]
    assert body["status"]["identity"] == {"kind": "ambient"}


def test_the_operators_own_identity_is_refused_to_a_namespaced_resource_by_default(
    kube_api, start_operator, ecr, namespace
):
    start_operator(ecr.url, AWS_ACCESS_KEY_ID=OPERATOR_KEY, AWS_SECRET_ACCESS_KEY=CANARY_SECRET)
    create_namespaced(kube_api, namespace, "pull", {})
    condition = wait_for_reason(lambda: get_namespaced_resource(kube_api, namespace, "pull"), "InvalidSpec")
    assert "ECRCONTROL_AMBIENT_CREDENTIALS=cluster" in condition["message"]
    assert ecr.token_calls == 0 and read_secret(kube_api, namespace, "ecr-pull") is None


def test_two_resources_on_one_role_share_one_sts_and_one_ecr_call_and_another_role_does_not(
    kube_api, operator, ecr, namespace
):
    keys = {"accessKeyId": "AKIABASEFORROLES0001", "secretAccessKey": CANARY_SECRET}
    create_namespaced(
        kube_api, namespace, "first", {**keys, "roleArn": ROLE, "externalId": "team-a-7"}, "first"
    )
    ready_namespaced(kube_api, namespace, "first")
    create_namespaced(
        kube_api, namespace, "second", {**keys, "roleArn": ROLE, "externalId": "team-a-7"}, "second"
    )
    ready_namespaced(kube_api, namespace, "second")
    assert [(c.action, c.role_arn, c.external_id, c.signer_access_key_id) for c in ecr.sts_calls] == [
        ("AssumeRole", ROLE, "team-a-7", "AKIABASEFORROLES0001")
    ]
    assert [s.role_arn for s in ecr.token_signers] == [ROLE]

    create_namespaced(kube_api, namespace, "third", {**keys, "roleArn": OTHER_ROLE}, "third")
    ready_namespaced(kube_api, namespace, "third")
    assert [s.role_arn for s in ecr.token_signers] == [ROLE, OTHER_ROLE]
    assert len(ecr.sts_calls) == 2


def test_role_credentials_are_reused_until_near_their_expiry(kube_api, start_operator, ecr, namespace):
    ecr.token_lifetime = datetime.timedelta(seconds=6)  # an ECR call every ~3 s
    # Role credentials 5 min 10 s long: reused for ~10 s, then within the 5 minutes' margin.
    ecr.role_credentials_lifetime = datetime.timedelta(minutes=5, seconds=10)
    start_operator(ecr.url, **FAST_REFRESH)
    keys = {"accessKeyId": "AKIABASEFORREUSE0001", "secretAccessKey": CANARY_SECRET, "roleArn": ROLE}
    create_namespaced(kube_api, namespace, "pull", keys)
    ready_namespaced(kube_api, namespace, "pull")
    wait_for(lambda: ecr.token_calls >= 2, timeout=10)
    assert len(ecr.sts_calls) == 1, "role credentials still valid were assumed again"

    wait_for(lambda: len(ecr.sts_calls) >= 2, timeout=20)  # renewed before they expire
    assert all(s.role_arn == ROLE for s in ecr.token_signers)


def test_an_sts_refusal_gives_assume_role_failed_and_no_retry_loop(kube_api, operator, ecr, namespace):
    ecr.refuse_role(ROLE, message="not allowed to assume ecr-puller")
    keys = {"accessKeyId": "AKIABASEREFUSED00001", "secretAccessKey": CANARY_SECRET, "roleArn": ROLE}
    create_namespaced(kube_api, namespace, "pull", keys)
    condition = wait_for_reason(
        lambda: get_namespaced_resource(kube_api, namespace, "pull"), "AssumeRoleFailed"
    )
    assert condition["status"] == "False"
    assert "not allowed to assume ecr-puller" in condition["message"]
    assert "Retrying at" in condition["message"]
    assert ecr.token_calls == 0
    calls = len(ecr.sts_calls)
    wait_for(lambda: [e for e in events_of(kube_api, namespace, "pull") if e.reason == "AssumeRoleFailed"])
    time.sleep(5)
    assert len(ecr.sts_calls) == calls == 1, "a refused role was asked again at once"


def test_no_credential_reaches_the_database_logs_events_or_status(kube_api, operator, ecr, namespace):
    put_key_secret(kube_api, namespace, "aws-creds", "AKIACANARYREF0000001")
    client.CoreV1Api(kube_api).create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="puller"))
    )
    create_namespaced(
        kube_api, namespace, "by-secret", {"secretRef": {"name": "aws-creds"}, "roleArn": ROLE}, "by-secret"
    )
    create_namespaced(
        kube_api,
        namespace,
        "by-web-identity",
        {"serviceAccountRef": {"name": "puller"}, "roleArn": OTHER_ROLE},
        "by-web-identity",
    )
    create_namespaced(
        kube_api,
        namespace,
        "inline",
        {"accessKeyId": "AKIACANARYINLINE0001", "secretAccessKey": CANARY_SECRET},
        "inline",
    )
    bodies = [
        ready_namespaced(kube_api, namespace, name) for name in ("by-secret", "by-web-identity", "inline")
    ]

    rows = [
        *NamespacedPullSecret.objects.filter(namespace=namespace).values(),
        *ClusterPullSecret.objects.values(),
        *ManagedSecret.objects.filter(namespace=namespace).values(),
    ]
    stored = json.dumps(rows, default=str)
    shown = json.dumps([b["status"] for b in bodies]) + " ".join(
        e.message for e in events_of_all(kube_api, namespace)
    )
    logs = operator.logs()
    assert {c.action for c in ecr.sts_calls} == {"AssumeRole", "AssumeRoleWithWebIdentity"}
    for where, text in (("database", stored), ("status or events", shown), ("logs", logs)):
        assert CANARY_SECRET not in text, f"the secret key reached the {where}"
        assert "eyJhbGciOi" not in text, f"a web identity token reached the {where}"
        # A role's credentials: STS's answer, or a key id it issued (moto's start with ASIA).
        assert "SessionToken" not in text and "SecretAccessKey" not in text, (
            f"role credentials reached the {where}"
        )
        assert "ASIA" not in text, f"a role's temporary access key reached the {where}"


def events_of_all(api, namespace: str) -> list:
    return client.CoreV1Api(api).list_namespaced_event(namespace).items
