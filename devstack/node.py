"""A real Kubernetes node on this machine for the chart's end-to-end test.

containerd (CRI), a Docker daemon on that containerd (to build images), kube-scheduler and a
kubelet, joined to a `ControlPlane`. Pods really run, under their ServiceAccount, with runc.

Everything stays on this machine: the node's address is on a bridge this fixture creates
(`NODE_BRIDGE`, `NODE_CIDR`), the pod network is that bridge (CNI bridge + host-local + firewall),
and nothing else is a target. There is no kube-proxy: ecrcontrol's pods in the test use the host's
network and reach the API server on loopback; the API server reaches webhook Services through
their endpoints (`--enable-aggregator-routing`, set by ControlPlane).

Facts of this kind of machine (root, cgroup v1, no CAP_SYS_RESOURCE): the kubelet runs with
`cgroupDriver: cgroupfs` and `failCgroupV1: false`; containerd's CRI with
`restrict_oom_score_adj = true`. Daemons and images live in a cache directory that survives runs
(images build once, about 2 minutes); sockets and state are per run. One node at a time on the
machine: `start` takes an exclusive lock.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import binaries
from .images import Images
from .processes import Component, ComponentError, Process, free_port

NODE_NAME = socket.gethostname()
NODE_BRIDGE = "ecrc0"
NODE_IP = "10.244.0.1"
NODE_CIDR = "10.244.0.0/24"
APT_PACKAGES = ("docker.io", "containerd", "runc", "containernetworking-plugins", "iptables", "debootstrap")
CNI_BIN_DIR = "/usr/lib/cni"
READY_TIMEOUT = 120.0
LOCK_FILE = Path("/run/ecrcontrol-node.lock")
RUN_DIR = Path("/run/ecrcontrol-node")


def missing_tools() -> list[str]:
    """Debian packages the node needs and this machine lacks (see APT_PACKAGES)."""
    wanted = {
        "docker.io": "dockerd",
        "containerd": "containerd",
        "runc": "runc",
        "iptables": "iptables",
        "debootstrap": "debootstrap",
    }
    missing = [pkg for pkg, tool in wanted.items() if not shutil.which(tool)]
    if not Path(CNI_BIN_DIR, "bridge").is_file():
        missing.append("containernetworking-plugins")
    return missing


def cache_dir() -> Path:
    return binaries.cache_root() / "node"


def _containerd_config(root: Path, state: Path, sock: Path, cni_conf: Path, hosts_dir: Path) -> str:
    return f"""version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{sock}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "ecrcontrol.local/pause:1"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{cni_conf}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{hosts_dir}"
"""


def _cni_config() -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": "ecrcontrol-node",
        "plugins": [
            {
                "type": "bridge",
                "bridge": NODE_BRIDGE,
                "isGateway": True,
                "ipMasq": False,  # nothing leaves this machine
                "ipam": {"type": "host-local", "ranges": [[{"subnet": NODE_CIDR, "gateway": NODE_IP}]]},
            },
            {"type": "firewall"},  # Docker's FORWARD policy is DROP; this admits the pods' traffic
        ],
    }


def _kubelet_config(workdir: Path, ca_file: Path, containerd_sock: Path, port: int) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "0.0.0.0",  # noqa: S104 - the API server reaches it by this machine's host name
        "port": port,
        "readOnlyPort": 0,
        "healthzPort": 0,
        "authentication": {
            "anonymous": {"enabled": True},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(ca_file)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{containerd_sock}",
        "cgroupsPerQOS": False,
        "enforceNodeAllocatable": [],
        "localStorageCapacityIsolation": False,
        # A test node on a shared disk: no evictions, no image garbage collection.
        "evictionHard": {"memory.available": "0%", "nodefs.available": "0%", "imagefs.available": "0%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "resolvConf": "/etc/resolv.conf",
        "serializeImagePulls": False,
        "registerNode": True,
        "syncFrequency": "5s",
        "fileCheckFrequency": "5s",
        "nodeStatusUpdateFrequency": "5s",
        "shutdownGracePeriod": "0s",
        "tlsCertFile": str(workdir / "pki" / "kubelet.crt"),
        "tlsPrivateKeyFile": str(workdir / "pki" / "kubelet.key"),
    }


class Node(Component):
    """`with Node(control_plane) as node:` a Ready node named after this machine."""

    def __init__(self, control_plane, log=print) -> None:
        self.cp = control_plane
        self.log = log
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrcontrol-node-"))
        # Fixed (runs are serialized by LOCK_FILE), so that containerd finds the shims of a run that
        # was killed before it could clean up, and `start` can end their containers.
        self.run_dir = RUN_DIR
        self.processes: list[Process] = []
        self.containerd_sock = self.run_dir / "containerd.sock"
        # containerd's registry host directory (`config_path`): serve_registry writes in it.
        self.registry_hosts_dir = self.workdir / "certs.d"
        self.docker_sock = self.run_dir / "docker.sock"
        self.timings: dict[str, float] = {}
        self._lock = None
        self._bridge_created = False
        self.docker = ["/usr/bin/docker", "-H", f"unix://{self.docker_sock}"]
        self.ctr = ["ctr", "--address", str(self.containerd_sock), "-n", "k8s.io"]
        self.images = Images(self.docker, self.ctr, log=log)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        missing = missing_tools()
        if missing:
            raise ComponentError(
                f"the real node needs Debian packages that are missing: {' '.join(missing)}. "
                f"Install them with: apt-get install -y {' '.join(APT_PACKAGES)}"
            )
        self._lock = open(LOCK_FILE, "w")  # held until stop
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._remove_stale_workdirs()
        started = time.monotonic()
        self.bin = binaries.ensure_node_binaries()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._network()
        self._start_containerd()
        self._remove_containers()  # left by a run that was killed
        self._start_docker()
        self.timings["daemons"] = time.monotonic() - started
        self.images.import_into_containerd(self.images.ensure_pause())
        self._start_scheduler()
        kubelet_started = time.monotonic()
        self._start_kubelet()
        self.timings["kubelet to Ready"] = time.monotonic() - kubelet_started
        self.timings["node total"] = time.monotonic() - started

    def stop(self) -> None:
        if self.processes:
            self._drain()
        for process in reversed(self.processes):
            process.stop(grace=20)
        self.processes.clear()
        if self._bridge_created:
            subprocess.run(["ip", "link", "delete", NODE_BRIDGE], capture_output=True, check=False)
        # dockerd leaves its netns mount under the exec root and a bind mount of its data root.
        self._unmount_under(self.run_dir)
        self._unmount_under(cache_dir() / "docker", exact=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self._unmount_under(self.workdir)
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self._lock:
            self._lock.close()
            self._lock = None

    # -- pieces ------------------------------------------------------------------------------
    def _process(self, name: str, argv: list[str], env: dict | None = None) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log", env=env).start()
        self.processes.append(process)
        return process

    def _network(self) -> None:
        """The node's own bridge and address: the node IP is this machine's, on an interface we own."""
        if subprocess.run(["ip", "link", "show", NODE_BRIDGE], capture_output=True).returncode != 0:
            for argv in (
                ["ip", "link", "add", NODE_BRIDGE, "type", "bridge"],
                ["ip", "addr", "add", f"{NODE_IP}/24", "dev", NODE_BRIDGE],
                ["ip", "link", "set", NODE_BRIDGE, "up"],
            ):
                subprocess.run(argv, capture_output=True, check=True)
        self._bridge_created = True

    def _start_containerd(self) -> None:
        root = cache_dir() / "containerd"
        root.mkdir(parents=True, exist_ok=True)
        cni_conf = self.workdir / "cni"
        cni_conf.mkdir()
        (cni_conf / "10-ecrcontrol.conflist").write_text(json.dumps(_cni_config(), indent=2))
        self.registry_hosts_dir.mkdir()
        config = self.workdir / "containerd.toml"
        config.write_text(
            _containerd_config(
                root, self.run_dir / "containerd", self.containerd_sock, cni_conf, self.registry_hosts_dir
            )
        )
        containerd = self._process("containerd", ["containerd", "--config", str(config)])
        containerd.wait_until(
            lambda: subprocess.run([*self.ctr, "version"], capture_output=True).returncode == 0,
            30,
            "serving",
        )

    def _start_docker(self) -> None:
        data = cache_dir() / "docker"
        data.mkdir(parents=True, exist_ok=True)
        docker = self._process(
            "dockerd",
            [
                "dockerd",
                f"--host=unix://{self.docker_sock}",
                f"--containerd={self.containerd_sock}",
                f"--data-root={data}",
                f"--exec-root={self.run_dir / 'docker'}",
                f"--pidfile={self.run_dir / 'docker.pid'}",
                "--storage-driver=overlay2",
                "--iptables=false",  # builds use the host's network; no NAT, no FORWARD rules
                "--bridge=none",
            ],
        )
        docker.wait_until(
            lambda: subprocess.run([*self.docker, "version"], capture_output=True).returncode == 0,
            60,
            "serving",
        )

    def _kubeconfig_for(self, user: str, groups: tuple[str, ...]) -> Path:
        from .controlplane import _kubeconfig

        pair = self.cp.ca.issue(user, organizations=groups, client=True).write(
            self.cp.workdir / "pki", user.replace(":", "-")
        )
        path = self.workdir / f"{user.replace(':', '-')}.kubeconfig"
        path.write_text(_kubeconfig(self.cp.server, self.cp.ca_pem, *pair, user))
        return path

    def _start_scheduler(self) -> None:
        kubeconfig = self._kubeconfig_for("system:kube-scheduler", ())
        self._process(
            "kube-scheduler",
            [
                str(self.bin / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--v=1",
            ],
        )

    def _start_kubelet(self) -> None:
        # A test fixture: the kubelet acts as a cluster admin (no Node authorizer to set up).
        kubeconfig = self._kubeconfig_for(f"system:node:{NODE_NAME}", ("system:masters",))
        pki = self.workdir / "pki"
        pki.mkdir(exist_ok=True)
        self.cp.ca.issue(NODE_NAME, hosts=(NODE_NAME, "127.0.0.1", NODE_IP), server=True).write(
            pki, "kubelet"
        )
        self.kubelet_port = free_port()
        config = self.workdir / "kubelet.json"
        config.write_text(
            json.dumps(
                _kubelet_config(self.workdir, self.cp.ca_file, self.containerd_sock, self.kubelet_port)
            )
        )
        kubelet = self._process(
            "kubelet",
            [
                str(self.bin / "kubelet"),
                f"--config={config}",
                f"--kubeconfig={kubeconfig}",
                f"--root-dir={self.workdir / 'kubelet'}",
                f"--cert-dir={pki}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
                "--v=1",
            ],
        )
        kubelet.wait_until(self._ready, READY_TIMEOUT, "Ready (node condition)")

    # -- registries ----------------------------------------------------------------------------
    def serve_registry(self, host: str, url: str, ca_file: Path) -> None:
        """Make this node's containerd pull images named `host/...` from `url` (a local registry
        such as devstack/registry.py's, trusted through `ca_file`) instead of from `host`.

        Only this node's containerd is told, through its own registry host directory
        (`config_path`, read again at every pull): `<dir>/<host>/hosts.toml` names `url` both as
        the host to try and as the server (containerd 1.6 refuses a file without a `[host]` table,
        and always tries the server last: were it `host`, a refused pull would go on to the real
        AWS), so nothing leaves this machine. Nothing of the machine (/etc/hosts, DNS, port 443)
        changes. The kubelet's credentials still reach the registry: it matches a pull Secret's
        `auths` to the image's own host (`host`) and hands them to the CRI without a server
        address, so containerd's ParseAuth gives them to the host it contacts for that image, `url`.
        """
        directory = self.registry_hosts_dir / host
        directory.mkdir(parents=True, exist_ok=True)
        ca = directory / "ca.crt"
        shutil.copyfile(ca_file, ca)
        (directory / "hosts.toml").write_text(
            f"# {host} is served by a local registry on this machine, not by {host} itself.\n"
            f'server = "{url}"\n'
            f'ca = "{ca}"\n\n'
            f'[host."{url}"]\n'
            '  capabilities = ["pull", "resolve"]\n'
            f'  ca = "{ca}"\n'
        )

    def forget_registry(self, host: str) -> None:
        """Undo serve_registry: images of `host` are pulled from `host` again."""
        shutil.rmtree(self.registry_hosts_dir / host, ignore_errors=True)

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        argv = [str(binaries.ensure_binaries() / "kubectl"), f"--kubeconfig={self.cp.kubeconfig}", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise ComponentError(f"kubectl {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
        return proc

    def _ready(self) -> bool:
        proc = self.kubectl("get", "node", NODE_NAME, "-o", "json", check=False)
        if proc.returncode != 0:
            return False
        conditions = json.loads(proc.stdout)["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _drain(self) -> None:
        """Delete every pod so the kubelet tears its containers down, then remove what is left."""
        if any(p.name == "kubelet" and p.running() for p in self.processes):
            self.kubectl(
                "delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=false", check=False
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self._tasks():
                time.sleep(0.5)
        self._remove_containers()

    def _remove_containers(self) -> None:
        for task in self._tasks():
            subprocess.run(
                [*self.ctr, "tasks", "kill", "-s", "SIGKILL", task], capture_output=True, check=False
            )
        time.sleep(0.5)
        for task in self._tasks():
            subprocess.run([*self.ctr, "tasks", "delete", "-f", task], capture_output=True, check=False)
        containers = subprocess.run(
            [*self.ctr, "containers", "ls", "-q"], capture_output=True, text=True, check=False
        ).stdout.split()
        if containers:
            subprocess.run([*self.ctr, "containers", "rm", *containers], capture_output=True, check=False)

    def _remove_stale_workdirs(self) -> None:
        """Work directories of runs killed before their cleanup (we hold the lock: none is in use)."""
        for stale in Path(tempfile.gettempdir()).glob("ecrcontrol-node-*"):
            if stale != self.workdir:
                self._unmount_under(stale)
                self._unmount_under(stale, exact=True)
                shutil.rmtree(stale, ignore_errors=True)

    def _tasks(self) -> list[str]:
        proc = subprocess.run([*self.ctr, "tasks", "ls", "-q"], capture_output=True, text=True, check=False)
        return proc.stdout.split() if proc.returncode == 0 else []

    @staticmethod
    def _unmount_under(path: Path, exact: bool = False) -> None:
        """Unmount what is mounted at or under `path` (the kubelet's volume tmpfs, dockerd's mounts)."""
        mounts = [
            line.split()[1]
            for line in Path("/proc/self/mounts").read_text().splitlines()
            if line.split()[1] == str(path) or (not exact and line.split()[1].startswith(f"{path}/"))
        ]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)

    def log_tails(self, lines: int = 40) -> str:
        return "\n\n".join(f"== {p.name}\n{p.log_tail(lines)}" for p in self.processes)
