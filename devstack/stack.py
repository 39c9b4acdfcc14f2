"""The embedded default environment: a local control plane and a local ECR, unless real ones are set.

Used by `manage.py runlocal` (the README's first command) and `manage.py localcluster`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator

from .controlplane import ControlPlane
from .ecr import LocalECR

# boto3's own settings that mean "the user configured real AWS or their own endpoint".
AWS_CONFIGURED_BY = ("AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID")


def say(message: str) -> None:
    print(message, flush=True)


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `with` blocks clean up, as they do on Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextlib.contextmanager
def kubernetes_and_ecr() -> Iterator[dict[str, str]]:
    """Yield the environment for the child processes: KUBECONFIG and the ECR and STS endpoints."""
    env: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if os.environ.get("KUBECONFIG"):
            say(f"Using the cluster in KUBECONFIG={os.environ['KUBECONFIG']}")
        else:
            say("Starting a local control plane (etcd, kube-apiserver, kube-controller-manager)...")
            cp = stack.enter_context(ControlPlane())
            env["KUBECONFIG"] = str(cp.kubeconfig)
            say(f"Control plane ready in {cp.startup_seconds:.1f}s at {cp.server}")
        if any(os.environ.get(name) for name in AWS_CONFIGURED_BY):
            say("Using the AWS configuration from the environment.")
        else:
            say("Starting a local ECR endpoint (moto_server behind a front that answers like AWS)...")
            ecr = LocalECR()
            ecr.configure_from_env()
            stack.enter_context(ecr)
            env["AWS_ENDPOINT_URL_ECR"] = ecr.url
            env["AWS_ENDPOINT_URL_STS"] = ecr.url  # the same front answers STS (AssumeRole*) too
            say(f"Local ECR and STS ready at {ecr.url} (tokens expire 12 h ahead, as from AWS)")
        yield env
