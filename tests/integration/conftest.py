"""Session fixtures for the real local control plane and moto, and a fresh namespace per test.

If the control plane cannot start, every test that needs it errors (it is never skipped).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from secrets_app.localdev.controlplane import ControlPlane
from secrets_app.localdev.moto import MotoServer

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
    with MotoServer() as server:
        yield server


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
