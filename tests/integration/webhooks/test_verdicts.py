"""The validating webhook's credential check is shared per credentials: 100 creates with one
identity cost a handful of ECR calls, not 100 (secrets_app/webhooks/verdicts.py)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client

from ..helpers import GROUP, VERSION, create_namespaced_resource, unique, wait_for

# The web role reads the database (its Cluster row): make pytest-django create it for any selection.
pytestmark = pytest.mark.django_db(transaction=True)
CREATES = 100


def test_100_creates_with_one_identity_cost_a_handful_of_ecr_calls(
    kube_api, webhooks, start_operator, proxy, mint_key, namespace
):
    key_id, secret = mint_key(unique("hundred"))
    start_operator(proxy.url, ECRCONTROL_WORKERS="2")
    calls = proxy.token_calls
    started = time.monotonic()

    def create(i: int) -> None:
        create_namespaced_resource(
            kube_api, namespace, f"h{i:03d}", secret_name=f"pull-{i:03d}", key_id=key_id, secret=secret
        )

    with ThreadPoolExecutor(8) as pool:  # concurrent creates: both web processes, several threads
        list(pool.map(create, range(CREATES)))
    custom = client.CustomObjectsApi(kube_api)

    def all_ready():
        """every resource Ready"""
        items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "awsecrimagepullsecrets")[
            "items"
        ]
        return sum(
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (i.get("status") or {}).get("conditions", [])
            )
            for i in items
        )

    wait_for(lambda: all_ready() == CREATES, timeout=300, interval=1)
    made, seconds = proxy.token_calls - calls, time.monotonic() - started
    print(f"\n{CREATES} creates with one identity: {made} ECR calls, all Ready in {seconds:.1f} s")
    # One check by the webhook (its verdict shared by both web processes), one token for the workers.
    assert made == 2


def test_a_rotated_key_is_checked_again(kube_api, webhooks, proxy, mint_key, namespace):
    key_id, secret = mint_key(unique("checked"))
    create_namespaced_resource(kube_api, namespace, "first", key_id=key_id, secret=secret, secret_name="a")
    calls = proxy.token_calls
    create_namespaced_resource(kube_api, namespace, "second", key_id=key_id, secret=secret, secret_name="b")
    assert proxy.token_calls == calls  # accepted moments ago: not tried again
    rotated_id, rotated_secret = mint_key(unique("rotated"))
    create_namespaced_resource(
        kube_api, namespace, "third", key_id=rotated_id, secret=rotated_secret, secret_name="c"
    )
    assert proxy.token_calls == calls + 1
