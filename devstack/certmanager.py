"""cert-manager's controller and cainjector against a ControlPlane, for the chart's cert-manager mode.

Built from cert-manager's module on the Go module proxy (small mains of ours in go/: its own
mains are separate modules that are not published), with its CRDs from the same module. No
webhook of cert-manager's own (its objects are checked by their CRD schemas only), no leader
election, no metrics. The control loops are those of self-signed and CA issuers.
"""

from __future__ import annotations

from pathlib import Path

from . import binaries
from .processes import Component, Process


class CertManager(Component):
    """`with CertManager(control_plane) as cm:`; its CRDs are applied and both processes run."""

    def __init__(self, control_plane, kubectl) -> None:
        self.cp = control_plane
        self.kubectl = kubectl  # callable(*args) running kubectl against the control plane
        self.processes: list[Process] = []
        self.dir: Path | None = None

    def start(self) -> None:
        self.dir = binaries.ensure_cert_manager()
        crds = sorted(self.dir.glob("*.yaml"))
        self.kubectl("apply", "--server-side", *[f"--filename={c}" for c in crds])
        # cert-manager.io_certificates.yaml holds certificates.cert-manager.io
        names = [".".join(reversed(c.stem.split("_", 1))) for c in crds]
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in names])
        for name in ("cert-manager-controller", "cert-manager-cainjector"):
            process = Process(
                name,
                [str(self.dir / name), f"--kubeconfig={self.cp.kubeconfig}"],
                self.cp.workdir / f"{name}.log",
            ).start()
            self.processes.append(process)
            process.wait_until(lambda p=process: f"{p.name}: running" in p.log_tail(200), 60, "running")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def log_tails(self, lines: int = 30) -> str:
        return "\n\n".join(f"== {p.name}\n{p.log_tail(lines)}" for p in self.processes)
