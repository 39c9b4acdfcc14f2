"""Every metric ecrcontrol records, in one place (Prometheus naming: `ecrcontrol_` prefix, base
units, `_total` for counters).

With PROMETHEUS_MULTIPROC_DIR set (gunicorn workers, django-q2 worker processes, or all roles of
one pod sharing an emptyDir), each process writes its values to files there and whoever serves
/metrics adds them up. The files are named by a process identifier that is unique across the
containers of a pod (their PID namespaces differ, so a bare PID could collide).
"""

from __future__ import annotations

import functools
import os
import uuid

from prometheus_client import Counter, Gauge, Histogram, values

_identifiers: dict[int, str] = {}


def process_identifier() -> str:
    """PID plus a random suffix, fresh in every forked child (the dict is keyed by PID)."""
    pid = os.getpid()
    if pid not in _identifiers:
        _identifiers[pid] = f"{pid}-{uuid.uuid4().hex[:8]}"
    return _identifiers[pid]


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)  # e.g. in the pod's /tmp
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)

DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

RECONCILES = Counter(
    "ecrcontrol_reconciles_total",
    "Reconciles run by the workers, by kind and result (ok, error, retry).",
    ["kind", "result"],
)
RECONCILE_DURATION = Histogram(
    "ecrcontrol_reconcile_duration_seconds",
    "Wall time of one reconcile.",
    ["kind"],
    buckets=DURATION_BUCKETS,
)
ECR_REQUESTS = Counter(
    "ecrcontrol_ecr_requests_total",
    "GetAuthorizationToken calls to ECR, by outcome (success, rejected, error) and AWS error code.",
    ["outcome", "error_code"],
)
WATCH_RESTARTS = Counter(
    "ecrcontrol_watch_restarts_total",
    "Watches started over with a fresh list: reason gone (410, resourceVersion too old) or error.",
    ["watch", "reason"],
)


@functools.cache
def leader_gauge() -> Gauge:
    """Made only in the controller (on first use), so that no other role reports a leader gauge of
    0. `mostrecent`: a restarted controller's first value wins over its killed predecessor's file."""
    return Gauge(
        "ecrcontrol_leader",
        "1 while this controller holds the leader-election Lease, else 0.",
        multiprocess_mode="mostrecent",
    )


LEADER_TRANSITIONS = Counter(
    "ecrcontrol_leader_transitions_total",
    "Times this controller started (to=leader) or stopped (to=standby) leading.",
    ["to"],
)
WEBHOOK_REQUESTS = Counter(
    "ecrcontrol_webhook_requests_total",
    "Admission reviews answered, by webhook (mutate, validate) and result "
    "(allowed, denied, bad_request, error).",
    ["webhook", "result"],
)
WEBHOOK_DURATION = Histogram(
    "ecrcontrol_webhook_request_duration_seconds",
    "Time to answer one admission review.",
    ["webhook"],
    buckets=DURATION_BUCKETS,
)
