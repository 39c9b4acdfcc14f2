"""What the benchmarks measure, from outside the operator: the API server's own request counters,
/proc for CPU and memory of each role's processes, and watches that time when things happen."""

from __future__ import annotations

import collections
import json
import os
import re
import statistics
import threading
import time
from pathlib import Path

from kubernetes import client

from secrets_app.kube import watching

from .. import helpers

WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION"}
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- API writes, counted by kube-apiserver itself --------------------------------------------------
def api_requests(api: client.ApiClient) -> collections.Counter:
    """apiserver_request_total summed by (verb, resource, subresource), read from /metrics."""
    response = api.call_api(
        "/metrics", "GET", auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True
    )
    counts: collections.Counter = collections.Counter()
    for line in response.data.decode().splitlines():
        found = _SAMPLE.match(line)
        if not found:
            continue
        labels = dict(_LABEL.findall(found["labels"]))
        key = (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
        counts[key] += int(float(found["value"]))
    return counts


def between(before: collections.Counter, after: collections.Counter) -> dict[tuple[str, str, str], int]:
    """Requests made between two readings of api_requests, by (verb, resource, subresource)."""
    return {key: value - before.get(key, 0) for key, value in after.items() if value != before.get(key, 0)}


def writes(before: collections.Counter, after: collections.Counter) -> dict[str, int]:
    """Write requests between two readings, by "VERB resource[/subresource]"."""
    out = {
        f"{verb} {resource}{'/' + sub if sub else ''}": delta
        for (verb, resource, sub), delta in between(before, after).items()
        if verb in WRITE_VERBS
    }
    return dict(sorted(out.items()))


def operator_writes(delta: dict[str, int]) -> dict[str, int]:
    """The writes only the operator makes: Secrets, Events, custom resource status, and its Lease
    (ServiceAccount patches too, but the benchmarks make none)."""
    return {
        k: v
        for k, v in delta.items()
        if k.split()[1].split("/")[0] in ("secrets", "events", "leases") or k.endswith("/status")
    }


# -- CPU and memory of a role: a process and all its descendants ----------------------------------
def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process tree (live processes only)."""
    total = 0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLK_TCK


def wait_quiet(roles: dict[str, int], share: float = 0.05, window: float = 2.0, timeout: float = 600) -> None:
    """Until the roles' processes use under `share` of a core over `window` seconds: done with
    what an earlier phase left them (reconciles still queued), which a later phase would queue
    behind. Idle, they use 0.2 %."""

    def used() -> float:
        return sum(cpu_seconds(pid) for pid in roles.values())

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = used()
        time.sleep(window)
        if used() - before < share * window:
            return
    raise AssertionError(f"ecrcontrol still busy after {timeout:.0f} s")


def memory(pid: int) -> tuple[int, int, int]:
    """(processes, RSS bytes, PSS bytes) of the process tree."""
    rss = pss = count = 0
    for each in tree(pid):
        try:
            text = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        values = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:] if ":" in line}
        rss += values.get("Rss", 0) * 1024
        pss += values.get("Pss", 0) * 1024
        count += 1
    return count, rss, pss


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


# -- timing with watches ---------------------------------------------------------------------------
class Watcher(threading.Thread):
    """Watch a list function and call `seen(obj, type, when)` for every event until stopped."""

    def __init__(self, list_func, seen, **kwargs) -> None:
        super().__init__(daemon=True)
        self.list_func, self.seen, self.kwargs = list_func, seen, kwargs
        self.stopped = threading.Event()
        self.started_watching = threading.Event()

    def run(self) -> None:
        version = ""
        while not self.stopped.is_set():
            data = self.list_func(**self.kwargs, _preload_content=False)
            listing = json.loads(data.data)
            version = listing["metadata"]["resourceVersion"]
            now = time.monotonic()
            for item in listing["items"]:
                self.seen(item, "LISTED", now)
            self.started_watching.set()
            try:
                # Parsed once, as the operator's own watches do: the measuring must not take
                # the CPU it measures (the client's Watch builds model classes of every Secret).
                for event in watching.events(
                    self.list_func, **self.kwargs, resource_version=version, timeout_seconds=300
                ):
                    if event["type"] == "ERROR":
                        break
                    self.seen(event["object"], event["type"], time.monotonic())
                    if self.stopped.is_set():
                        return
            except Exception:  # noqa: S112 - reconnect: a missed event only delays the reading
                continue

    def stop(self) -> None:
        self.stopped.set()


class _Recorder:
    """What a watch saw, recorded under `lock`; a context manager that runs the watch."""

    def __init__(self, list_func, **kwargs) -> None:
        self.lock = threading.Lock()
        self.watcher = Watcher(list_func, self._seen, **kwargs)

    def _seen(self, obj: dict, kind: str, when: float) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.watcher.start()
        self.watcher.started_watching.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self.watcher.stop()

    def wait(self, check, timeout: float) -> bool:
        """Whether `check()` (called under the lock) came true within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if check():
                    return True
            time.sleep(0.05)
        return False


class ReadyTimes(_Recorder):
    """When each custom resource was first seen Ready (monotonic clock)."""

    def __init__(self, api: client.ApiClient, plural: str) -> None:
        self.first_ready: dict[tuple[str, str], float] = {}
        super().__init__(
            client.CustomObjectsApi(api).list_cluster_custom_object,
            group=helpers.GROUP,
            version=helpers.VERSION,
            plural=plural,
        )

    def _seen(self, obj: dict, _type: str, when: float) -> None:
        if helpers.is_ready(obj):
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            with self.lock:
                self.first_ready.setdefault(key, when)

    def wait_all(self, keys: set, timeout: float) -> bool:
        return self.wait(lambda: keys <= self.first_ready.keys(), timeout)


class SecretTimes(_Recorder):
    """Managed Secrets: when each (namespace, name) first existed and when its expiry last changed."""

    def __init__(self, api: client.ApiClient) -> None:
        self.created: dict[tuple[str, str], float] = {}
        self.expiry: dict[tuple[str, str], tuple[str, float]] = {}
        super().__init__(
            client.CoreV1Api(api).list_secret_for_all_namespaces,
            label_selector="app.kubernetes.io/managed-by=ecrcontrol",
        )

    def _seen(self, obj: dict, kind: str, when: float) -> None:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        expiry = (meta.get("annotations") or {}).get("expiry", "")
        with self.lock:
            if kind == "DELETED":
                self.created.pop(key, None)
                return
            self.created.setdefault(key, when)
            if self.expiry.get(key, ("",))[0] != expiry:
                self.expiry[key] = (expiry, when)


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s"


class Probe:
    """Readings that are compared before and after a phase: ECR calls, API requests, CPU."""

    def __init__(self, kube_api, operator_ecr, webhook_ecr, roles: dict[str, int]) -> None:
        """`webhook_ecr` None: the webhooks call operator_ecr too (one process hosts every role)."""
        self.kube_api, self.ecr, self.webhook_ecr, self.roles = kube_api, operator_ecr, webhook_ecr, roles
        self.reset()

    def reset(self) -> None:
        self.ecr_calls = self.ecr.token_calls
        self.webhook_calls = self.webhook_ecr.token_calls if self.webhook_ecr else 0
        self.requests = api_requests(self.kube_api)
        self.cpu = {role: cpu_seconds(pid) for role, pid in self.roles.items()}
        self.clock = time.monotonic()

    def report(self, what: str, secrets: int) -> dict:
        done = operator_writes(writes(self.requests, api_requests(self.kube_api)))
        cpu = {role: cpu_seconds(pid) - self.cpu[role] for role, pid in self.roles.items()}
        secret_writes = sum(v for k, v in done.items() if k.split()[1] == "secrets")
        print(f"  {what}:")
        if self.webhook_ecr:
            print(
                f"    ECR calls: operator {self.ecr.token_calls - self.ecr_calls}, "
                f"webhooks {self.webhook_ecr.token_calls - self.webhook_calls}"
            )
        else:
            print(
                f"    ECR calls: {self.ecr.token_calls - self.ecr_calls} (webhooks and operator, one process)"
            )
        print(
            f"    API writes by the operator: {sum(done.values())} "
            f"({', '.join(f'{k}: {v}' for k, v in done.items()) or 'none'}); "
            f"Secret writes per Secret: {secret_writes / max(secrets, 1):.2f}"
        )
        print(
            f"    CPU seconds: {', '.join(f'{r} {c:.1f}' for r, c in cpu.items())} "
            f"(over {time.monotonic() - self.clock:.0f} s wall)"
        )
        return {"writes": done, "cpu": cpu}


def memory_line(roles: dict[str, int]) -> str:
    """Resident memory (RSS) of each role's processes, and the total; PSS counts shared pages once."""
    parts, rss_total, pss_total = [], 0, 0
    for role, pid in roles.items():
        count, rss, pss = memory(pid)
        rss_total, pss_total = rss_total + rss, pss_total + pss
        parts.append(f"{role} {mib(rss)} ({count} process{'es' if count > 1 else ''})")
    return f"{', '.join(parts)}; total RSS {mib(rss_total)} (PSS {mib(pss_total)})"
