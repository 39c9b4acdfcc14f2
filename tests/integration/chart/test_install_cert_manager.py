"""The chart in cert-manager mode on the real node: cert-manager's own controller issues the webhook
certificate (a `Certificate` from a self-signed `Issuer`) and its cainjector puts the CA into both
webhook configurations; the API server then calls ecrcontrol with that certificate.

Runs after test_install.py (file order), whose release is uninstalled by then: two releases would
both reconcile the same custom resources.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator

import pytest

from devstack.certmanager import CertManager
from secrets_app.webhooks.validating import MSG_SECRET_EXISTS

from .conftest import Release, installed
from .test_install import secret_data, through_service, wait_for

# The first test of a cold run also builds the node's images (debootstrap, pip): minutes, not seconds.
pytestmark = pytest.mark.timeout(1200)

NAME, NAMESPACE = "ecrcm", "ecrcontrol-cm"
FULLNAME = f"{NAME}-ecrcontrol"


@pytest.fixture(scope="module")
def cert_manager(node) -> Iterator[CertManager]:
    with CertManager(node.cp, node.kubectl) as cm:
        yield cm


@pytest.fixture(scope="module")
def cm_release(node, product_image, local_ecr, cert_manager) -> Iterator[Release]:
    with installed(node, local_ecr.url, NAME, NAMESPACE, webhooks={"tls": "cert-manager"}) as rel:
        yield rel


def test_cert_manager_issues_the_certificate_and_injects_its_ca(cm_release: Release, cert_manager):
    certificate = cm_release.json("get", "certificate", f"{FULLNAME}-webhook", "-n", NAMESPACE)
    ready = [c for c in certificate["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True", certificate["status"]
    tls = secret_data(cm_release, f"{FULLNAME}-webhook-tls", NAMESPACE)
    assert b"BEGIN CERTIFICATE" in tls["tls.crt"] and tls["ca.crt"]
    annotations = cm_release.json("get", "secret", f"{FULLNAME}-webhook-tls", "-n", NAMESPACE)["metadata"]
    assert annotations["annotations"]["cert-manager.io/certificate-name"] == f"{FULLNAME}-webhook"

    def injected():
        bundles = set()
        for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
            config = cm_release.json("get", kind, f"{FULLNAME}-{kind.split('webhook')[0]}")
            bundles |= {w["clientConfig"].get("caBundle", "") for w in config["webhooks"]}
        return bundles == {base64.b64encode(tls["ca.crt"]).decode()}

    try:
        wait_for(injected, 60, "cainjector's caBundle in both configurations")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cert_manager.log_tails(60)}") from None


def test_webhooks_are_served_with_cert_managers_certificate(cm_release: Release):
    status, _, _ = through_service(cm_release, "/healthz")
    assert status == 200  # verified against cert-manager's CA for the Service's name
    endpoint = cm_release.json("get", "endpoints", FULLNAME, "-n", NAMESPACE)["subsets"][0]
    address = (endpoint["addresses"][0]["ip"], endpoint["ports"][0]["port"])
    served = ssl.get_server_certificate(address)
    stored = secret_data(cm_release, f"{FULLNAME}-webhook-tls", NAMESPACE)["tls.crt"].decode()
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(stored)
    cm_release.kubectl("create", "namespace", "cm-team")
    cm_release.kubectl("create", "secret", "generic", "not-ours", "-n", "cm-team", "--from-literal=a=b")
    manifest = cm_release.values.parent / "bad.json"
    resource = {
        "apiVersion": "aws.zakariaamine.com/v1alpha2",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": "bad", "namespace": "cm-team"},
        "spec": {
            "secretName": "not-ours",
            "awsAccess": {
                "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "secretAccessKey": "any",
                "region": "eu-west-1",
            },
        },
    }
    manifest.write_text(json.dumps(resource))
    result = cm_release.kubectl("apply", "-f", str(manifest), check=False)
    assert 'admission webhook "validate.ecrcontrol.io" denied the request' in result.stderr, result.stderr
    assert MSG_SECRET_EXISTS.format(name="not-ours", ns="cm-team") in result.stderr
    result = cm_release.helm("test", NAME, "-n", NAMESPACE, "--timeout=3m")
    assert "Phase:          Succeeded" in result.stdout, result.stdout
    cm_release.kubectl("delete", "namespace", "cm-team", "--wait=false")
