"""Reconcile one custom resource: level-triggered, idempotent, writes only what differs.

Re-read the resource (gone: forget it), get a token (cached per identity), make the Secret in
each target namespace match, remove the ones no longer wanted, then report status and decide when
to come back: at the token's refresh point, after a backoff for temporary errors, or much later
for permanent ones.
"""

from __future__ import annotations

import datetime
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, F, Value, When

from ..aws.ecr import ECRError, Token
from ..choices import SecretState
from ..kube import store
from ..kube.api import Kube
from ..kube.errors import Conflict, Forbidden, KubeError, NotFound
from ..kube.kinds import BY_NAME, LEGACY, Kind
from ..models import Cluster, ManagedSecret
from . import conversion, mirror, schedule, specs
from .clusters import kube_for
from .identity import access, resolve, sharing
from .identity.resolve import CredentialsNotFound, Identity
from .identity.tokens import cache
from .reporting import status
from .secrets import dockerconfig
from .specs import SpecError
from .targets import namespaces, registries, service_accounts

log = logging.getLogger(__name__)

SYNC_THREADS = 8  # a ClusterAWSECRImagePullSecret's namespaces written this many at a time
BULK_READ_FROM = 4  # more target namespaces than this: one list of their Secrets, not a read each

MSG_NAMESPACE_MISSING = "namespace {ns} does not exist; the Secret will be created when it does"
MSG_NAMESPACE_TERMINATING = "namespace {ns} is being deleted"
MSG_FOREIGN_SECRET = (
    "a Secret named {name} already exists in namespace {ns} and is not managed by ecrcontrol: "
    "delete or rename it, or choose another spec.secretName"
)
MSG_CREATED = "secret {name} created successfully in namespace {ns}"
MSG_UPDATED = "secret {name} updated successfully in namespace {ns}"
SA_PATCHED, SA_PATCH_FAILED = "ServiceAccountPatched", "ServiceAccountPatchFailed"
MSG_SA_ADDED = "added secret {name} to the imagePullSecrets of ServiceAccount {ns}/{account}"
MSG_SA_REMOVED = "removed secret {name} from the imagePullSecrets of ServiceAccount {ns}/{account}"
EVENTS_APART = 10  # events of one reason in one run beyond this many: the rest combined in one
COMBINED_MESSAGE_LIMIT = 1024  # characters: events.k8s.io's limit for a note


class _Stale(Exception):
    """A write failed because what it was based on had changed (Conflict) or gone (NotFound)."""


@dataclass
class _NamespaceSync:
    result: status.NamespaceResult
    temporary: bool = False


@dataclass
class _Tokens:
    """The tokens of one run: the identity's own region's (the default registry) and each region
    spec.registries names, the regions that failed, and the earliest refresh point and expiry."""

    default: Token
    by_region: dict[str, Token]
    failed: dict[str, Exception] = field(default_factory=dict)
    refresh_at: datetime.datetime | None = None
    expires_at: datetime.datetime | None = None


def reconcile(
    cluster: Cluster, kind_name: str, namespace: str, name: str, token_since: datetime.datetime | None = None
) -> None:
    """`token_since`: a manual refresh started then; use a token fetched after it and rewrite every
    Secret that does not hold that token yet."""
    kind = BY_NAME[kind_name]
    kube = kube_for(cluster)
    if kind is LEGACY:
        conversion.convert(kube, name)
        return
    kept = store.lookup(cluster.pk, kind.kind)
    body = (kept and kept.get(namespace, name)) or kube.get_resource(kind, namespace, name)
    if body is None:
        mirror.forget(cluster, kind, namespace, name)
        return
    if body["metadata"].get("deletionTimestamp"):
        return  # its Secrets go with it (ownerReferences); the watch removes the row when it is gone
    _Reconciler(cluster, kind, kube, body, token_since, kept).run()


def _in_parallel(fn, items: list) -> list:
    """`fn` over `items`, SYNC_THREADS at a time (a single item in this thread)."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(SYNC_THREADS, len(items)), thread_name_prefix="sync") as pool:
        return list(pool.map(fn, items))


def _combined(events: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The events to record: of each (type, reason), the first EVENTS_APART - 1 as they are and the
    rest in one event, as client-go's event aggregation does for the seed operator (a
    ClusterAWSECRImagePullSecret over 500 namespaces records 10 events, not 500)."""
    by_reason: dict[tuple[str, str], list[str]] = {}
    for event_type, reason, message in events:
        by_reason.setdefault((event_type, reason), []).append(message)
    combined = []
    for (event_type, reason), messages in by_reason.items():
        apart, rest = messages[: EVENTS_APART - 1], messages[EVENTS_APART - 1 :]
        combined += [(event_type, reason, message) for message in apart]
        if len(rest) == 1:
            combined.append((event_type, reason, rest[0]))
        elif rest:
            message = f"(combined from {len(rest)} similar events) " + "; ".join(rest)
            if len(message) > COMBINED_MESSAGE_LIMIT:
                message = message[: COMBINED_MESSAGE_LIMIT - 1] + "\u2026"
            combined.append((event_type, reason, message))
    return combined


class _Reconciler:
    def __init__(
        self, cluster: Cluster, kind: Kind, kube: Kube, body: dict, token_since=None, kept=None
    ) -> None:
        self.cluster, self.kind, self.kube, self.body = cluster, kind, kube, body
        self.token_since = token_since
        self.kept = kept  # the watch's store of this kind (None: none in this process)
        self.meta, self.spec = body["metadata"], body.get("spec") or {}
        self.now = datetime.datetime.now(datetime.UTC)
        self.secrets = store.lookup(cluster.pk, store.SECRETS)  # None: read each from the API server
        self.wrote = False
        self.rotated = False  # a Secret held a token of other credentials (rotated keys)
        self.identity: dict | None = None  # status.identity, once resolved
        self._records: dict[str, dict] = {}  # namespace -> ManagedSecret fields, saved together
        self._events: list[tuple[str, str, str]] = []  # recorded after the Secrets are written
        self._targets: list[str] | None = None

    def targets(self) -> list[str]:
        if self._targets is None:
            self._targets = namespaces.targets(self.kind, self.body, self._namespaces)
        return self._targets

    def _namespaces(self) -> list[dict]:
        """The cluster's namespaces (for a selector): as the controller's watch saw them, or a list."""
        kept = store.lookup(self.cluster.pk, store.NAMESPACES)
        return kept.in_namespace("") if kept is not None else self.kube.list_namespaces()

    def run(self) -> None:
        try:
            wanted = specs.validated(self.kind, self.body)
        except SpecError as exc:
            self._finish(status.Outcome(False, status.INVALID_SPEC, str(exc)), requeue_at=None)
            return
        try:
            identity = resolve.resolve(wanted, self.kube, str(self.cluster.pk), self._session_label())
            self.identity = identity.status()
            token = cache.get(identity, fetched_after=self.token_since, kube=self.kube)
        except CredentialsNotFound as exc:
            self._credentials_not_found(exc)
            return
        except ECRError as exc:
            self._token_failed(exc, wanted.region)
            return
        tokens = self._registry_tokens(identity, token)
        targets = self.targets()
        known = self._existing_secrets(targets)

        def sync(ns: str) -> _NamespaceSync:
            return self._sync_namespace(ns, tokens, identity, known)

        syncs = _in_parallel(sync, targets)  # namespaces are independent: written side by side
        self._save_records()
        if self._spec_may_have_changed() or specs.namespace_selector(self.kind, self.body) is not None:
            self._prune(set(targets))
        if self.rotated and wanted.kind == access.SECRET:
            self._event(
                "Normal",
                status.CREDENTIALS_ROTATED,
                status.MSG_CREDENTIALS_ROTATED.format(ref=wanted.reference),
            )
        self._finish_synced(syncs, tokens)
        self._record_events()

    def _registry_tokens(self, identity: Identity, token: Token) -> _Tokens:
        """The token of each region spec.registries names (one ECR call per region per identity,
        shared through the token cache); a region that fails is reported, not fatal."""
        tokens = _Tokens(token, {identity.region: token})
        for region in dict.fromkeys(r.region for r in registries.parse(self.spec)):
            if region in tokens.by_region:
                continue
            try:
                regional = resolve.in_region(identity, region)
                tokens.by_region[region] = cache.get(regional, fetched_after=self.token_since, kube=self.kube)
            except (ECRError, CredentialsNotFound) as exc:
                tokens.failed[region] = exc
        tokens.refresh_at = min(schedule.refresh_at(t) for t in tokens.by_region.values())
        tokens.expires_at = min(t.expires_at for t in tokens.by_region.values())
        if tokens.failed:  # written again as soon as the region answers: never current till then
            tokens.refresh_at = min(tokens.refresh_at, self.now)
        return tokens

    def _session_label(self) -> str:
        """Names the resource in a default role session name (kind.namespace.name)."""
        short = "aeps" if self.kind.namespaced else "caeps"
        return ".".join(part for part in (short, self.meta.get("namespace", ""), self.meta["name"]) if part)

    # -- ECR -----------------------------------------------------------------------------
    def _credentials_not_found(self, exc: CredentialsNotFound) -> None:
        """Not Ready, no ECR call, no retry loop: the watch of a referenced Secret brings the
        reconcile back when it appears or changes (a slow retry stays as a safety net); a
        ServiceAccount, which is not watched, is looked for again with backoff."""
        failures, retry = 0, self.now + schedule.permanent_retry()
        if not exc.watched:
            failures = mirror.failures(self._rows()) + 1
            retry = self.now + schedule.backoff(failures)
        outcome = status.Outcome(False, status.CREDENTIALS_NOT_FOUND, str(exc), identity=self.identity)
        if self._finish(outcome, requeue_at=retry, failures=failures):
            self._event("Warning", status.CREDENTIALS_NOT_FOUND, str(exc))

    def _token_failed(self, exc: ECRError, region: str) -> None:
        if exc.permanent:
            retry = exc.retry_at or self.now + schedule.permanent_retry()
            template = (
                status.MSG_ROLE_REFUSED
                if exc.reason == status.ASSUME_ROLE_FAILED
                else status.MSG_CREDENTIALS_REJECTED
            )
            message = template.format(error=exc, region=region, retry=dockerconfig.rfc3339(retry))
            failures = 0
        else:
            failures = mirror.failures(self._rows()) + 1
            retry = self.now + schedule.backoff(failures)
            message = status.MSG_ECR_UNAVAILABLE.format(error=exc)
        changed = self._finish(
            status.Outcome(False, exc.reason, message, identity=self.identity),
            requeue_at=retry,
            failures=failures,
        )
        if changed:
            self._event("Warning", exc.reason, message)

    # -- Secrets ---------------------------------------------------------------------------
    def _existing_secrets(self, targets: list[str]) -> dict[str, dict] | None:
        """For many namespaces, the Secrets named spec.secretName in all of them with one list (a
        namespace missing from it has none); for a few, None: each is read on its own."""
        if len(targets) <= BULK_READ_FROM:
            return None
        return {s["metadata"]["namespace"]: s for s in self.kube.list_secrets_named(self.spec["secretName"])}

    def _sync_namespace(
        self, ns: str, tokens: _Tokens, identity: Identity, known: dict | None = None
    ) -> _NamespaceSync:
        try:
            existing = self._read_secret(ns, known)
            synced = self._write_secret(ns, self._desired(ns, tokens, identity, existing), existing)
        except _Stale:  # the store lagged behind a change: once more from the API server
            existing = self._read_secret(ns, None, fresh=True)
            desired = self._desired(ns, tokens, identity, existing)
            synced = self._write_secret(ns, desired, existing, fresh=True)
        if synced.result.ready and self._service_accounts_to_sync():
            self._sync_service_accounts(ns, synced)
        return synced

    def _desired(self, ns: str, tokens: _Tokens, identity: Identity, existing: dict | None) -> dict:
        """The Secret to write: the default registry's token, each spec.registries entry with its
        region's token, or, for a region whose call failed, the entry the Secret holds already
        (a blip in one region never takes another's credentials away)."""
        extra, held = {}, dockerconfig.auths_of(self._with_data(ns, existing)) if tokens.failed else {}
        for registry in registries.parse(self.spec):
            token = tokens.by_region.get(registry.region)
            if token is not None:
                extra[registry.host] = dockerconfig.auth_entry(token)
            elif registry.host in held:
                extra[registry.host] = held[registry.host]
        return dockerconfig.desired_secret(
            self.body,
            ns,
            tokens.default,
            tokens.refresh_at,
            identity.annotation,
            identity.source,
            sharing.seal,
            extra=extra,
            expires_at=tokens.expires_at,
        )

    def _with_data(self, ns: str, existing: dict | None) -> dict | None:
        """`existing` with its data: the store's copy holds only the data's hash (kube/store.py)."""
        if existing is not None and dockerconfig.DATA_HASH in existing:
            return self.kube.get_secret(ns, self.spec["secretName"])
        return existing

    # -- ServiceAccounts (spec.serviceAccounts) --------------------------------------------
    def _service_accounts_to_sync(self) -> bool:
        """Listed ServiceAccounts, or a spec that may have dropped some (entries to remove)."""
        return bool(service_accounts.listed(self.spec)) or self._spec_may_have_changed()

    def _accounts(self, ns: str) -> list[dict]:
        kept = store.lookup(self.cluster.pk, store.SERVICE_ACCOUNTS)
        return kept.in_namespace(ns) if kept is not None else self.kube.list_service_accounts(ns)

    def _sync_service_accounts(self, ns: str, synced: _NamespaceSync) -> None:
        """Add the Secret to the wanted ServiceAccounts (remove it from the others); a
        ServiceAccount that cannot be patched fails this namespace only."""
        name = self.spec["secretName"]
        try:
            accounts = self._accounts(ns)
            outcome = service_accounts.sync(self.kube, ns, self.spec, name, accounts, self._sa_store())
        except KubeError as exc:  # the list itself failed
            outcome = service_accounts.Outcome(failed={"*": f"cannot list ServiceAccounts in {ns}: {exc}"})
            synced.temporary = synced.temporary or exc.temporary
        for account in outcome.patched:
            self._later("Normal", SA_PATCHED, MSG_SA_ADDED.format(name=name, ns=ns, account=account))
        for account in outcome.removed:
            self._later("Normal", SA_PATCHED, MSG_SA_REMOVED.format(name=name, ns=ns, account=account))
        for message in outcome.failed.values():
            self._later("Warning", SA_PATCH_FAILED, message)
        result = synced.result
        if service_accounts.listed(self.spec):
            result.service_accounts = outcome.holding
            self._records[ns]["service_accounts"] = outcome.holding
        if outcome.failed:
            result.ready, result.reason = False, SA_PATCH_FAILED
            result.message = "; ".join(outcome.failed.values())
            synced.temporary = synced.temporary or outcome.temporary

    def _sa_store(self) -> store.Store | None:
        return store.lookup(self.cluster.pk, store.SERVICE_ACCOUNTS)

    def _read_secret(self, ns: str, known: dict | None, fresh: bool = False) -> dict | None:
        """The Secret as it is: from the bulk list (`known`), the watch's store, or a GET."""
        name = self.spec["secretName"]
        if known is not None and not fresh:
            return known.get(ns)
        if self.secrets is not None and self.secrets.listed and not fresh:
            # Absent from a complete store of the managed Secrets: none of ours, and a GET would
            # mostly find nothing (a new resource's). A Secret there that is not ours fails the
            # create with AlreadyExists, and the create is redone from a GET.
            return self.secrets.get(ns, name)
        return self.kube.get_secret(ns, name)

    def _write_secret(
        self, ns: str, desired: dict, existing: dict | None, fresh: bool = False
    ) -> _NamespaceSync:
        name = self.spec["secretName"]
        action, reason = "creating", "CreateSecretError"
        try:
            if existing is None:
                written = self._wrote(self.secrets, self.kube.create_secret(ns, desired))
                self._later("Normal", "SecretCreationSuccess", MSG_CREATED.format(name=name, ns=ns))
            elif not dockerconfig.is_ours(existing, self.body):
                message = MSG_FOREIGN_SECRET.format(name=name, ns=ns)
                self._record(ns, SecretState.CONFLICT, error=message)
                return _NamespaceSync(status.NamespaceResult(ns, False, "SecretConflict", message))
            elif dockerconfig.is_current(existing, desired, self.now, exact=self.token_since is not None):
                written = existing
            else:
                action, reason = "updating", "UpdateSecretError"
                if dockerconfig.source_of(existing) != dockerconfig.source_of(desired):
                    self.rotated = True  # the token came from other credentials than before
                merged = dockerconfig.merged(existing, desired)
                written = self._wrote(self.secrets, self.kube.replace_secret(ns, name, merged))
                if not dockerconfig.is_renewal(existing, desired):  # a routine renewal is no news
                    self._later("Normal", "SecretUpdateSuccess", MSG_UPDATED.format(name=name, ns=ns))
        except (Conflict, NotFound) as exc:
            if not fresh and (action == "updating" or isinstance(exc, Conflict)):
                raise _Stale() from exc  # changed, deleted or created since it was read
            if isinstance(exc, NotFound):
                return self._namespace_unavailable(ns, exc)
            return self._secret_failed(ns, action, reason, exc)
        except Forbidden as exc:
            return self._namespace_unavailable(ns, exc)
        except KubeError as exc:
            return self._secret_failed(ns, action, reason, exc)
        annotations = written["metadata"].get("annotations") or {}
        self._record(
            ns,
            SecretState.SYNCED,
            resource_version=written["metadata"]["resourceVersion"],
            expires_at=dockerconfig.parse_time(annotations.get(dockerconfig.EXPIRY_ANNOTATION)),
            written=written is not existing,
        )
        return _NamespaceSync(
            status.NamespaceResult(ns, True, "SecretSynced", f"secret {name} is up to date")
        )

    def _secret_failed(self, ns: str, action: str, reason: str, exc: KubeError) -> _NamespaceSync:
        message = f"error {action} secret {self.spec['secretName']} in namespace {ns}: {exc}"
        self._later("Warning", reason, message)
        self._record(ns, SecretState.FAILED, error=message)
        return _NamespaceSync(status.NamespaceResult(ns, False, reason, message), temporary=exc.temporary)

    def _namespace_unavailable(self, ns: str, exc: KubeError) -> _NamespaceSync:
        namespace = self.kube.get_namespace(ns)
        if namespace is None:
            message, reason = MSG_NAMESPACE_MISSING.format(ns=ns), "NamespaceNotFound"
        elif (namespace.get("status") or {}).get("phase") == "Terminating":
            message, reason = MSG_NAMESPACE_TERMINATING.format(ns=ns), "NamespaceTerminating"
        else:  # forbidden for another reason (RBAC, admission): not going away by itself soon
            message, reason = f"cannot write secret in namespace {ns}: {exc}", "CreateSecretError"
            self._later("Warning", reason, message)
        self._record(ns, SecretState.FAILED, error=message)
        return _NamespaceSync(status.NamespaceResult(ns, False, reason, message))

    def _spec_may_have_changed(self) -> bool:
        """Whether Secrets of an earlier spec may be left to prune: not when the last finished
        reconcile saw this very generation (it pruned), nor for a spec never edited (generation 1)."""
        generation = self.meta.get("generation") or 0
        observed = (self.body.get("status") or {}).get("observedGeneration") or 0
        return not (observed == generation or (observed == 0 and generation == 1))

    def _prune(self, targets: set[str]) -> None:
        """Delete our Secrets that are no longer wanted (namespace removed, secretName changed)."""
        wanted = {(ns, self.spec["secretName"]) for ns in targets}
        # A namespaced resource only ever writes in its own namespace.
        for secret in self.kube.list_owned_secrets(self.meta["uid"], self.meta.get("namespace", "")):
            meta = secret["metadata"]
            if (meta["namespace"], meta["name"]) not in wanted:
                self.kube.delete_secret(meta["namespace"], meta["name"], meta["uid"])
                # ... and the ServiceAccounts' entries naming it (a namespace that left the
                # selection, a ServiceAccount list or secretName that changed).
                for account in service_accounts.release(self.kube, meta["namespace"], meta["name"]):
                    message = MSG_SA_REMOVED.format(name=meta["name"], ns=meta["namespace"], account=account)
                    self._later("Normal", SA_PATCHED, message)
                log.info("deleted secret %s/%s no longer wanted by %s", meta["namespace"], meta["name"], self)
        # Unsorted: the model's ordering would make SQLite walk every row of the cluster in that
        # order instead of using the owner_uid index.
        stale = ManagedSecret.objects.filter(cluster=self.cluster, owner_uid=self.meta["uid"]).order_by()
        for row in stale:
            if (row.namespace, row.name) not in wanted:
                row.delete()

    def _record(
        self, ns: str, state: str, *, error="", resource_version="", expires_at=None, written=False
    ) -> None:
        fields = {"state": state, "last_error": error}
        if resource_version:
            fields["resource_version"] = resource_version
        if expires_at:
            fields["expires_at"] = expires_at
        if written:
            fields["last_written"] = self.now
            self.wrote = True
        self._records[ns] = fields

    def _save_records(self) -> None:
        """The ManagedSecret rows of this run, in one transaction (one commit, not one per namespace)."""
        owner = {
            "owner_kind": self.kind.kind,
            "owner_namespace": self.meta.get("namespace", ""),
            "owner_name": self.meta["name"],
        }
        with transaction.atomic():
            for ns, fields in self._records.items():
                key = {
                    "cluster": self.cluster,
                    "namespace": ns,
                    "name": self.spec["secretName"],
                    "owner_uid": self.meta["uid"],
                }
                # An update, and a create only for a new row: one query in the usual case, where
                # update_or_create would read the row (locked) first.
                if not ManagedSecret.objects.filter(**key).update(**fields, **owner, updated=self.now):
                    ManagedSecret.objects.create(**key, **fields, **owner)

    # -- status ----------------------------------------------------------------------------
    def _finish_synced(self, syncs: list[_NamespaceSync], tokens: _Tokens) -> None:
        ok = [s.result.namespace for s in syncs if s.result.ready]
        failed = [s.result for s in syncs if not s.result.ready]
        refresh_at = tokens.refresh_at
        requeue_at, failures = refresh_at, 0
        failing = "; ".join(f"{r.namespace} ({r.message})" for r in failed)
        not_ready = status.MSG_FAILED.format(ok=", ".join(ok) or "none", failed=failing)
        if tokens.failed:
            region, exc = next(iter(tokens.failed.items()))
            hosts = ", ".join(r.host for r in registries.parse(self.spec) if r.region in tokens.failed)
            message = status.MSG_REGION_FAILED.format(region=region, error=exc, hosts=hosts)
            message += f" {not_ready}" if failed else ""
            reason = getattr(exc, "reason", status.CREDENTIALS_NOT_FOUND)
            outcome = status.Outcome(False, reason, message)
            failures = mirror.failures(self._rows()) + 1
            retry = getattr(exc, "retry_at", None) if getattr(exc, "permanent", False) else None
            requeue_at = retry or self.now + schedule.backoff(failures)
        elif not failed:
            names = ok[0] if self.kind.namespaced else "[" + " ".join(ok) + "]"
            outcome = status.Outcome(
                True,
                status.SECRETS_UPDATED,
                status.MSG_UPDATED.format(namespaces=names, next=dockerconfig.rfc3339(refresh_at)),
            )
        else:
            outcome = status.Outcome(False, status.SECRETS_FAILED, not_ready)
            if any(s.temporary for s in syncs):
                failures = mirror.failures(self._rows()) + 1
                requeue_at = min(refresh_at, self.now + schedule.backoff(failures))
            elif any(r.reason == "SecretConflict" for r in failed):
                requeue_at = min(refresh_at, self.now + schedule.permanent_retry())
        outcome.results = [s.result for s in syncs]
        outcome.expires_at, outcome.next_refresh = tokens.expires_at, refresh_at
        outcome.refreshed_at = self.now if self.wrote else None
        outcome.identity = self.identity
        if self._finish(outcome, requeue_at=requeue_at, failures=failures) and tokens.failed:
            self._later("Warning", outcome.reason, outcome.message)  # once, not at every retry

    def _finish(self, outcome: status.Outcome, *, requeue_at, failures: int = 0) -> bool:
        """Write the status if it changed, and the mirror row. Returns whether the status changed."""
        previous = self.body.get("status") or {}
        generation = self.meta.get("generation") or 0
        new = status.build(previous, generation, outcome)
        changed = not status.unchanged(previous, new)
        latest = self.meta
        if changed:
            try:
                latest = self._wrote(
                    self.kept,
                    self.kube.patch_status(self.kind, self.meta.get("namespace", ""), self.meta["name"], new),
                )["metadata"]
            except NotFound:
                return False  # deleted meanwhile
        # The row as the watch mirrored it (never created here: a row missing, or another object's
        # under the same name, means this one was deleted meanwhile and the watch settles it). Its
        # resourceVersion only moves to one of the spec it holds: the status patch may return a
        # spec edited since this reconcile read it, which the row has not mirrored yet (a delete
        # from the dashboard or the API would then pass its precondition and drop that edit).
        self._rows().update(
            resource_version=Case(
                When(generation=latest.get("generation") or 0, then=Value(latest["resourceVersion"])),
                default=F("resource_version"),
            ),
            ready=outcome.ready,
            reason=outcome.reason,
            message=outcome.message,
            observed_generation=generation,
            status_identity=outcome.identity,
            last_refresh=dockerconfig.parse_time(new.get("lastRefreshTime")),
            expires_at=outcome.expires_at,
            next_refresh=outcome.next_refresh,
            transition_time=dockerconfig.parse_time(new["conditions"][0]["lastTransitionTime"]),
            synced_at=self.now,
            requeue_at=requeue_at,
            failures=failures,
        )
        return changed

    def _rows(self):
        meta = self.meta
        lookup = mirror.lookup(self.cluster, self.kind, meta.get("namespace", ""), meta["name"])
        return mirror.model_for(self.kind).objects.filter(**lookup, uid=meta["uid"])

    def __str__(self) -> str:
        return f"{self.kind.kind} {self.meta.get('namespace', '')}/{self.meta['name']}".replace(" /", " ")

    @staticmethod
    def _wrote(kept: store.Store | None, written: dict) -> dict:
        """`written` as the API server returned it; noted in the watch's store, if there is one, so
        that its watch event is known as ours."""
        if kept is not None:
            kept.wrote(written)
        return written

    def _later(self, event_type: str, reason: str, message: str) -> None:
        """An event about a namespace's Secret, recorded once every Secret is written: events are
        the record, the Secrets are what pods wait for."""
        self._events.append((event_type, reason, message))

    def _record_events(self) -> None:
        events, self._events = self._events, []
        _in_parallel(lambda event: self._event(*event), _combined(events))

    def _event(self, event_type: str, reason: str, message: str) -> None:
        try:
            self.kube.create_event(self.body, event_type, reason, message)
        except KubeError as exc:  # an event is best effort; the status carries the same facts
            log.warning("could not record event %s on %s: %s", reason, self, exc)
