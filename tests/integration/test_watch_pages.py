"""The watch loops' lists come in pages (kube/watching.py): one consistent snapshot, handed on
slimmed, however many pages it takes; the watch then resumes from the snapshot's version."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client

from secrets_app.kube import watching

from .helpers import wait_for

pytestmark = pytest.mark.integration


def test_a_list_of_many_pages_hands_on_every_object_once_slimmed_then_watches(
    kube_api, namespace, monkeypatch
):
    core = client.CoreV1Api(kube_api)
    for i in range(20):  # with the namespace's kube-root-ca.crt, 21: three pages of 7
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": f"cm-{i:02d}"}, "data": {"i": str(i)}}
        )
    monkeypatch.setattr(watching, "LIST_PAGE", 7)
    listed, changed, stop = [], [], threading.Event()
    pages = []

    def list_config_maps(**kwargs):
        if not kwargs.get("watch"):
            pages.append(kwargs.get("_continue"))
        return core.list_namespaced_config_map(**kwargs)

    source = watching.Source("ConfigMap", list_config_maps, {"namespace": namespace})
    loop = watching.WatchLoop(
        source, lambda items, at: listed.append(items), lambda obj, d: changed.append(obj), stop
    )
    loop.start()
    try:
        wait_for(lambda: listed, timeout=10)
        names = [item["metadata"]["name"] for item in listed[0]]
        assert names == [*(f"cm-{i:02d}" for i in range(20)), "kube-root-ca.crt"]  # and the namespace's own
        assert all("managedFields" not in item["metadata"] for item in listed[0])
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "later"}})
        wait_for(lambda: any(obj["metadata"]["name"] == "later" for obj in changed), timeout=10)
        assert "managedFields" not in changed[-1]["metadata"]
        assert len(listed) == 1 and loop.lists == 1
        assert len(pages) == 3 and pages[0] is None and all(pages[1:])  # continued, not listed again
    finally:
        stop.set()
