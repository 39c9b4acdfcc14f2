"""The admission webhooks, called by the real API server over TLS, as kubectl users meet them."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from secrets_app.kube.kinds import GROUP
from secrets_app.services.secrets.dockerconfig import IDENTITY_ANNOTATION, identity
from tests.settings import BASE_DIR

from ..helpers import (
    CANARY_SECRET,
    VERSION,
    aws_access,
    b64,
    create_cluster_resource,
    create_namespace,
    create_namespaced_resource,
    denial,
    get_cluster_resource,
    get_cluster_resource_or_none,
    get_namespaced_resource,
    is_ready,
    kubectl,
    read_secret,
    unique,
    wait_for,
    wait_for_reason,
)
from ..operator import process_env
from .conftest import registered

DENIED = 'admission webhook "validate.ecrcontrol.io" denied the request: '
REJECTED_KEY_ID = "AKIAREJECTEDEXAMPLE1"
# The web role reads the database (its Cluster row): make pytest-django create it for any selection.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def valid_key(mint_key):
    return mint_key("webhook-tests")


def test_rejected_credentials_are_denied_with_the_aws_reason_and_never_the_secret(
    kube_api, webhooks, namespace
):
    message = denial(
        lambda: create_namespaced_resource(
            kube_api, namespace, "bad", key_id=REJECTED_KEY_ID, secret=CANARY_SECRET
        )
    )
    assert message == DENIED + (
        "aws credentials specified in .spec.awsAccess are invalid or missing permissions: ECR rejected the "
        "credentials: InvalidClientTokenId: The security token included in the request is invalid. Use an "
        "active access key allowed ecr:GetAuthorizationToken in region eu-west-1"
    )
    with pytest.raises(ApiException) as missing:
        get_namespaced_resource(kube_api, namespace, "bad")
    assert missing.value.status == 404
    log = webhooks.log_path.read_text()
    assert "denied" in log
    for leak in (CANARY_SECRET, b64(CANARY_SECRET)):
        assert leak not in message and leak not in log


def test_an_unreachable_ecr_is_denied_with_a_message_saying_so(
    kube_api, webhooks, proxy, namespace, mint_key
):
    key = mint_key(unique("unreachable"))  # a key no earlier test's verdict vouches for
    proxy.unreachable = True
    try:
        message = denial(
            lambda: create_namespaced_resource(kube_api, namespace, "p", key_id=key[0], secret=key[1])
        )
    finally:
        proxy.unreachable = False
    assert message.startswith(
        DENIED + "the credentials in .spec.awsAccess could not be checked: ECR could not be reached"
    )
    assert message.endswith("Try again when ECR answers")


def test_every_target_problem_is_reported_at_once_naming_namespace_secret_and_resource(
    kube_api, webhooks, valid_key
):
    foreign_ns, taken_ns, free_ns = unique("foreign"), unique("taken"), unique("free")
    for ns in (foreign_ns, taken_ns, free_ns):
        create_namespace(kube_api, ns)
    client.CoreV1Api(kube_api).create_namespaced_secret(
        foreign_ns, {"metadata": {"name": "ecr-pull"}, "stringData": {"token": "someone else's"}}
    )
    key_id, secret = valid_key
    owner = unique("owner")
    create_cluster_resource(kube_api, owner, [taken_ns], key_id=key_id, secret=secret)
    message = denial(
        lambda: create_cluster_resource(
            kube_api, unique("late"), [free_ns, foreign_ns, taken_ns], key_id=REJECTED_KEY_ID
        )
    )
    assert message.startswith(DENIED + "aws credentials specified in .spec.awsAccess are invalid")
    assert (
        f"secret ecr-pull already exists in namespace {foreign_ns}, you can choose a different name: it is "
        "not managed by ecrcontrol, so change spec.secretName or delete that Secret first"
    ) in message
    assert (
        f"secret ecr-pull in namespace {taken_ns} is already managed by ClusterAWSECRImagePullSecret "
        f"{owner}: choose a different spec.secretName, or remove namespace {taken_ns} from"
    ) in message
    assert free_ns not in message
    assert read_secret(kube_api, foreign_ns, "ecr-pull").data == {"token": b64("someone else's")}


def test_a_missing_namespace_is_allowed_and_kubectl_shows_the_warning(
    control_plane, kube_api, webhooks, valid_key
):
    name, later = unique("early"), unique("later")
    manifest = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": name},
        "spec": {"awsAccess": aws_access(*valid_key), "secretName": "ecr-pull", "namespaces": [later]},
    }
    result = kubectl(control_plane, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert result.returncode == 0, result.stderr
    assert (
        f"Warning: namespace {later} does not exist yet: its Secret ecr-pull will be created when it does"
        in result.stderr
    )
    assert get_cluster_resource(kube_api, name)["spec"]["namespaces"] == [later]


@pytest.mark.parametrize("apply", [["apply"], ["apply", "--server-side"]], ids=["client-side", "server-side"])
def test_reapplying_the_same_manifest_is_allowed_and_keeps_the_stored_keys(
    control_plane, kube_api, webhooks, valid_key, namespace, apply
):
    key_id, secret = valid_key
    manifest = yaml.safe_dump(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AWSECRImagePullSecret",
            "metadata": {"name": "pull", "namespace": namespace},
            "spec": {"awsAccess": aws_access(key_id, secret), "secretName": "ecr-pull"},
        }
    )
    first = kubectl(control_plane, *apply, "-f", "-", stdin=manifest)
    assert first.returncode == 0, first.stderr
    stored = get_namespaced_resource(kube_api, namespace, "pull")
    assert stored["spec"]["awsAccess"] == {
        "accessKeyId": b64(key_id),
        "secretAccessKey": b64(secret),
        "region": "eu-west-1",
    }
    again = kubectl(control_plane, *apply, "-f", "-", stdin=manifest)
    assert again.returncode == 0, again.stderr
    now = get_namespaced_resource(kube_api, namespace, "pull")
    assert now["spec"] == stored["spec"]
    assert now["metadata"]["generation"] == stored["metadata"]["generation"]


def test_rotating_keys_to_valid_ones_refreshes_the_secret_and_rejected_ones_are_denied(
    kube_api, webhooks, start_operator, proxy, mint_key, namespace
):
    old_key, new_key = mint_key(unique("rotate-old")), mint_key(unique("rotate-new"))
    start_operator(proxy.url)
    create_namespaced_resource(kube_api, namespace, "rotating", key_id=old_key[0], secret=old_key[1])
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "rotating")))
    calls = proxy.token_calls
    custom = client.CustomObjectsApi(kube_api)

    def set_access(key_id: str, secret: str) -> dict:
        return custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "awsecrimagepullsecrets",
            "rotating",
            {"spec": {"awsAccess": aws_access(key_id, secret)}},
        )

    rotated = set_access(*new_key)
    assert rotated["spec"]["awsAccess"]["accessKeyId"] == b64(new_key[0])
    assert rotated["spec"]["awsAccess"]["secretAccessKey"] == b64(new_key[1])

    def refreshed_with_new_identity():
        """the Secret carries a token fetched with the new key"""
        secret = read_secret(kube_api, namespace, "ecr-pull")
        return secret.metadata.annotations[IDENTITY_ANNOTATION] == identity(new_key[0], "eu-west-1")

    wait_for(refreshed_with_new_identity)
    assert proxy.token_calls >= calls + 2  # the webhook's try, then the worker's fetch
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "rotating")))

    message = denial(lambda: set_access(REJECTED_KEY_ID, CANARY_SECRET))
    assert "invalid or missing permissions" in message and CANARY_SECRET not in message
    kept = get_namespaced_resource(kube_api, namespace, "rotating")["spec"]["awsAccess"]
    assert kept["accessKeyId"] == b64(new_key[0]) and kept["secretAccessKey"] == b64(new_key[1])


def test_secret_name_is_immutable_and_region_cannot_become_invalid(kube_api, webhooks, valid_key, namespace):
    create_namespaced_resource(kube_api, namespace, "fixed", key_id=valid_key[0], secret=valid_key[1])
    custom = client.CustomObjectsApi(kube_api)

    def patch(spec: dict):
        return lambda: custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "awsecrimagepullsecrets", "fixed", {"spec": spec}
        )

    assert denial(patch({"secretName": "renamed"})) == DENIED + (
        ".spec.secretName is immutable: it is ecr-pull. To use another name, create a new resource and "
        "delete this one"
    )
    assert "must be an AWS region name" in denial(patch({"awsAccess": {"region": "EU"}}))
    assert get_namespaced_resource(kube_api, namespace, "fixed")["spec"]["awsAccess"]["region"] == "eu-west-1"


def test_a_server_side_dry_run_create_makes_no_ecr_call_and_no_change(kube_api, webhooks, proxy, namespace):
    calls = proxy.token_calls
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": "dry", "namespace": namespace},
        "spec": {"awsAccess": aws_access(REJECTED_KEY_ID), "secretName": "ecr-pull"},
    }
    _, _, headers = client.CustomObjectsApi(kube_api).create_namespaced_custom_object_with_http_info(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", body, dry_run="All"
    )
    assert "the credentials in .spec.awsAccess were not tried against ECR" in headers["Warning"]
    assert proxy.token_calls == calls
    with pytest.raises(ApiException) as missing:
        get_namespaced_resource(kube_api, namespace, "dry")
    assert missing.value.status == 404


def test_a_resource_admitted_without_the_webhook_still_gets_a_correct_status(
    kube_api, webhooks, start_operator, proxy, namespace
):
    with registered(kube_api, webhooks, on=False):
        create_namespaced_resource(kube_api, namespace, "slipped-in", key_id=REJECTED_KEY_ID)
    start_operator(proxy.url)

    condition = wait_for_reason(
        lambda: get_namespaced_resource(kube_api, namespace, "slipped-in"), "GetAWSAuthTokenFailed"
    )
    assert condition["status"] == "False"
    # An unrelated edit is not blocked by the old keys: they are not re-checked unless they change.
    client.CustomObjectsApi(kube_api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "awsecrimagepullsecrets",
        "slipped-in",
        {"metadata": {"labels": {"team": "a"}}},
    )
    stored = get_namespaced_resource(kube_api, namespace, "slipped-in")
    assert stored["spec"]["awsAccess"]["accessKeyId"] == REJECTED_KEY_ID  # admitted plain; left as it was


def test_the_webhook_server_refuses_plain_http(webhooks):
    review = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode()
    headers = {"Content-Type": "application/json"}
    plain = webhooks.url.replace("https://", "http://") + "/webhooks/validate"
    with pytest.raises(OSError):
        urllib.request.urlopen(urllib.request.Request(plain, data=review, headers=headers), timeout=5)
    # The same request over TLS is answered (400: it is not a complete AdmissionReview).
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(
            urllib.request.Request(webhooks.url + "/webhooks/validate", data=review, headers=headers),
            timeout=5,
            context=webhooks.ssl_context(),
        )
    assert answered.value.code == 400


def test_the_register_command_points_the_api_server_at_the_web_role(control_plane, kube_api, webhooks, proxy):
    result = subprocess.run(
        [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "webhooks",
            "register",
            f"--url={webhooks.url}",
            f"--ca-file={webhooks.ca_file}",
        ],
        env=process_env(control_plane.kubeconfig, proxy.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"Webhooks registered: {webhooks.url}/webhooks/mutate and {webhooks.url}/webhooks/validate"
    )
    admission = client.AdmissionregistrationV1Api(kube_api)
    (hook,) = admission.read_validating_webhook_configuration("ecrcontrol-validating").webhooks
    assert hook.client_config.url == f"{webhooks.url}/webhooks/validate"
    assert base64.b64decode(hook.client_config.ca_bundle) == webhooks.ca_file.read_bytes()
    assert hook.failure_policy == "Fail" and hook.side_effects == "NoneOnDryRun"


def test_a_legacy_v1alpha1_credential_is_converted_through_the_webhooks(
    kube_api, webhooks, start_operator, proxy, valid_key
):
    ns, name = unique("legacy"), unique("legacy")
    create_namespace(kube_api, ns)
    start_operator(proxy.url)
    client.CustomObjectsApi(kube_api).create_cluster_custom_object(
        GROUP,
        "v1alpha1",
        "awsecrcredentials",
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "AWSECRCredential",
            "metadata": {"name": name},
            # as the seed's v1alpha1 webhook stored them: base64-encoded
            "spec": {
                "awsAccess": aws_access(b64(valid_key[0]), b64(valid_key[1])),
                "secretName": "legacy-pull",
                "namespaces": [ns],
            },
        },
    )

    body = wait_for(lambda: (b := get_cluster_resource_or_none(kube_api, name)) and is_ready(b) and b)
    assert body["spec"]["awsAccess"]["accessKeyId"] == b64(valid_key[0])  # not encoded twice
    assert body["spec"]["awsAccess"]["secretAccessKey"] == b64(valid_key[1])
    assert read_secret(kube_api, ns, "legacy-pull") is not None
