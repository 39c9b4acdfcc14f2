"""A real, local Kubernetes control plane: etcd, kube-apiserver and kube-controller-manager.

No kubelet and no scheduler: pods never run, but every API object, admission webhook, RBAC
rule, ownerReference garbage collection and namespace deletion behaves as in a real cluster.
Certificates are generated per start; everything lives in one temporary directory that is
removed on stop. The API server listens on a free loopback port.
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import tempfile
import time
import urllib.request
from pathlib import Path

from . import binaries
from .certs import CertificateAuthority, rsa_key_pem
from .processes import Component, ComponentError, Process, free_port

START_TIMEOUT = 60.0
SERVICE_CIDR = "10.96.0.0/24"


def _kubeconfig(server: str, ca_pem: bytes, cert: Path, key: Path, user: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "local", "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}
            ],
            "users": [{"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
            "current-context": "local",
        },
        indent=2,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class ControlPlane(Component):
    """Start with `with ControlPlane() as cp:`; `cp.kubeconfig` is the admin kubeconfig path."""

    def __init__(
        self, workdir: Path | None = None, keep_workdir: bool = False, apiserver_args: tuple[str, ...] = ()
    ) -> None:
        """`apiserver_args`: more kube-apiserver flags (a later flag wins over an earlier one), e.g.
        a small `--max-requests-inflight` for an overload test."""
        self._own_workdir = workdir is None
        self.apiserver_args = tuple(apiserver_args)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ecrcontrol-cp-"))
        self.keep_workdir = keep_workdir
        self.bin = binaries.ensure_binaries()
        self.processes: list[Process] = []
        self.etcd_url = ""
        self.server = ""
        self.kubeconfig = self.workdir / "kubeconfig"
        self.ca_pem = b""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        started = time.monotonic()
        self._write_pki()
        self._start_etcd()
        self._start_apiserver()
        self._start_controller_manager()
        self.startup_seconds = time.monotonic() - started

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self._own_workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart_apiserver(self) -> None:
        """Stop and start the API server on the same port (for fault-injection tests)."""
        apiserver = next(p for p in self.processes if p.name == "kube-apiserver")
        apiserver.stop()
        self.processes.remove(apiserver)
        self._start_apiserver(port=int(self.server.rsplit(":", 1)[1]))

    def stop_apiserver(self) -> None:
        """Stop only the API server (a partition of every client from it); `start_apiserver()`
        brings it back on the same port."""
        apiserver = next(p for p in self.processes if p.name == "kube-apiserver")
        apiserver.stop()
        self.processes.remove(apiserver)

    def start_apiserver(self) -> None:
        self._start_apiserver(port=int(self.server.rsplit(":", 1)[1]))

    def compact_etcd(self) -> int:
        """Compact etcd's history up to its current revision (what the API server does every few
        minutes): a watch that resumes from an older resourceVersion gets 410 Gone. Returns the
        revision. Through etcd's v3 HTTP gateway, so no etcdctl is needed."""

        def post(path: str, body: dict) -> dict:
            request = urllib.request.Request(
                f"{self.etcd_url}{path}", data=json.dumps(body).encode(), method="POST"
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)

        revision = int(post("/v3/kv/range", {"key": _b64(b"/"), "limit": 1})["header"]["revision"])
        post("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    # -- components --------------------------------------------------------------------------
    def _write_pki(self) -> None:
        pki = self.workdir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        ca = CertificateAuthority("ecrcontrol-local-kubernetes-ca")
        self.ca = ca  # the real node (node.py) issues its kubelet's and scheduler's certificates
        self.ca_pem = ca.cert_pem
        self.ca_file = pki / "ca.crt"
        self.ca_file.write_bytes(ca.cert_pem)
        self.serving = ca.issue(
            "kube-apiserver",
            hosts=("127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
            server=True,
        ).write(pki, "apiserver")
        self.admin = ca.issue("ecrcontrol-admin", organizations=("system:masters",), client=True).write(
            pki, "admin"
        )
        self.kcm = ca.issue("system:kube-controller-manager", client=True).write(pki, "controller-manager")
        self.sa_key = pki / "sa.key"
        self.sa_key.write_bytes(rsa_key_pem())
        self.sa_key.chmod(0o600)

    def _process(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log").start()
        self.processes.append(process)
        return process

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        etcd = self._process(
            "etcd",
            [
                str(self.bin / "etcd"),
                "--name=local",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=local=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",  # a test cluster: speed over durability
                "--log-level=warn",
            ],
        )
        etcd.wait_until(
            lambda: (
                json.load(urllib.request.urlopen(f"{self.etcd_url}/health", timeout=1))["health"] == "true"
            ),
            START_TIMEOUT,
            "healthy",
        )

    def _start_apiserver(self, port: int | None = None) -> None:
        port = port or free_port()
        self.server = f"https://127.0.0.1:{port}"
        cert, key = self.serving
        apiserver = self._process(
            "kube-apiserver",
            [
                str(self.bin / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={cert}",
                f"--tls-private-key-file={key}",
                f"--client-ca-file={self.ca_file}",
                "--authorization-mode=RBAC",
                f"--service-account-key-file={self.sa_key}",
                f"--service-account-signing-key-file={self.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                # Webhook Services are reached through their endpoints: there is no kube-proxy.
                "--enable-aggregator-routing=true",
                "--v=1",
                *self.apiserver_args,
            ],
        )
        self.kubeconfig.write_text(_kubeconfig(self.server, self.ca_pem, *self.admin, "admin"))
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(*self.admin)
        apiserver.wait_until(
            lambda: urllib.request.urlopen(f"{self.server}/readyz", context=context, timeout=2).status == 200,
            START_TIMEOUT,
            "ready (/readyz)",
        )

    def _start_controller_manager(self) -> None:
        kubeconfig = self.workdir / "controller-manager.kubeconfig"
        kubeconfig.write_text(_kubeconfig(self.server, self.ca_pem, *self.kcm, "kube-controller-manager"))
        self._process(
            "kube-controller-manager",
            [
                str(self.bin / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                "--secure-port=0",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={self.sa_key}",
                f"--root-ca-file={self.ca_file}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--controllers=*",
                "--v=1",
            ],
        )
        # The controller-manager has no readiness endpoint here (secure-port=0); its first visible
        # work is the namespace controller's `default` ServiceAccount.
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(*self.admin)
        url = f"{self.server}/api/v1/namespaces/default/serviceaccounts/default"
        self.processes[-1].wait_until(
            lambda: urllib.request.urlopen(url, context=context, timeout=2).status == 200,
            START_TIMEOUT,
            "working (no `default` ServiceAccount was created)",
        )

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid]


__all__ = ["ComponentError", "ControlPlane"]
