"""Container images built on this machine for the real node: no registry is reachable from here.

- The pause image: a tiny static Go program (waits for SIGTERM) on an empty filesystem.
- A local `python:3.11-slim-bookworm`: Debian bookworm from `debootstrap --variant=minbase` through
  the Debian mirror apt uses, with Debian's python3.11 linked where the official image has it, and
  the host's CA bundle, so that pip inside a build trusts what this machine trusts. This is a test
  fixture only: the product's Dockerfile stays the ordinary one and names the official base.
- The product image: `docker build` of the repository's Dockerfile on that base.

Each image is built once into the fixture's Docker (whose data directory is cached) and imported
into containerd's `k8s.io` namespace with `docker save | ctr import`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

PAUSE_IMAGE = "ecrcontrol.local/pause:1"
PYTHON_BASE = "python:3.11-slim-bookworm"
DEBIAN_BASE = "ecrcontrol.local/debian:bookworm-minbase"
DEBIAN_MIRROR_DEFAULT = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# python3-distutils: python3.11-venv needs the virtual python3.11-distutils, which debootstrap
# does not resolve by itself.
PYTHON_PACKAGES = ("python3.11", "python3.11-venv", "python3-distutils", "ca-certificates")

_PAUSE_GO = """package main

import (
\t"os"
\t"os/signal"
\t"syscall"
)

func main() {
\tc := make(chan os.Signal, 1)
\tsignal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
\t<-c
}
"""


class ImageError(RuntimeError):
    """An image could not be built; the message names the step and carries its output."""


def _run(step: str, argv: list[str], **kwargs) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise ImageError(f"{step} failed (exit {proc.returncode}): {' '.join(argv[:6])} ...\n{tail}")
    return proc.stdout


def debian_mirror() -> str:
    """The Debian mirror apt is configured with on this machine (deb822 or one-line sources)."""
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            text = path.read_text()
        except OSError:
            continue
        for url in re.findall(r"^(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M):
            if "security" not in url:
                return url
    return DEBIAN_MIRROR_DEFAULT


class Images:
    """Builds and imports images through a Docker daemon and containerd given as CLI wrappers."""

    def __init__(self, docker: list[str], ctr: list[str], log=print) -> None:
        self.docker = docker  # argv prefix, e.g. ["docker", "-H", "unix:///..."]
        self.ctr = ctr  # argv prefix, e.g. ["ctr", "--address", "...", "-n", "k8s.io"]
        self.log = log
        self.timings: dict[str, float] = {}

    def has(self, tag: str) -> bool:
        return (
            subprocess.run(
                [*self.docker, "image", "inspect", tag], capture_output=True, check=False
            ).returncode
            == 0
        )

    def _timed(self, name: str, build) -> None:
        started = time.monotonic()
        build()
        self.timings[name] = time.monotonic() - started
        self.log(f"[images] {name} built in {self.timings[name]:.0f}s")

    # -- pause --------------------------------------------------------------------------------
    def ensure_pause(self) -> str:
        if not self.has(PAUSE_IMAGE):
            self._timed("pause", self._build_pause)
        return PAUSE_IMAGE

    def _build_pause(self) -> None:
        with tempfile.TemporaryDirectory(prefix="ecrcontrol-pause-") as tmp:
            work = Path(tmp)
            (work / "go.mod").write_text("module ecrcontrol.local/pause\n\ngo 1.26\n")
            (work / "main.go").write_text(_PAUSE_GO)
            env = {"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
            _run(
                "build pause",
                ["go", "build", "-ldflags", "-s -w", "-o", "pause", "."],
                cwd=work,
                env={**os.environ, **env},
            )
            _run("pack pause", ["tar", "-C", str(work), "-cf", str(work / "pause.tar"), "pause"])
            _run(
                "import pause",
                [
                    *self.docker,
                    "import",
                    "--change",
                    'ENTRYPOINT ["/pause"]',
                    str(work / "pause.tar"),
                    PAUSE_IMAGE,
                ],
            )

    # -- python base --------------------------------------------------------------------------
    def ensure_python_base(self) -> str:
        if not self.has(PYTHON_BASE):
            self._timed("python base (debootstrap)", self._build_python_base)
        return PYTHON_BASE

    def _build_python_base(self) -> None:
        if not shutil.which("debootstrap"):
            raise ImageError("debootstrap is not installed: apt-get install debootstrap")
        with tempfile.TemporaryDirectory(prefix="ecrcontrol-rootfs-") as tmp:
            root = Path(tmp) / "rootfs"
            _run(
                "debootstrap",
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(PYTHON_PACKAGES)}",
                    "bookworm",
                    str(root),
                    debian_mirror(),
                ],
            )
            # Where the official image has its interpreter, and the host's trust.
            local_bin = root / "usr/local/bin"
            local_bin.mkdir(parents=True, exist_ok=True)
            for name in ("python", "python3", "python3.11"):
                (local_bin / name).unlink(missing_ok=True)
                (local_bin / name).symlink_to("/usr/bin/python3.11")
            shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
                shutil.rmtree(root / junk, ignore_errors=True)
            tarball = Path(tmp) / "rootfs.tar"
            _run("pack rootfs", ["tar", "-C", str(root), "-cf", str(tarball), "."])
            bundle = "/etc/ssl/certs/ca-certificates.crt"
            changes = [
                "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
                f"ENV PIP_CERT={bundle}",
                f"ENV SSL_CERT_FILE={bundle}",
                'CMD ["python3"]',
            ]
            argv = [*self.docker, "import"]
            for change in changes:
                argv += ["--change", change]
            _run("import python base", [*argv, str(tarball), PYTHON_BASE])

    # -- the product --------------------------------------------------------------------------
    def build(self, context: Path, tag: str) -> None:
        """`docker build` of `context` (its Dockerfile), with the host's network for pip."""
        self.ensure_python_base()
        started = time.monotonic()
        _run(
            "docker build",
            [*self.docker, "build", "--network", "host", "-t", tag, str(context)],
            env=_docker_env(),
        )
        self.timings[f"build {tag}"] = time.monotonic() - started

    def size(self, tag: str) -> int:
        return int(_run("inspect", [*self.docker, "image", "inspect", "-f", "{{.Size}}", tag]).strip())

    def import_into_containerd(self, *tags: str) -> None:
        started = time.monotonic()
        save = subprocess.Popen([*self.docker, "save", *tags], stdout=subprocess.PIPE)
        proc = subprocess.run(
            [*self.ctr, "images", "import", "-"],
            stdin=save.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        save.stdout.close()
        if save.wait() != 0 or proc.returncode != 0:
            raise ImageError(f"docker save | ctr images import of {tags} failed:\n{proc.stderr[-2000:]}")
        self.timings["import"] = time.monotonic() - started


def _docker_env() -> dict[str, str]:
    # The classic builder of Debian's dockerd: BuildKit would want to fetch its frontend image.
    return {**os.environ, "DOCKER_BUILDKIT": "0"}
