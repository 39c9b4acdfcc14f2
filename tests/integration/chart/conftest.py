"""The real node and the installed release for the chart's end-to-end tests.

The node (containerd, kubelet, kube-scheduler) joins the session's control plane; the product
image is built from the repository's Dockerfile and imported into containerd; the chart is
installed with `helm install --wait` in the host network (no kube-proxy here),
against the local ECR and STS (moto behind a front that answers like AWS).
If any of it cannot start, these tests error: they are never skipped.

`ecr_registry` is the ECR registry host the node pulls from: a local registry (devstack/registry.py)
that lets in only the tokens the local ECR issued, which the node's containerd reaches in place of
`ECR_HOST` (`Node.serve_registry`: a hosts.toml in the node's own registry config directory).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack import binaries
from devstack.node import NODE_NAME, Node
from devstack.processes import free_port
from devstack.registry import LocalRegistry

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "chart"
IMAGE_REPOSITORY, IMAGE_TAG = "ecrcontrol", "e2e"
# The names README.md uses ("Install with Helm"), so that its commands are the ones tested.
RELEASE, NAMESPACE = "ecrcontrol", "ecrcontrol-system"
STORAGE_CLASS = "ecrcontrol-e2e"
# The registry of the local ECR's tokens (moto's account) in the region the tests use, and the image
# the local registry serves there (the node's pause image: it runs until stopped).
ECR_ACCOUNT, ECR_REGION = "123456789012", "eu-west-1"
ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.{ECR_REGION}.amazonaws.com"
ECR_REPOSITORY, ECR_TAG = "ecrcontrol/pause", "1"
ECR_IMAGE = f"{ECR_HOST}/{ECR_REPOSITORY}:{ECR_TAG}"


def log(message: str) -> None:
    print(message, flush=True)


@pytest.fixture(scope="session")
def node(control_plane) -> Iterator[Node]:
    with Node(control_plane, log=log) as started:
        yield started


@pytest.fixture(scope="session")
def ecr_registry(node: Node, local_ecr) -> Iterator[LocalRegistry]:
    """`ECR_IMAGE`, served to the node as `ECR_HOST` by a registry that asks the local ECR whose
    Basic credentials are a valid token."""
    with LocalRegistry(local_ecr.accepts) as registry:
        archive = registry.workdir / "pause.tar"
        subprocess.run(
            [*node.docker, "save", "-o", str(archive), node.images.ensure_pause()],
            check=True,
            capture_output=True,
        )
        registry.add_docker_save(archive, ECR_REPOSITORY, ECR_TAG)
        node.serve_registry(ECR_HOST, registry.url, registry.ca_file)
        try:
            yield registry
        finally:
            node.forget_registry(ECR_HOST)


@pytest.fixture(scope="session")
def product_image(node: Node) -> str:
    """The repository's Dockerfile, built here and imported into the node's containerd."""
    tag = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
    node.images.build(REPO, tag)
    node.images.import_into_containerd(tag)
    log(f"[chart] image {tag}: {node.images.size(tag) / 1e6:.0f} MB; timings {node.images.timings}")
    return tag


@dataclass
class Release:
    node: Node
    values: Path
    name: str = RELEASE
    namespace: str = NAMESPACE

    @property
    def fullname(self) -> str:
        """The chart's object names: the release name, with the chart's unless it contains it."""
        return self.name if "ecrcontrol" in self.name else f"{self.name}-ecrcontrol"

    install_seconds: float = 0.0

    def helm(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        argv = [str(binaries.ensure_binaries() / "helm"), f"--kubeconfig={self.node.cp.kubeconfig}", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"helm {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}\n{self.diagnose()}"
            )
        return proc

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.node.kubectl(*args, check=check)

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def diagnose(self) -> str:
        pods = self.kubectl("get", "pods", "-A", "-o", "wide", check=False).stdout
        events = self.kubectl("get", "events", "-n", self.namespace, check=False).stdout[-4000:]
        logs = self.kubectl(
            "logs",
            "-n",
            self.namespace,
            "-l",
            f"app.kubernetes.io/instance={self.name}",
            "--all-containers",
            "--tail=40",
            check=False,
        ).stdout[-6000:]
        return f"pods:\n{pods}\nevents:\n{events}\nlogs:\n{logs}\nnode:\n{self.node.log_tails(20)}"


def _values(node: Node, ecr_url: str) -> dict:
    port = int(node.cp.server.rsplit(":", 1)[1])
    return {
        "image": {"repository": IMAGE_REPOSITORY, "tag": IMAGE_TAG, "pullPolicy": "Never"},
        # No kube-proxy on the test node: the pods use the host's network and reach the API server
        # on loopback, and the web role binds a free port of this machine.
        "hostNetwork": True,
        "web": {"port": free_port(), "workers": 1, "threads": 4},
        "metrics": {"ports": {"web": free_port(), "worker": free_port(), "controller": free_port()}},
        "extraEnv": [
            {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
            {"name": "KUBERNETES_SERVICE_PORT", "value": str(port)},
            {"name": "AWS_ENDPOINT_URL_ECR", "value": ecr_url},
            {"name": "AWS_ENDPOINT_URL_STS", "value": ecr_url},  # the local front serves STS too
            {"name": "ECRCONTROL_BACKOFF_BASE_SECONDS", "value": "0.5"},
        ],
        "database": {"sqlite": {"storageClassName": STORAGE_CLASS}},
    }


def _persistent_volume(name: str, path: Path) -> dict:
    """The test node has no storage provisioner: a hostPath volume the chart's claim binds to."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "hostPath": {"path": str(path), "type": "Directory"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_NAME]}
                            ]
                        }
                    ]
                }
            },
        },
    }


@contextlib.contextmanager
def installed(node: Node, ecr_url: str, name: str, namespace: str, **values) -> Iterator[Release]:
    """`helm install --wait` of the chart (our values for the test node, then `values`: dicts are
    merged one level deep, `extraEnv` is appended, anything else replaced); on exit
    `helm uninstall` (a test may have done it already) and the volume is removed."""
    work = Path(tempfile.mkdtemp(prefix=f"ecrcontrol-{name}-"))
    hostpath = work / "data"
    hostpath.mkdir()
    hostpath.chmod(0o777)  # the pods run as uid 10001; hostPath volumes ignore fsGroup
    merged = _values(node, ecr_url)
    for key, value in values.items():
        if key == "extraEnv":  # added to the test node's (API server, local ECR and STS)
            merged[key] = merged[key] + value
        else:
            merged[key] = {**merged[key], **value} if isinstance(value, dict) and key in merged else value
    values_file = work / "values.json"
    values_file.write_text(json.dumps(merged))
    pv = work / "pv.json"
    pv.write_text(json.dumps(_persistent_volume(f"{name}-data", hostpath)))
    rel = Release(node, values_file, name, namespace)
    rel.kubectl("apply", "-f", str(pv))
    try:
        started = time.monotonic()
        rel.helm(
            "install",
            name,
            str(CHART),
            "-n",
            namespace,
            "--create-namespace",
            "-f",
            str(values_file),
            "--wait",
            "--timeout=5m",
        )
        rel.install_seconds = time.monotonic() - started
        log(f"[chart] helm install --wait of {name} took {rel.install_seconds:.1f}s")
        yield rel
    finally:
        rel.helm("uninstall", name, "-n", namespace, "--wait", check=False)
        rel.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        rel.kubectl("delete", "-f", str(pv), "--wait=false", check=False)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def release(node: Node, product_image: str, local_ecr) -> Iterator[Release]:
    """The default install (self-generated webhook TLS, SQLite), shared by test_install.py."""
    with installed(node, local_ecr.url, RELEASE, NAMESPACE) as rel:
        yield rel
