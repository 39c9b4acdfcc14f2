"""`helm install` of the chart onto a real node, then everything through the installed release.

The tests run in file order on one release (module fixture): each leaves it as it found it, and
the last one uninstalls it.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import time
import urllib.parse

import pytest

from secrets_app.webhooks.validating import MSG_SECRET_EXISTS

from .conftest import CHART, NAMESPACE, RELEASE, Release

# The first test of a cold run also builds the node's images (debootstrap, pip): minutes, not seconds.
pytestmark = pytest.mark.timeout(1200)

FULLNAME = RELEASE  # the release name contains the chart name
SA = f"system:serviceaccount:{NAMESPACE}:{FULLNAME}"


def wait_for(check, timeout: float, what: str, release: Release | None = None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not there yet
            last = exc
        time.sleep(0.5)
    raise AssertionError(
        f"{what} not seen within {timeout:.0f}s (last error: {last})\n{release.diagnose() if release else ''}"
    )


def secret_data(release: Release, name: str, namespace: str = NAMESPACE) -> dict[str, bytes]:
    data = release.json("get", "secret", name, "-n", namespace)["data"]
    return {k: base64.b64decode(v) for k, v in data.items()}


def through_service(
    release: Release, path: str, method: str = "GET", headers: dict | None = None, body: bytes = b""
) -> tuple[int, dict[str, list[str]], str]:
    """An HTTPS request to the Service's endpoint, as kube-proxy would route it, verifying the
    certificate for the Service's DNS name against the CA in the webhook TLS Secret.
    Returns (status, headers by lower-case name, body)."""
    host = f"{release.fullname}.{release.namespace}.svc"
    slices = release.json(
        "get",
        "endpointslices",
        "-n",
        release.namespace,
        "-l",
        f"kubernetes.io/service-name={release.fullname}",
    )["items"]
    endpoint = next(e for s in slices for e in s.get("endpoints") or [] if e["conditions"].get("ready"))
    port = slices[0]["ports"][0]["port"]
    ca = secret_data(release, f"{release.fullname}-webhook-tls", release.namespace)["ca.crt"].decode()
    context = ssl.create_default_context(cadata=ca)
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((endpoint["addresses"][0], port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
            response = b""
            while chunk := tls.recv(65536):
                response += chunk
    head, _, content = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    parsed: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.setdefault(name.strip().lower(), []).append(value.strip())
    return int(status_line.split(" ", 2)[1]), parsed, content.decode(errors="replace")


def cookies(headers: dict[str, list[str]]) -> dict[str, str]:
    return dict(c.split(";", 1)[0].split("=", 1) for c in headers.get("set-cookie", []))


def admin_login(release: Release, password: str) -> tuple[int, str]:
    """Log in to the admin through the Service as a browser would (CSRF cookie and token, Referer);
    returns the status and body of /admin/ with the session that login gave."""
    origin = f"https://{release.fullname}.{release.namespace}.svc"
    status, headers, body = through_service(release, "/admin/login/")
    assert status == 200, body
    csrf = cookies(headers)["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "admin", "password": password, "next": "/admin/"}
    ).encode()
    status, headers, body = through_service(
        release,
        "/admin/login/?next=/admin/",
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Referer": f"{origin}/admin/login/",
            "Origin": origin,
        },
        body=form,
    )
    if status != 302:
        return status, body
    session = cookies(headers)["sessionid"]
    status, _, body = through_service(release, "/admin/", headers={"Cookie": f"sessionid={session}"})
    return status, body


def pod_names(release: Release) -> list[str]:
    pods = release.json("get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/instance={RELEASE}")
    return [p["metadata"]["name"] for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]


def ready_pod(release: Release) -> str:
    def check():
        pods = release.json("get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=all-in-one")
        for pod in pods["items"]:
            conditions = pod["status"].get("conditions", [])
            if not pod["metadata"].get("deletionTimestamp") and any(
                c["type"] == "Ready" and c["status"] == "True" for c in conditions
            ):
                return pod["metadata"]["name"]
        return None

    return wait_for(check, 180, "a Ready ecrcontrol pod", release)


def test_installed_pods_are_ready_and_answer_through_the_service(release: Release):
    print(f"\n[chart] install-to-Ready: {release.install_seconds:.1f}s")
    pod = release.json("get", "pod", ready_pod(release), "-n", NAMESPACE)
    assert pod["spec"]["serviceAccountName"] == FULLNAME
    assert [c["name"] for c in pod["spec"]["containers"]] == ["ecrcontrol"]  # every role, one process
    for container in pod["spec"]["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    status, _, body = through_service(release, "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, _, body = through_service(release, "/admin/login/")
    assert status == 200 and 'name="password"' in body
    # AFTER MERGE (REST API branch): check /api/v1/ here too, e.g.
    #   status, _, _ = through_service(release, "/api/v1/"); assert status in (401, 403)


def test_the_first_admin_logs_in_with_the_generated_password(release: Release):
    # As README.md says: kubectl get secret ecrcontrol-admin -o jsonpath='{.data.password}' | base64 -d
    encoded = release.kubectl(
        "-n", NAMESPACE, "get", "secret", "ecrcontrol-admin", "-o", "jsonpath={.data.password}"
    ).stdout
    password = base64.b64decode(encoded).decode()
    status, body = admin_login(release, password)
    # Logged in: the dashboard (the admin's home) with a logout form, not the login page again.
    assert status == 200 and "<title>Dashboard | ecrcontrol</title>" in body, body[:2000]
    assert 'action="/admin/logout/"' in body, body[:2000]
    status, body = admin_login(release, password + "-wrong")
    assert status == 200 and "Please enter the correct username and password" in body


def test_webhook_configurations_trust_the_generated_ca(release: Release):
    ca = secret_data(release, f"{FULLNAME}-webhook-tls")["ca.crt"]
    for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
        name = f"{FULLNAME}-{kind.split('webhook')[0]}"
        config = release.json("get", kind, name)
        bundles = {base64.b64decode(w["clientConfig"]["caBundle"]) for w in config["webhooks"]}
        assert bundles == {ca}, kind


APPLY = """
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: aws.zakariaamine.com/v1alpha2
kind: AWSECRImagePullSecret
metadata: {{name: example, namespace: {ns}}}
spec:
  awsAccess:
    accessKeyId: AKIAIOSFODNN7EXAMPLE
    secretAccessKey: local-ecr-accepts-any-key
    region: {region}
  secretName: ecr-pull
"""


def apply(release: Release, manifest: str, check: bool = True):
    path = release.values.parent / "manifest.yaml"
    path.write_text(manifest)
    return release.kubectl("apply", "-f", str(path), check=check)


def wait_ready(release: Release, ns: str) -> dict:
    def check():
        body = release.json("get", "awsecrimagepullsecret", "example", "-n", ns)
        ready = [c for c in body.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        return body if ready and ready[0]["status"] == "True" else None

    return wait_for(check, 90, f"example in {ns} Ready", release)


def valid_pull_secret(release: Release, ns: str) -> dict:
    secret = release.json("get", "secret", "ecr-pull", "-n", ns)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    ((registry, auth),) = config["auths"].items()
    assert ".dkr.ecr.eu-west-1." in registry and auth["username"] == "AWS" and auth["password"]
    return secret


def test_example_resource_becomes_ready_with_a_valid_secret(release: Release):
    apply(release, APPLY.format(ns="e2e-team", region="eu-west-1"))
    wait_ready(release, "e2e-team")
    wait_for(lambda: valid_pull_secret(release, "e2e-team"), 30, "the pull Secret", release)


def test_the_installed_webhook_denies_taking_over_an_unmanaged_secret(release: Release):
    release.kubectl("create", "secret", "generic", "not-ours", "-n", "e2e-team", "--from-literal=a=b")
    manifest = APPLY.format(ns="e2e-team", region="eu-west-1").replace("example", "bad")
    result = apply(release, manifest.replace("secretName: ecr-pull", "secretName: not-ours"), check=False)
    assert result.returncode != 0
    assert 'admission webhook "validate.ecrcontrol.io" denied the request' in result.stderr
    assert MSG_SECRET_EXISTS.format(name="not-ours", ns="e2e-team") in result.stderr


def test_helm_test_round_trip(release: Release):
    """The hook pod (manage.py selfcheck) exits 0 only if both webhooks answered as expected; Helm
    deletes it once it succeeded, so its output is not kept."""
    result = release.helm("test", RELEASE, "-n", NAMESPACE, "--timeout=3m")
    assert f"TEST SUITE:     {FULLNAME}-test" in result.stdout, result.stdout
    assert "Phase:          Succeeded" in result.stdout, result.stdout
    webhook_log = release.kubectl("logs", "-n", NAMESPACE, ready_pod(release), "-c", "ecrcontrol").stdout
    assert "ecrcontrol-selfcheck (dry run): denied: secret " in webhook_log


# What the code calls (secrets_app/kube/api.py, watching.py), as `kubectl auth can-i --list` shows it.
EXPECTED_RULES = {
    ("awsecrimagepullsecrets.aws.zakariaamine.com", "", "create delete get list update watch"),
    ("clusterawsecrimagepullsecrets.aws.zakariaamine.com", "", "create delete get list update watch"),
    ("awsecrcredentials.aws.zakariaamine.com", "", "delete get list watch"),
    ("awsecrimagepullsecrets.aws.zakariaamine.com/status", "", "patch"),
    ("clusterawsecrimagepullsecrets.aws.zakariaamine.com/status", "", "patch"),
    ("secrets", "", "create delete get list update watch"),
    ("serviceaccounts/token", "", "create"),  # a serviceAccountRef's web identity (TokenRequest)
    ("serviceaccounts", "", "get list patch watch"),  # spec.serviceAccounts: the imagePullSecrets entry
    ("namespaces", "", "get list watch"),
    ("events", "", "create"),
    ("mutatingwebhookconfigurations.admissionregistration.k8s.io", f"{FULLNAME}-mutating", "get update"),
    ("validatingwebhookconfigurations.admissionregistration.k8s.io", f"{FULLNAME}-validating", "get update"),
}
# Granted to every authenticated user by Kubernetes itself (system:basic-user and friends).
DEFAULT_REVIEWS = {
    "selfsubjectreviews.authentication.k8s.io",
    "selfsubjectaccessreviews.authorization.k8s.io",
    "selfsubjectrulesreviews.authorization.k8s.io",
}


def can_i_list(release: Release, namespace: str) -> set[tuple[str, str, str]]:
    """The resource rules of `kubectl auth can-i --list` (columns located by the header), less the
    self-reviews every user has; non-resource URLs (/healthz, /version ...) are left out."""
    out = release.kubectl("auth", "can-i", "--list", f"--as={SA}", "-n", namespace).stdout
    print(f"\n[chart] kubectl auth can-i --list --as={SA} -n {namespace}:\n{out}")
    header, *lines = out.splitlines()
    urls_at, names_at, verbs_at = (header.index(h) for h in ("Non-Resource URLs", "Resource Names", "Verbs"))
    rules = set()
    for line in lines:
        resource = line[:urls_at].strip()
        if resource and resource not in DEFAULT_REVIEWS:
            names = line[names_at:verbs_at].strip(" []")
            verbs = " ".join(sorted(line[verbs_at:].strip(" []").split()))
            rules.add((resource, names, verbs))
    return rules


# Leader election, in the release namespace only: create any Lease, get/update the controller's own.
LEASE_RULES = {
    ("leases.coordination.k8s.io", "", "create"),
    ("leases.coordination.k8s.io", f"{FULLNAME}-controller", "get update"),
}


def test_the_service_account_may_do_exactly_what_the_code_needs(release: Release):
    assert can_i_list(release, NAMESPACE) == EXPECTED_RULES | LEASE_RULES
    assert can_i_list(release, "e2e-team") == EXPECTED_RULES  # no namespaced extras elsewhere
    for verb, resource in (
        ("patch", "secrets"),
        ("create", "pods"),
        ("update", "serviceaccounts"),  # patched (one imagePullSecrets entry), never replaced,
        ("create", "serviceaccounts"),  # created
        ("delete", "serviceaccounts"),  # or deleted
        ("get", "configmaps"),
        ("update", "customresourcedefinitions"),
        ("create", "clusterrolebindings"),
    ):
        result = release.kubectl("auth", "can-i", verb, resource, f"--as={SA}", "-A", check=False)
        assert result.stdout.strip() == "no", (verb, resource)


def test_upgrade_with_a_changed_value_keeps_data_and_certificates(release: Release):
    tls_before = secret_data(release, f"{FULLNAME}-webhook-tls")
    admin_before = secret_data(release, f"{FULLNAME}-admin")
    django_before = secret_data(release, f"{FULLNAME}-django")
    pod_before = ready_pod(release)
    release.helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        NAMESPACE,
        "-f",
        str(release.values),
        "--set",
        "logLevel=DEBUG",
        "--wait",
        "--timeout=5m",
    )
    pod_after = ready_pod(release)
    assert pod_after != pod_before  # the changed value rolled the pod
    assert secret_data(release, f"{FULLNAME}-webhook-tls") == tls_before
    assert secret_data(release, f"{FULLNAME}-admin") == admin_before
    assert secret_data(release, f"{FULLNAME}-django") == django_before
    test_webhook_configurations_trust_the_generated_ca(release)
    logs = release.kubectl("logs", "-n", NAMESPACE, pod_after, "-c", "ensure-admin").stdout
    assert "already exists" in logs  # the database on the volume survived the new pod
    wait_ready(release, "e2e-team")


def test_a_deleted_pod_stops_cleanly_comes_back_and_keeps_secrets_fresh(release: Release):
    pod = ready_pod(release)
    grace = release.json("get", "pod", pod, "-n", NAMESPACE)["spec"]["terminationGracePeriodSeconds"]
    started = time.monotonic()
    release.kubectl("delete", "pod", pod, "-n", NAMESPACE, "--wait=true", "--timeout=120s")
    stopped = time.monotonic() - started
    print(f"\n[chart] pod stopped and gone {stopped:.1f}s after SIGTERM (grace period {grace}s)")
    # Every process (gunicorn, qcluster, controller, the certificate sidecar) ends on SIGTERM; one
    # that ignored it would hold the pod until the kubelet's SIGKILL at the end of the grace period.
    assert stopped < grace, "a container ignored SIGTERM until the grace period ran out"
    new_pod = wait_for(lambda: (p := ready_pod(release)) != pod and p, 180, "a new pod", release)
    logs = release.kubectl("logs", "-n", NAMESPACE, new_pod, "-c", "ensure-admin").stdout
    assert "already exists" in logs
    old = release.json("get", "secret", "ecr-pull", "-n", "e2e-team")
    release.kubectl("delete", "secret", "ecr-pull", "-n", "e2e-team")
    fresh = wait_for(lambda: valid_pull_secret(release, "e2e-team"), 60, "the Secret put back", release)
    assert fresh["metadata"]["uid"] != old["metadata"]["uid"]


def test_uninstall_leaves_only_the_crds(release: Release):
    release.kubectl("delete", "namespace", "e2e-team", "--wait=true")
    release.helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout=3m")
    selector = f"app.kubernetes.io/instance={RELEASE}"
    left = release.kubectl(
        "get",
        "all,secrets,configmaps,serviceaccounts,roles,rolebindings,pvc,jobs",
        "-n",
        NAMESPACE,
        "-l",
        selector,
        "-o",
        "name",
    ).stdout.split()
    left += release.kubectl(
        "get",
        "clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations",
        "-l",
        selector,
        "-o",
        "name",
    ).stdout.split()
    assert left == []
    crds = release.kubectl("get", "crd", "-o", "name").stdout
    assert "awsecrimagepullsecrets.aws.zakariaamine.com" in crds  # Helm keeps CRDs by convention
