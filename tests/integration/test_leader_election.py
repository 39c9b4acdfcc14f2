"""Leader election of the controller against the real API server: the Lease lock's semantics,
failover after `kill -9` of the leader mid-burst, and a partition of the leader from the API server."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
import uuid

from kubernetes import client, watch

from devstack.processes import free_ports
from secrets_app.kube.election import LeaseLock

from .helpers import create_namespaced_resource, get_namespaced_resource, is_ready, wait_for
from .scrape import scrape, value

LEASE, RENEW, RETRY = 15, 10, 2  # the defaults, as shipped


def read_lease(api, name: str) -> client.V1Lease:
    return client.CoordinationV1Api(api).read_namespaced_lease(name, "default")


def test_lease_lock_follows_client_go_semantics(control_plane, kube_api, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    from secrets_app.kube import connection

    connection.reset()
    name = f"lock-{uuid.uuid4().hex[:8]}"
    a = LeaseLock("default", name, "a", lease_seconds=2)
    b = LeaseLock("default", name, "b", lease_seconds=2)
    try:
        assert a.try_acquire_or_renew()  # creates the Lease
        assert not b.try_acquire_or_renew()  # held by a, and b has just seen it
        assert a.try_acquire_or_renew()  # renews
        lease = read_lease(kube_api, name)
        assert (lease.spec.holder_identity, lease.spec.lease_duration_seconds) == ("a", 2)
        assert lease.spec.lease_transitions == 0
        # a stops renewing: b takes over only once b has seen the record unchanged for 2 s
        assert not b.try_acquire_or_renew()
        time.sleep(2.2)
        assert b.try_acquire_or_renew()
        lease = read_lease(kube_api, name)
        assert (lease.spec.holder_identity, lease.spec.lease_transitions) == ("b", 1)
        assert not a.try_acquire_or_renew()  # a comes back: b's fresh renewal stands
        b.release()
        assert read_lease(kube_api, name).spec.holder_identity == ""
        assert a.try_acquire_or_renew()  # a released lease is taken at once
        assert read_lease(kube_api, name).spec.lease_transitions == 2
    finally:
        client.CoordinationV1Api(kube_api).delete_namespaced_lease(name, "default")
        connection.reset()


class SecretWrites(threading.Thread):
    """Every write to the Secrets of a namespace, as the API server reports it (a watch)."""

    def __init__(self, api, namespace: str) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace = api, namespace
        self.writes: list[tuple[str, str, str]] = []  # (event type, secret name, password)
        self.error: Exception | None = None  # the watch broke before stop(): the record is incomplete
        self._watch = watch.Watch()
        self._stopped = False

    def run(self) -> None:
        core = client.CoreV1Api(self.api)
        try:
            for event in self._watch.stream(core.list_namespaced_secret, self.namespace, timeout_seconds=600):
                secret = event["object"]
                config = json.loads(base64.b64decode((secret.data or {}).get(".dockerconfigjson", "e30=")))
                passwords = sorted(a.get("password", "") for a in config.get("auths", {}).values())
                self.writes.append((event["type"], secret.metadata.name, ",".join(passwords)))
        except Exception as exc:  # the namespace is deleted after the test: only a break before counts
            if not self._stopped:
                self.error = exc

    def stop(self) -> None:
        self._stopped = True
        self._watch.stop()


def leader_settings(identity: str, lease: str, port: int) -> dict[str, str]:
    return {
        "ECRCONTROL_LEADER_ELECTION_NAME": lease,
        "ECRCONTROL_LEADER_ELECTION_NAMESPACE": "default",
        "ECRCONTROL_LEADER_ELECTION_IDENTITY": identity,
        "ECRCONTROL_METRICS_BIND": f"127.0.0.1:{port}",
    }


def test_standby_takes_over_when_the_leader_is_killed_mid_burst(
    kube_api, start_operator, ecr, namespace, capsys
):
    lease = f"ecrcontrol-{uuid.uuid4().hex[:8]}"
    op = start_operator(ecr.url, controller=False)  # the test starts its controllers
    ports = free_ports(2)
    leader = op.start_controller("controller", leading=True, **leader_settings("a", lease, ports[0]))
    standby = op.start_controller("controller-b", leading=False, **leader_settings("b", lease, ports[1]))
    assert value(scrape(f"http://127.0.0.1:{ports[0]}/metrics"), "ecrcontrol_leader") == 1
    assert value(scrape(f"http://127.0.0.1:{ports[1]}/metrics"), "ecrcontrol_leader") == 0
    writes = SecretWrites(kube_api, namespace)
    writes.start()
    names = [f"r{i:03d}" for i in range(200)]
    for name in names[:100]:
        create_namespaced_resource(kube_api, namespace, name, secret_name=f"pull-{name}")
    os.kill(leader.pid, signal.SIGKILL)  # no cleanup, no release of the Lease
    t0 = time.monotonic()
    leader.popen.wait()
    for name in names[100:]:
        create_namespaced_resource(kube_api, namespace, name, secret_name=f"pull-{name}")

    def standby_leads():
        return read_lease(kube_api, lease).spec.holder_identity == "b"

    wait_for(standby_leads, timeout=LEASE + 15, interval=0.2)
    t1 = time.monotonic()
    assert "is now the leader" in standby.log_tail(400)

    def all_ready():
        return all(is_ready(get_namespaced_resource(kube_api, namespace, n)) for n in names)

    wait_for(all_ready, timeout=240, interval=1.0)
    t2 = time.monotonic()
    time.sleep(3)  # anything written twice would show now
    writes.stop()
    assert writes.error is None, f"the test's own watch of the Secrets broke: {writes.error}"
    assert t1 - t0 <= LEASE + 5, f"standby took {t1 - t0:.1f}s to lead"
    assert value(scrape(f"http://127.0.0.1:{ports[1]}/metrics"), "ecrcontrol_leader") == 1

    managed = {f"pull-{n}" for n in names}
    by_secret: dict[str, list[tuple[str, str]]] = {}
    for kind, name, password in writes.writes:
        if name in managed:
            by_secret.setdefault(name, []).append((kind, password))
    assert set(by_secret) == managed, f"missing Secrets: {sorted(managed - set(by_secret))[:5]}"
    twice = {
        name: events
        for name, events in by_secret.items()
        if len({password for _, password in events}) != len(events)
    }
    assert not twice, f"Secrets written twice with the same token: {dict(list(twice.items())[:3])}"
    lease_now = read_lease(kube_api, lease)
    with capsys.disabled():
        print(
            f"\nfailover: leader killed at t0=0.0s, standby leading at t1={t1 - t0:.1f}s "
            f"(lease {LEASE}s, renew {RENEW}s, retry {RETRY}s), all 200 Ready at t2={t2 - t0:.1f}s; "
            f"leaseTransitions={lease_now.spec.lease_transitions}"
        )


def test_after_a_partition_from_the_api_server_exactly_one_leader_remains(
    kube_api, control_plane, start_operator, ecr, namespace
):
    lease = f"ecrcontrol-{uuid.uuid4().hex[:8]}"
    op = start_operator(ecr.url, controller=False)  # the test starts its controllers
    ports = dict(zip("ab", free_ports(2), strict=True))
    a = op.start_controller("controller", leading=True, **leader_settings("a", lease, ports["a"]))
    b = op.start_controller("controller-b", leading=False, **leader_settings("b", lease, ports["b"]))

    def leaders() -> set[str]:
        return {who for who, port in ports.items() if value(scrape(f"http://127.0.0.1:{port}/metrics"),
                                                           "ecrcontrol_leader") == 1}  # fmt: skip

    assert leaders() == {"a"}
    control_plane.stop_apiserver()
    try:
        wait_for(lambda: not leaders(), timeout=RENEW + RETRY + 5)  # a gives up, b cannot win
        time.sleep(LEASE + RETRY - RENEW)  # down for longer than the lease
    finally:
        control_plane.start_apiserver()
    assert "stopped leading" in a.log_tail(400)

    def one_leader():
        current = leaders()
        holder = read_lease(kube_api, lease).spec.holder_identity
        return len(current) == 1 and current == {holder} and holder

    winner = wait_for(one_leader, timeout=LEASE + 10)
    for _ in range(6):  # and it stays so: nobody flaps
        time.sleep(1)
        assert leaders() == {winner}
    create_namespaced_resource(kube_api, namespace, "after-partition")
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "after-partition")), timeout=60)
    assert a.running() and b.running()
