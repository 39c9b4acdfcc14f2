"""Objects as the controller's watches last saw them: what a reconcile in the same process reads
instead of a GET (client-go's informer cache, as controller-runtime's cached client reads it).

Only where the reconciles run in the controller's process (the embedded default) are stores kept:
the watches fill them (a list replaces everything, each event adds or removes one object), and the
reconcile reads its resource and its managed Secrets from them. A store may lag the API server by
an event: a write made from a stale read fails with Conflict and is retried with a fresh read, as
a write made from a GET would (secrets_app/services/reconcile.py).

The reconcile also notes the versions it wrote (`wrote`): the watch event of such a version brings
nothing new to this process, and the controller skips its handler (which would read the database
to find out the same).

It keeps what the watches hand on, which is already slimmed to what readers need
(kube/watching.py: `lean`).
"""

from __future__ import annotations

import copy

_stores: dict[tuple[int, str], Store] = {}  # a dict's single operations need no lock of ours

SECRETS = "Secret"  # the managed Secrets' store; the resources' stores are named by kind
NAMESPACES = "Namespace"
SERVICE_ACCOUNTS = "ServiceAccount"


class Store:
    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], dict] = {}
        self._by_namespace: dict[str, dict[str, dict]] = {}  # the same objects, by namespace
        self._written: dict[tuple[str, str], str] = {}  # the version this process last wrote
        self.listed = False  # whether it holds a complete list yet

    def replace(self, objects: list[dict]) -> None:
        by_namespace: dict[str, dict[str, dict]] = {}
        for obj in objects:
            namespace, name = _key(obj)
            by_namespace.setdefault(namespace, {})[name] = obj
        self._objects, self._by_namespace = {_key(obj): obj for obj in objects}, by_namespace
        self.listed = True

    def apply(self, obj: dict, deleted: bool) -> bool:
        """Take in a watch event. Returns whether it is news: False for the version this process
        wrote itself (noted by `wrote` before its event arrived)."""
        key = _key(obj)
        written = self._written.pop(key, None)
        if deleted:
            self._objects.pop(key, None)
            self._by_namespace.get(key[0], {}).pop(key[1], None)
            return True
        self._objects[key] = obj
        self._by_namespace.setdefault(key[0], {})[key[1]] = obj
        return written != obj["metadata"]["resourceVersion"]

    def wrote(self, obj: dict) -> None:
        """`obj` as this process's write returned it."""
        self._written[_key(obj)] = obj["metadata"]["resourceVersion"]

    def get(self, namespace: str, name: str) -> dict | None:
        """A copy (the caller may change it), or None: not seen (absent, or not listed yet)."""
        found = self._objects.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def snapshot(self, namespace: str | None = None) -> list[dict]:
        """The objects (of one namespace; None: all) as they are, not copies: for readers that
        change nothing (admission's checks)."""
        if namespace is None:
            return list(self._objects.values())
        return list(self._by_namespace.get(namespace, {}).values())

    def in_namespace(self, namespace: str) -> list[dict]:
        """The objects of one namespace ("" for cluster-scoped ones), as copies."""
        return copy.deepcopy(self.snapshot(namespace))


def _key(obj: dict) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def register(cluster_id: int, what: str, store: Store | None) -> None:
    """Make `store` (None: no store) the one reconciles of this cluster read `what` from."""
    if store is None:
        _stores.pop((cluster_id, what), None)
    else:
        _stores[(cluster_id, what)] = store


def lookup(cluster_id: int, what: str) -> Store | None:
    return _stores.get((cluster_id, what))
