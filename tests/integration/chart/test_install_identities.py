"""AWS identities through the installed chart: a Secret's keys, a ServiceAccount's web identity and
the operator's own identity, each signing its ECR calls at the local ECR front.

The release gives the operator an identity of its own the way IRSA does outside EKS (README.md,
"AWS identities"): a projected ServiceAccount token (extraVolumes, extraVolumeMounts) and
AWS_ROLE_ARN plus AWS_WEB_IDENTITY_TOKEN_FILE (extraEnv), which boto3's default chain turns into an
AssumeRoleWithWebIdentity at the front's STS. Everything runs as the chart's ServiceAccount, so its
RBAC is proved too: reading the referenced Secret and requesting the ServiceAccount's token.

Runs after test_install.py and test_install_cert_manager.py (file order), whose releases are
uninstalled by then: two releases would both reconcile the same custom resources.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from devstack.ecr import WEB_IDENTITY
from secrets_app.services.identity.access import MSG_AMBIENT_REFUSED

from .conftest import Release, installed
from .test_install import wait_for

# The first test of a cold run also builds the node's images (debootstrap, pip): minutes, not seconds.
pytestmark = pytest.mark.timeout(1200)

NAME, NAMESPACE = "ecrid", "ecrcontrol-id"
FULLNAME = f"{NAME}-ecrcontrol"
TEAM = "id-team"
OPERATOR_ROLE = "arn:aws:iam::123456789012:role/e2e-ecrcontrol-operator"
PULLER_ROLE = "arn:aws:iam::123456789012:role/e2e-team-puller"
KEY_ID = "AKIAE2ESECRETREF7Q3Z"  # the Secret's access key: the front records it as the signer
TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"

# IRSA outside EKS, as README.md shows it: what EKS's webhook would inject into the pods.
IRSA = {
    "extraVolumes": [
        {
            "name": "aws-iam-token",
            "projected": {
                "sources": [
                    {
                        "serviceAccountToken": {
                            "audience": "sts.amazonaws.com",
                            "expirationSeconds": 3600,
                            "path": "token",
                        }
                    }
                ]
            },
        }
    ],
    "extraVolumeMounts": [{"name": "aws-iam-token", "mountPath": TOKEN_DIR, "readOnly": True}],
    "extraEnv": [
        {"name": "AWS_ROLE_ARN", "value": OPERATOR_ROLE},
        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{TOKEN_DIR}/token"},
    ],
}

MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {TEAM}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: aws-creds, namespace: {TEAM}}}
stringData:
  AWS_ACCESS_KEY_ID: {KEY_ID}
  AWS_SECRET_ACCESS_KEY: local-ecr-accepts-any-key
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: puller, namespace: {TEAM}}}
---
apiVersion: aws.zakariaamine.com/v1alpha2
kind: AWSECRImagePullSecret
metadata: {{name: by-secret, namespace: {TEAM}}}
spec:
  secretName: pull-by-secret
  awsAccess:
    region: eu-west-1
    secretRef: {{name: aws-creds}}
---
apiVersion: aws.zakariaamine.com/v1alpha2
kind: AWSECRImagePullSecret
metadata: {{name: by-service-account, namespace: {TEAM}}}
spec:
  secretName: pull-by-service-account
  awsAccess:
    region: eu-west-1
    serviceAccountRef: {{name: puller}}
    roleArn: {PULLER_ROLE}
---
apiVersion: aws.zakariaamine.com/v1alpha2
kind: ClusterAWSECRImagePullSecret
metadata: {{name: {NAME}-ambient}}
spec:
  secretName: pull-ambient
  namespaces: [{TEAM}]
  awsAccess:
    region: eu-west-1
"""


@pytest.fixture(scope="module")
def id_release(node, product_image, local_ecr) -> Iterator[Release]:
    values = {**IRSA, "aws": {"ambientCredentials": "cluster"}}
    with installed(node, local_ecr.url, NAME, NAMESPACE, **values) as rel:
        yield rel
        rel.kubectl(
            "delete", "clusterawsecrimagepullsecret", f"{NAME}-ambient", "--ignore-not-found", check=False
        )
        rel.kubectl("delete", "namespace", TEAM, "--wait=false", "--ignore-not-found", check=False)


def apply(release: Release, manifest: str, check: bool = True):
    path = release.values.parent / "identities.yaml"
    path.write_text(manifest)
    return release.kubectl("apply", "-f", str(path), check=check)


def ready(release: Release, *resource: str) -> dict:
    def check():
        body = release.json("get", *resource)
        conditions = [c for c in body.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        return body if conditions and conditions[0]["status"] == "True" else None

    return wait_for(check, 120, f"{' '.join(resource)} Ready", release)


def pull_secret_registry(release: Release, name: str) -> str:
    secret = release.json("get", "secret", name, "-n", TEAM)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    ((registry, auth),) = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"].items()
    assert auth["username"] == "AWS" and auth["password"]
    return registry


def test_secret_service_account_and_operator_identities_sign_their_own_ecr_calls(id_release, local_ecr):
    release = id_release
    apply(release, MANIFEST)

    # (b) keys from a Secret: the key in the Secret signed GetAuthorizationToken, as itself.
    body = ready(release, "awsecrimagepullsecret", "by-secret", "-n", TEAM)
    assert body["status"]["identity"] == {"kind": "secret", "accessKeyIdSuffix": KEY_ID[-4:]}
    assert ".dkr.ecr.eu-west-1." in pull_secret_registry(release, "pull-by-secret")
    signers = [s for s in local_ecr.token_signers if s.access_key_id == KEY_ID]
    assert signers and all(s.role_arn == "" and not s.session_token for s in signers), signers

    # (c) a ServiceAccount's web identity: the operator requested puller's token (TokenRequest,
    # as the chart's ServiceAccount), STS saw its claims, and the role's key signed the ECR call.
    body = ready(release, "awsecrimagepullsecret", "by-service-account", "-n", TEAM)
    assert body["status"]["identity"] == {"kind": "serviceAccount", "roleArn": PULLER_ROLE}
    pull_secret_registry(release, "pull-by-service-account")
    (web,) = [c for c in local_ecr.sts_calls if c.role_arn == PULLER_ROLE]
    assert (web.action, web.status, web.signer_access_key_id) == (WEB_IDENTITY, 200, "")
    assert web.sub == f"system:serviceaccount:{TEAM}:puller" and web.aud == "sts.amazonaws.com"
    assert web.external_id == ""
    signers = [s for s in local_ecr.token_signers if s.role_arn == PULLER_ROLE]
    assert signers and all(s.session_token for s in signers), signers

    # (d) the operator's own identity (IRSA's token file): its own ServiceAccount's web identity
    # assumed the operator's role, whose key signed the ECR call of the ClusterAWSECRImagePullSecret.
    body = ready(release, "clusterawsecrimagepullsecret", f"{NAME}-ambient")
    assert body["status"]["identity"] == {"kind": "ambient"}
    pull_secret_registry(release, "pull-ambient")
    operator_calls = [c for c in local_ecr.sts_calls if c.role_arn == OPERATOR_ROLE]
    assert operator_calls and all(c.action == WEB_IDENTITY and c.status == 200 for c in operator_calls)
    assert {c.sub for c in operator_calls} == {f"system:serviceaccount:{NAMESPACE}:{FULLNAME}"}
    assert {c.aud for c in operator_calls} == {"sts.amazonaws.com"}
    signers = [s for s in local_ecr.token_signers if s.role_arn == OPERATOR_ROLE]
    assert signers and all(s.session_token for s in signers), signers

    # Each identity signed only its own calls: the role keys STS issued are told apart by role.
    puller_keys = {s.access_key_id for s in local_ecr.token_signers if s.role_arn == PULLER_ROLE}
    operator_keys = {s.access_key_id for s in local_ecr.token_signers if s.role_arn == OPERATOR_ROLE}
    assert puller_keys and operator_keys and not puller_keys & operator_keys

    # aws.ambientCredentials=cluster reached the operator: a namespaced resource may not use its identity.
    refused = apply(
        release,
        f"""
apiVersion: aws.zakariaamine.com/v1alpha2
kind: AWSECRImagePullSecret
metadata: {{name: by-operator, namespace: {TEAM}}}
spec:
  secretName: pull-by-operator
  awsAccess: {{region: eu-west-1}}
""",
        check=False,
    )
    assert refused.returncode != 0
    assert 'admission webhook "validate.ecrcontrol.io" denied the request' in refused.stderr
    expected = MSG_AMBIENT_REFUSED.format(who="AWSECRImagePullSecrets", policy="cluster")
    assert expected in refused.stderr, refused.stderr
