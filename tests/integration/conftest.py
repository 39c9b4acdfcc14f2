"""Session fixtures for the real local control plane and the local ECR, and a fresh namespace per test.

If the control plane cannot start, every test that needs it errors (it is never skipped).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from devstack.controlplane import ControlPlane
from devstack.ecr import LocalECR
from devstack.moto import MotoServer

from .helpers import delete_all_resources

REPO = Path(__file__).resolve().parents[2]


def seed_crds_dir() -> Path:
    """The seed operator's CRDs: a compatibility fixture in ../shared, read in place."""
    path = Path(os.environ.get("ECRCONTROL_SEED_CRDS", REPO.parent / "shared" / "compat" / "seed-crds"))
    if not path.is_dir():
        raise FileNotFoundError(f"seed CRDs not found at {path}: set ECRCONTROL_SEED_CRDS to their directory")
    return path


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    with ControlPlane() as cp:
        yield cp


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's own server: what the local ECR fronts (use `ecr` or `local_ecr`, which answer like AWS)."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def local_ecr(moto_server) -> Iterator[LocalECR]:
    """The local ECR for a whole session (processes that outlive one test, such as a chart release).
    Do not turn its fault knobs: use `ecr`, a fresh front per test."""
    with LocalECR(moto_server.url) as ecr:
        yield ecr


@pytest.fixture(scope="session")
def kube_api(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    yield api
    api.close()


@pytest.fixture
def namespace(kube_api: client.ApiClient) -> Iterator[str]:
    """A namespace of its own for each test, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


CHART_CRDS = REPO / "chart" / "crds"


def apply_crds(api: client.ApiClient, directory: Path) -> None:
    """Create or replace every CRD in `directory`, then wait until each is Established."""
    import time

    import yaml
    from kubernetes.client.rest import ApiException

    extensions = client.ApiextensionsV1Api(api)
    names = []
    for path in sorted(directory.glob("*.yaml")):
        for manifest in yaml.safe_load_all(path.read_text()):
            if not manifest:
                continue
            name = manifest["metadata"]["name"]
            names.append(name)
            try:
                extensions.create_custom_resource_definition(manifest)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                current = extensions.read_custom_resource_definition(name)
                manifest["metadata"]["resourceVersion"] = current.metadata.resource_version
                extensions.replace_custom_resource_definition(name, manifest)
    deadline = time.monotonic() + 30
    for name in names:
        while True:
            crd = extensions.read_custom_resource_definition(name)
            if any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or []):
                break
            assert time.monotonic() < deadline, f"CRD {name} not established"
            time.sleep(0.1)


@pytest.fixture(scope="session")
def our_crds(kube_api: client.ApiClient) -> None:
    apply_crds(kube_api, CHART_CRDS)


@pytest.fixture
def ecr(moto_server) -> Iterator[LocalECR]:
    """The ECR endpoint for the operator: the local ECR (12 h expiry, AWS's throttling quota) with
    its own counters and fault knobs for this test."""
    with LocalECR(moto_server.url) as ecr:
        yield ecr


@pytest.fixture(scope="session")
def strict_moto() -> Iterator[MotoServer]:
    """A moto server that enforces IAM authentication: unknown keys are rejected."""
    with MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as server:
        yield server


@pytest.fixture
def strict_ecr(strict_moto) -> Iterator[LocalECR]:
    """The local ECR in front of the moto that enforces IAM."""
    with LocalECR(strict_moto.url) as ecr:
        yield ecr


@pytest.fixture
def start_operator(control_plane, our_crds, transactional_db, tmp_path):
    """Start the controller and a worker against a given ECR endpoint; stopped after the test."""
    from .operator import Operator

    started = []

    def start(
        ecr_url: str, embedded: bool = False, controller: bool = True, kubeconfig=None, **settings: str
    ) -> Operator:
        """`kubeconfig`: another identity than the control plane's admin (RBAC tests)."""
        op = Operator(kubeconfig or control_plane.kubeconfig, ecr_url, tmp_path, **settings)
        op = op.start_embedded() if embedded else op.start(controller)
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()
    # Leave no resource behind for the next test's operator to list and reconcile.
    delete_all_resources(config.new_client_from_config(config_file=str(control_plane.kubeconfig)))


@pytest.fixture
def operator(start_operator, ecr):
    return start_operator(ecr.url)
