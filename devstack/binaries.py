"""Build (once) and locate the Kubernetes, etcd and helm binaries used by tests and `make run`.

The binaries come from the Go module proxy, built through small wrapper modules, because
`go install k8s.io/kubernetes/cmd/...@vX` refuses a module whose go.mod has replace
directives (Kubernetes replaces its staging modules with local paths; etcd does the same).
Each product is built into a per-version cache directory outside the repository, so a
second run costs nothing. `KUBEBUILDER_ASSETS` (the envtest convention) wins when it points
at a directory that already holds the binaries.

kubelet and kube-scheduler (for the real node of the chart's end-to-end test) are always built into
the cache, since envtest's assets do not carry them.

Run as `python -m devstack.binaries` to build everything and print the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
HELM_VERSION = "v3.22.0"
# cert-manager's controller and cainjector for the chart's cert-manager mode test: its module has no
# main packages (they are separate, unpublished modules), so small mains of ours live in go/.
CERT_MANAGER_VERSION = "v1.21.2"
GO_SOURCES = Path(__file__).parent / "go"


def _sources_digest() -> str:
    """A short digest of our Go mains: a change to them builds into a new directory."""
    digest = hashlib.sha256()
    for path in sorted(GO_SOURCES.rglob("*.go")):
        digest.update(path.relative_to(GO_SOURCES).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:8]


KUBE_BINARIES = ("kube-apiserver", "kube-controller-manager", "kubectl")
# The real node for the chart's end-to-end test (devstack/node.py).
NODE_BINARIES = ("kubelet", "kube-scheduler")
ALL_BINARIES = (*KUBE_BINARIES, "etcd", "helm")


class BuildError(RuntimeError):
    """A step of the build failed; the message names the step and carries the tool's output."""


def cache_root() -> Path:
    base = os.environ.get("ECRCONTROL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ecrcontrol"
    )
    return Path(base)


def bin_dir() -> Path:
    """The directory holding the binaries for the pinned versions."""
    return cache_root() / f"k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}-helm-{HELM_VERSION}" / "bin"


def _log(message: str) -> None:
    print(f"[binaries] {message}", file=sys.stderr, flush=True)


def _run(step: str, argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    _log(f"{step}: {' '.join(argv)}")
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise BuildError(f"step '{step}' failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _go_env() -> dict[str, str]:
    if not shutil.which("go"):
        raise BuildError(
            "the 'go' command is not installed: install Go 1.26+ or set KUBEBUILDER_ASSETS "
            "to a directory holding kube-apiserver, kube-controller-manager, kubectl, etcd and helm"
        )
    env = dict(os.environ)
    env.update(CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=mod -buildvcs=false")
    return env


@dataclass(frozen=True)
class Product:
    name: str
    module: str
    version: str
    packages: dict[str, str]  # binary name -> main package import path
    ldflags: str = ""
    # Kubernetes requires its staging modules at v0.0.0 and replaces them with local paths, so the
    # wrapper must point each at its published version. etcd requires its sibling modules at their
    # real versions; a wrapper module alone (which ignores a dependency's replaces) is enough.
    replace_local: bool = False
    # Main packages of ours (binary -> directory under go/), built inside the wrapper module.
    sources: dict[str, str] = field(default_factory=dict)
    # Files copied from the module (glob) into the product's directory, e.g. CRDs.
    module_files: tuple[str, ...] = ()
    # Built into this subdirectory of the cache's bin directory (versioned names stay apart).
    subdir: str = ""

    def binaries(self) -> tuple[str, ...]:
        return (*self.packages, *self.sources)

    def module_dir(self, env: dict[str, str], workdir: Path) -> Path:
        out = _run(
            f"{self.name}: download",
            ["go", "mod", "download", "-json", f"{self.module}@{self.version}"],
            workdir,
            env,
        )
        return Path(json.loads(out)["Dir"])

    def local_replaces(self, env: dict[str, str], workdir: Path) -> list[str]:
        """Replace lines that turn the module's local-path replaces into published versions."""
        if not self.replace_local:
            return []
        out = _run(
            f"{self.name}: read go.mod",
            ["go", "mod", "download", "-json", f"{self.module}@{self.version}"],
            workdir,
            env,
        )
        published = "v0" + self.version[2:] if self.module == "k8s.io/kubernetes" else self.version
        return published_replaces(Path(json.loads(out)["GoMod"]).read_text(), published)


def published_replaces(gomod: str, version: str) -> list[str]:
    """For each `replace M => ./local/path` in a go.mod, a `replace M => M version` line.

    Kubernetes publishes each staging module at v0.<minor>.<patch>; etcd at its own version.
    """
    return [
        f"replace {module} => {module} {version}"
        for module, target in re.findall(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+(\S+)\s*$", gomod, re.M)
        if target.startswith(".")
    ]


def _kube_ldflags() -> str:
    major, minor = KUBERNETES_VERSION[1:].split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(["-s", "-w", *flags])


PRODUCTS = (
    Product(
        "kubernetes",
        "k8s.io/kubernetes",
        KUBERNETES_VERSION,
        {name: f"k8s.io/kubernetes/cmd/{name}" for name in KUBE_BINARIES},
        _kube_ldflags(),
        replace_local=True,
    ),
    # A product of its own, so that a cache built before the node existed only builds these two.
    Product(
        "kubernetes-node",
        "k8s.io/kubernetes",
        KUBERNETES_VERSION,
        {name: f"k8s.io/kubernetes/cmd/{name}" for name in NODE_BINARIES},
        _kube_ldflags(),
        replace_local=True,
    ),
    Product(
        "etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION, {"etcd": "go.etcd.io/etcd/server/v3"}, "-s -w"
    ),
    Product(
        "helm",
        "helm.sh/helm/v3",
        HELM_VERSION,
        {"helm": "helm.sh/helm/v3/cmd/helm"},
        f"-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",
    ),
    Product(
        "cert-manager",
        "github.com/cert-manager/cert-manager",
        CERT_MANAGER_VERSION,
        {},
        "-s -w",
        sources={
            "cert-manager-controller": "cert-manager-controller",
            "cert-manager-cainjector": "cert-manager-cainjector",
        },
        module_files=("deploy/crds/*.yaml",),
        subdir=f"cert-manager-{CERT_MANAGER_VERSION}-{_sources_digest()}",
    ),
)


def _build(product: Product, target: Path) -> None:
    env = _go_env()
    started = time.monotonic()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"ecrcontrol-build-{product.name}-") as tmp:
        work = Path(tmp)
        replaces = product.local_replaces(env, work)
        (work / "go.mod").write_text(
            "module ecrcontrol.local/build\n\ngo 1.26\n\n"
            f"require {product.module} {product.version}\n\n" + "\n".join(replaces) + "\n"
        )
        if product.packages:
            imports = "\n".join(f'\t_ "{pkg}"' for pkg in product.packages.values())
            (work / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
        mains = dict(product.packages)
        for binary, source in product.sources.items():
            shutil.copytree(GO_SOURCES / source, work / "cmd" / binary)
            mains[binary] = f"./cmd/{binary}"
        _run(f"{product.name}: resolve dependencies", ["go", "mod", "tidy"], work, env)
        for binary, pkg in mains.items():
            out = target / binary
            _run(
                f"{product.name}: build {binary}",
                ["go", "build", "-trimpath", "-ldflags", product.ldflags, "-o", str(out) + ".tmp", pkg],
                work,
                env,
            )
            os.replace(str(out) + ".tmp", out)
        if product.module_files:
            module_dir = product.module_dir(env, work)
            for pattern in product.module_files:
                for path in sorted(module_dir.glob(pattern)):
                    shutil.copyfile(path, target / path.name)
    _log(f"{product.name} {product.version} built in {time.monotonic() - started:.0f}s")


def assets_from_env() -> Path | None:
    """KUBEBUILDER_ASSETS, if it names a directory that holds every binary we need."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets and all((Path(assets) / b).is_file() for b in ALL_BINARIES):
        return Path(assets)
    return None


def _ensure(target: Path, names: tuple[str, ...]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for product in PRODUCTS:
        where = target / product.subdir
        if product.name not in names or all((where / b).is_file() for b in product.binaries()):
            continue
        _log(f"building {product.name} {product.version} into {where} (first time only, takes minutes)")
        _build(product, where)
    return target


def ensure_binaries() -> Path:
    """Return a directory with the control plane's binaries and helm, building what the cache lacks."""
    return assets_from_env() or _ensure(bin_dir(), ("kubernetes", "etcd", "helm"))


def ensure_node_binaries() -> Path:
    """Return the cache directory with kubelet and kube-scheduler (built once, like the others)."""
    return _ensure(bin_dir(), ("kubernetes-node",))


def ensure_cert_manager() -> Path:
    """The directory with cert-manager's controller, cainjector and CRDs (built once, cached)."""
    product = next(p for p in PRODUCTS if p.name == "cert-manager")
    return _ensure(bin_dir(), (product.name,)) / product.subdir


def main() -> int:
    try:
        path = ensure_binaries()
        ensure_node_binaries()
        ensure_cert_manager()
    except BuildError as exc:
        _log(f"FAILED: {exc}")
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
