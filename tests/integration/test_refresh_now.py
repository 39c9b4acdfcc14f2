"""Refresh now: one new ECR token for the identity, every Secret that uses it rewritten at once,
and a second click within the minimum interval refused with the time it is allowed again."""

from __future__ import annotations

import time

import pytest

from secrets_app.models import NamespacedPullSecret
from secrets_app.services.identity import refresh

from .helpers import (
    create_cluster_resource,
    create_namespaced_resource,
    get_cluster_resource,
    get_namespaced_resource,
    is_ready,
    read_secret,
    unique,
    wait_for,
)

REFRESH_AT = "ecrcontrol.io/refresh-at"


def test_refresh_now_rewrites_every_secret_of_the_identity_with_one_token(kube_api, ecr, operator, namespace):
    name, cluster_name = unique("aeps"), unique("caeps")
    create_namespaced_resource(kube_api, namespace, name, secret_name="pull-a")
    create_cluster_resource(kube_api, cluster_name, [namespace], secret_name="pull-b")
    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, name)))
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, cluster_name)))
    before = {s: read_secret(kube_api, namespace, s).metadata for s in ("pull-a", "pull-b")}
    calls = ecr.token_calls
    # moto hands out the same password every time, and the annotations have one-second
    # resolution: let a second pass so the new token's refresh point is visibly a new one.
    time.sleep(1.1)

    row = NamespacedPullSecret.objects.get(namespace=namespace, name=name)
    assert refresh.request(row) == refresh.Identity(row.access_key_id, row.region)

    def rewritten():
        now = {s: read_secret(kube_api, namespace, s).metadata for s in before}
        return all(now[s].resource_version != before[s].resource_version for s in before) and now

    after = wait_for(rewritten, timeout=30)
    assert all(after[s].annotations[REFRESH_AT] > before[s].annotations[REFRESH_AT] for s in before)
    assert ecr.token_calls == calls + 1  # one token for both resources
    with pytest.raises(refresh.TooSoon, match="next manual refresh is allowed at"):
        refresh.request(row)
    assert ecr.token_calls == calls + 1
