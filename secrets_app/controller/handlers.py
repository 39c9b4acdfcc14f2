"""What the controller does with what it sees: mirror rows, and which reconciles to ask for.

Its own writes are recognised by resourceVersion (the reconcile stores the version it wrote) and
by generation (a status-only change never needs a reconcile), so they are not mistaken for edits.
Where the reconciles run in the controller's process, the events of their writes do not even get
here (kube/store.py: `Store.wrote`).
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable

from ..choices import SecretState
from ..kube.api import Kube
from ..kube.errors import KubeError
from ..kube.kinds import CLUSTER, LEGACY, NAMESPACED, OWNER_UID_LABEL, Kind
from ..kube.store import Store
from ..models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret
from ..services import mirror
from ..services.identity import access
from ..services.secrets import dockerconfig
from ..services.targets import namespaces, selector, service_accounts

log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # kind, namespace, name
Enqueue = Callable[[Key], None]


class Handlers:
    def __init__(self, cluster: Cluster, enqueue: Enqueue, kube: Kube | None = None) -> None:
        self.cluster = cluster
        self.enqueue = enqueue
        self.kube = kube  # for what a deleted resource leaves to undo (its ServiceAccount entries)
        self.namespaces: Store | None = None  # the Namespace watch's store (labels, for selectors)
        self._namespace_labels: dict[str, dict] = {}  # each namespace's labels at its last event
        # Which resources take their AWS keys from which Secret (namespace/name), and back.
        self._readers: dict[str, set[Key]] = {}
        self._reads: dict[Key, str] = {}
        self._references = threading.Lock()  # the resources' and the Secrets' watches both use them

    # -- custom resources ---------------------------------------------------------------------
    def resources_listed(self, kind: Kind, items: list[dict], listed_at: datetime.datetime) -> None:
        if kind is LEGACY:
            for item in items:
                self.enqueue((kind.kind, "", item["metadata"]["name"]))
            return
        # The rows in one query, not one per item (a restart lists every resource).
        rows = {
            (getattr(row, "namespace", ""), row.name): row
            for row in mirror.rows(self.cluster, kind, brief=True)
        }
        for item in items:
            meta = item["metadata"]
            self._resource(kind, item, listed=True, row=rows.get((meta.get("namespace", ""), meta["name"])))
        mirror.forget_missing(self.cluster, kind, {item["metadata"]["uid"] for item in items}, listed_at)

    def resource_changed(self, kind: Kind, body: dict, deleted: bool) -> None:
        meta = body["metadata"]
        if kind is LEGACY:
            if not deleted:
                self.enqueue((kind.kind, "", meta["name"]))
        elif deleted:
            self._note_reference((kind.kind, meta.get("namespace", ""), meta["name"]), "")
            self._release_service_accounts(body)
            mirror.forget(self.cluster, kind, meta.get("namespace", ""), meta["name"])
        else:
            self._resource(kind, body, listed=False)

    def _resource(self, kind: Kind, body: dict, listed: bool, row=mirror.UNREAD) -> None:
        """`row`: the mirror's row of `body` (None: none), if read already."""
        meta = body["metadata"]
        key = (kind.kind, meta.get("namespace", ""), meta["name"])
        summary = access.summary(body)
        self._note_reference(key, summary["reference"] if summary["identity_kind"] == access.SECRET else "")
        if row is mirror.UNREAD:
            model = mirror.model_for(kind)
            row = mirror.one(model.objects.filter(**mirror.lookup(self.cluster, kind, key[1], key[2])))
        if row and row.uid == meta["uid"] and row.resource_version == meta["resourceVersion"]:
            # Already seen: our own status write, or a write from the admin/API, which stores the
            # version it wrote before this event arrives; the latter still needs its reconcile.
            if row.observed_generation != row.generation:
                self.enqueue(key)
            return
        if not listed and row and row.uid == meta["uid"] and row.generation == meta.get("generation"):
            # The spec did not change (a status or metadata write, such as our own status write
            # arriving before its reconcile recorded the version): note the version, nothing to do.
            mirror.note_version(row, meta["resourceVersion"])
            return
        row, created = mirror.upsert(self.cluster, kind, body, row)
        if listed or created or row.observed_generation != row.generation:
            self.enqueue(key)

    def _release_service_accounts(self, body: dict) -> None:
        """A deleted resource's Secrets go with it (ownerReferences); the entries it put in
        ServiceAccounts do not: remove them, in the namespaces it had Secrets in, off this thread."""
        spec, uid = body.get("spec") or {}, body["metadata"]["uid"]
        secret_name = spec.get("secretName")
        if self.kube is None or not secret_name or not service_accounts.listed(spec):
            return
        where = list(
            ManagedSecret.objects.filter(cluster=self.cluster, owner_uid=uid)
            .order_by()  # by the owner_uid index, not every row in the model's order
            .values_list("namespace", flat=True)
            .distinct()
        )

        def release() -> None:
            for namespace in where:
                try:
                    service_accounts.release(self.kube, namespace, secret_name)
                except KubeError as exc:  # left naming a Secret that is gone: kubelet skips it
                    log.warning("could not release ServiceAccounts in %s: %s", namespace, exc)

        threading.Thread(target=release, name="release-service-accounts", daemon=True).start()

    # -- Secrets holding AWS keys (spec.awsAccess.secretRef) ----------------------------------
    def _note_reference(self, key: Key, reference: str) -> None:
        with self._references:
            old = self._reads.pop(key, "")
            if old:
                self._readers[old].discard(key)
                if not self._readers[old]:
                    del self._readers[old]
            if reference:
                self._reads[key] = reference
                self._readers.setdefault(reference, set()).add(key)

    def credentials_listed(self, items: list[dict], listed_at: datetime.datetime) -> None:
        """After a (re-)list, changes may have been missed: every reader of a listed Secret."""
        for item in items:
            self.credentials_changed(item)

    def credentials_changed(self, secret: dict) -> None:
        """A Secret changed (metadata only): reconcile the resources that read their keys from it
        (a rotation, or the Secret they were waiting for)."""
        meta = secret["metadata"]
        with self._references:
            readers = list(self._readers.get(f"{meta.get('namespace', '')}/{meta['name']}", ()))
        for key in readers:
            self.enqueue(key)

    # -- managed Secrets ----------------------------------------------------------------------
    def secrets_listed(self, items: list[dict], listed_at: datetime.datetime) -> None:
        for item in items:
            self.secret_changed(item)
        # A managed Secret deleted while we were not watching shows up as a missing row's Secret.
        present = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in items}
        synced = ManagedSecret.objects.filter(cluster=self.cluster, state=SecretState.SYNCED).order_by()
        fields = ("namespace", "name", "owner_kind", "owner_namespace", "owner_name")
        for namespace, name, *owner in synced.values_list(*fields).iterator():  # tuples, not models
            if (namespace, name) not in present:
                self._enqueue_owner(*owner)

    def secret_changed(self, secret: dict, deleted: bool = False) -> None:
        meta = secret["metadata"]
        if not deleted and dockerconfig.is_intact(secret):
            return  # as we wrote it (our own write, whether or not its reconcile recorded it yet)
        if deleted:  # the name is free: a resource that found it held by another owner can take it
            waiting = ManagedSecret.objects.filter(
                cluster=self.cluster,
                namespace=meta["namespace"],
                name=meta["name"],
                state=SecretState.CONFLICT,
            )
            for row in waiting:
                self._enqueue_owner(row.owner_kind, row.owner_namespace, row.owner_name)
        uid = (meta.get("labels") or {}).get(OWNER_UID_LABEL, "")
        row = ManagedSecret.objects.filter(
            cluster=self.cluster, namespace=meta["namespace"], name=meta["name"], owner_uid=uid
        ).first()
        if row and row.resource_version == meta["resourceVersion"]:
            return  # the version we wrote
        for ref in meta.get("ownerReferences") or []:
            if ref.get("kind") in (NAMESPACED.kind, CLUSTER.kind):
                namespace = meta["namespace"] if ref["kind"] == NAMESPACED.kind else ""
                self._enqueue_owner(ref["kind"], namespace, ref["name"])

    def _enqueue_owner(self, kind: str, namespace: str, name: str) -> None:
        self.enqueue((kind, namespace, name))

    # -- namespaces ---------------------------------------------------------------------------
    def namespaces_listed(self, items: list[dict], listed_at: datetime.datetime) -> None:
        for item in items:
            self.namespace_changed(item)

    def namespace_changed(self, namespace: dict, deleted: bool = False) -> None:
        """A namespace appeared or changed: reconcile the resources whose Secret there is missing,
        and the cluster resources it entered or left the selection of (its labels changed: told
        from the labels it had at its last event, so that a namespace labelled out just after its
        Secret was written, before that reconcile recorded it, is not missed)."""
        name = namespace["metadata"]["name"]
        before = self._namespace_labels.pop(name, None)
        if deleted or not namespaces.is_active(namespace):
            return  # being deleted: its Secrets go with it, nothing new goes in
        self._namespace_labels[name] = namespace["metadata"].get("labels") or {}
        held = dict(
            ManagedSecret.objects.filter(cluster=self.cluster, namespace=name).values_list(
                "owner_uid", "state"
            )
        )
        synced = {uid for uid, state in held.items() if state == SecretState.SYNCED}
        for row in NamespacedPullSecret.objects.filter(cluster=self.cluster, namespace=name):
            if row.uid not in synced:
                self.enqueue((NAMESPACED.kind, name, row.name))
        for row in ClusterPullSecret.objects.filter(cluster=self.cluster):
            chosen = row.namespace_selector
            usable = chosen is not None and not selector.problems(chosen)
            selected = usable and namespaces.selects(chosen, namespace)
            was = usable and before is not None and selector.matches(chosen, before)
            wanted = selected or name in row.namespaces
            left = usable and not wanted and (was or row.uid in held)
            if (wanted and row.uid not in synced) or left:
                self.enqueue((CLUSTER.kind, "", row.name))

    # -- ServiceAccounts (spec.serviceAccounts) -----------------------------------------------
    def service_accounts_listed(self, items: list[dict], listed_at: datetime.datetime) -> None:
        readers = self._service_account_readers()
        for item in items:
            self.service_account_changed(item, readers)

    def service_account_changed(self, account: dict, readers: list | None = None) -> None:
        """A ServiceAccount appeared or changed: reconcile the resources that target its namespace
        and want it to hold their Secret, if it does not (new, or the entry removed by hand).
        Decided from the resources' specs, not from what their last reconcile recorded: a
        ServiceAccount created while that reconcile runs (a new namespace's `default`) is not missed."""
        meta = account["metadata"]
        namespace = self.namespaces.get("", meta["namespace"]) if self.namespaces is not None else None
        if readers is None:
            readers = self._service_account_readers(meta["namespace"])
        for key, row in readers:
            if service_accounts.holds(account, row.secret_name):
                continue
            if not service_accounts.wanted({"serviceAccounts": row.service_accounts}, meta["name"]):
                continue
            if key[0] == NAMESPACED.kind:
                targeted = row.namespace == meta["namespace"]
            else:
                chosen = row.namespace_selector
                selected = chosen is not None and namespace is not None and not selector.problems(chosen)
                targeted = meta["namespace"] in row.namespaces or (
                    selected and namespaces.selects(chosen, namespace)
                )
            if targeted:
                self.enqueue(key)

    def _service_account_readers(self, namespace: str | None = None) -> list[tuple[Key, object]]:
        """The resources that ask for ServiceAccounts (spec.serviceAccounts set), with their rows;
        given a `namespace`, only its namespaced ones (one ServiceAccount's event: a new namespace
        brings one, and reading every resource for each would grow with the cluster)."""
        found = []
        for model, kind in ((NamespacedPullSecret, NAMESPACED), (ClusterPullSecret, CLUSTER)):
            rows = model.objects.filter(cluster=self.cluster).exclude(service_accounts=[])
            if namespace is not None and kind is NAMESPACED:
                rows = rows.filter(namespace=namespace)
            found += [((kind.kind, getattr(row, "namespace", ""), row.name), row) for row in rows]
        return found
