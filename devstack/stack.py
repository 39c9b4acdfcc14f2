"""The embedded default environment: a local control plane and a local ECR, unless real ones are set.

Used by `manage.py runlocal` (the README's first command) and `manage.py localcluster`. The local
ECR front runs in a process of its own here (`LocalECRProcess`), so that the process that started
it can hand its children over to a lean supervisor (devstack/supervise.py) and end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .controlplane import ControlPlane
from .processes import Component, Process, free_port, lean_python, terminate_on_sigterm

# terminate_on_sigterm lives in processes (the lean processes use it); the commands import it here.
__all__ = ["AWS_CONFIGURED_BY", "LocalECRProcess", "kubernetes_and_ecr", "say", "terminate_on_sigterm"]

# boto3's own settings that mean "the user configured real AWS or their own endpoint".
AWS_CONFIGURED_BY = ("AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID")
START_TIMEOUT = 60.0  # moto_server first, then the front


def say(message: str) -> None:
    print(message, flush=True)


class LocalECRProcess(Component):
    """devstack.ecr's LocalECR in a child process (`python -S -m devstack.ecr PORT`, which starts
    its own moto_server), its knobs from the environment (`ecr.ENV_KNOBS`)."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrcontrol-ecr-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Process | None = None

    def start(self) -> None:
        argv, env = lean_python("devstack.ecr", str(self.port))
        self.process = Process("local-ecr", argv, self.workdir / "ecr.log", env=env).start()
        self.process.wait_until(self._listening, START_TIMEOUT, "listening")

    def _listening(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):  # once moto_server answers
            return True

    def stop(self) -> None:
        if self.process:
            self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def kubernetes_and_ecr(processes: list[Process] | None = None) -> Iterator[dict[str, str]]:
    """Yield the environment for the child processes: KUBECONFIG and the ECR and STS endpoints.
    The processes started are appended to `processes`, in start order, for a supervisor."""
    env: dict[str, str] = {}
    processes = [] if processes is None else processes
    with contextlib.ExitStack() as stack:
        if os.environ.get("KUBECONFIG"):
            say(f"Using the cluster in KUBECONFIG={os.environ['KUBECONFIG']}")
        else:
            say("Starting a local control plane (etcd, kube-apiserver, kube-controller-manager)...")
            cp = stack.enter_context(ControlPlane())
            processes.extend(cp.processes)
            env["KUBECONFIG"] = str(cp.kubeconfig)
            say(f"Control plane ready in {cp.startup_seconds:.1f}s at {cp.server}")
        if any(os.environ.get(name) for name in AWS_CONFIGURED_BY):
            say("Using the AWS configuration from the environment.")
        else:
            say("Starting a local ECR endpoint (moto_server behind a front that answers like AWS)...")
            ecr = stack.enter_context(LocalECRProcess())
            processes.append(ecr.process)
            env["AWS_ENDPOINT_URL_ECR"] = ecr.url
            env["AWS_ENDPOINT_URL_STS"] = ecr.url  # the same front answers STS (AssumeRole*) too
            say(f"Local ECR and STS ready at {ecr.url} (tokens expire 12 h ahead, as from AWS)")
        yield env
