"""spec.serviceAccounts: the ServiceAccounts whose `imagePullSecrets` name the managed Secret, so
that pods pull with it without a word in their spec (as kubelet reads a pod's ServiceAccount).

ecrcontrol only ever adds and removes its own entry, `{name: <secretName>}`, with a JSON patch
whose `test` op pins the list as it was read: a concurrent change to the list (another entry added
or reordered) makes the patch fail rather than be overwritten, and the change is made again from a
fresh read. Server-side apply cannot do this here: ServiceAccount.imagePullSecrets is an atomic
list, so an apply would own (and could reset) the whole list, not one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...kube.api import Kube
from ...kube.errors import Conflict, Invalid, KubeError, NotFound
from ...kube.names import name_problem
from ...kube.store import Store

ALL = "*"
MAX_NAMES = 100
ATTEMPTS = 3  # a patch that lost a race is made again from a fresh read, this many times in all

MSG_NOT_LIST = 'spec.serviceAccounts must be a list of ServiceAccount names, or ["*"] for all of them.'
MSG_STAR_MIXED = (
    "spec.serviceAccounts: '*' selects every ServiceAccount and cannot be listed with names: "
    'use ["*"] alone.'
)
MSG_REPEATED = "spec.serviceAccounts lists {name!r} more than once: list each ServiceAccount once."
MSG_PATCH_FAILED = (
    "cannot add the pull secret to ServiceAccount {ns}/{account}: {error}. Check that ecrcontrol may "
    "patch ServiceAccounts there (RBAC, admission policies)"
)
MSG_TOO_MANY = 'spec.serviceAccounts has {n} names: at most 100 are allowed (or use ["*"]).'


def listed(spec: dict) -> list[str]:
    value = spec.get("serviceAccounts")
    return value if isinstance(value, list) else []


def problems(spec: dict) -> list[str]:
    value = spec.get("serviceAccounts")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return [MSG_NOT_LIST]
    found = [MSG_TOO_MANY.format(n=len(value))] if len(value) > MAX_NAMES else []
    if ALL in value and len(value) > 1:
        found.append(MSG_STAR_MIXED)
    seen = set()
    for name in value:
        if name != ALL and name_problem(name):
            found.append(f"spec.serviceAccounts: {name_problem(name)}")
        if name in seen:
            found.append(MSG_REPEATED.format(name=name))
        seen.add(name)
    return found


def wanted(spec: dict, name: str) -> bool:
    """Whether the ServiceAccount `name` should hold the entry."""
    names = listed(spec)
    return ALL in names or name in names


def holds(account: dict, secret_name: str) -> bool:
    return any((ref or {}).get("name") == secret_name for ref in account.get("imagePullSecrets") or [])


@dataclass
class Outcome:
    """What one namespace's ServiceAccounts came to: those holding the entry, those changed, and
    the failures (name -> message)."""

    holding: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    temporary: bool = False  # some failure may pass by itself (not a refusal)


def sync(
    kube: Kube, namespace: str, spec: dict, secret_name: str, accounts: list[dict], kept: Store | None = None
) -> Outcome:
    """Add the entry to the wanted ServiceAccounts of `namespace` that lack it and remove it from
    the others that hold it. `accounts`: the namespace's ServiceAccounts as last seen; `kept`:
    the controller's store of them, told of our writes (their watch events are no news)."""
    outcome = Outcome()
    for account in sorted(accounts, key=lambda a: a["metadata"]["name"]):
        name = account["metadata"]["name"]
        want, has = wanted(spec, name), holds(account, secret_name)
        if want == has:
            if has:
                outcome.holding.append(name)
            continue
        try:
            changed = _patch(kube, namespace, account, secret_name, add=want, kept=kept)
        except KubeError as exc:
            if want:
                outcome.failed[name] = MSG_PATCH_FAILED.format(ns=namespace, account=name, error=exc)
                outcome.temporary = outcome.temporary or exc.temporary
            continue
        if want:
            outcome.holding.append(name)
            if changed:
                outcome.patched.append(name)
        elif changed:
            outcome.removed.append(name)
    return outcome


def release(kube: Kube, namespace: str, secret_name: str, accounts: list[dict] | None = None) -> list[str]:
    """Remove the entry from every ServiceAccount of `namespace` that holds it (the resource is
    gone, or the namespace left its selection). Returns the names changed; errors are skipped
    (a ServiceAccount that could not be changed keeps an entry naming a Secret that is gone,
    which kubelet ignores)."""
    if accounts is None:
        accounts = kube.list_service_accounts(namespace)
    removed = []
    for account in accounts:
        if holds(account, secret_name):
            try:
                if _patch(kube, namespace, account, secret_name, add=False):
                    removed.append(account["metadata"]["name"])
            except KubeError:
                continue
    return removed


def _patch(
    kube: Kube, namespace: str, account: dict, secret_name: str, add: bool, kept: Store | None = None
) -> bool:
    """Add or remove the entry, pinned to the list as read; on a lost race, read again and retry.
    Returns whether the ServiceAccount was changed (False: it already was as wanted, or is gone)."""
    name = account["metadata"]["name"]
    for attempt in range(ATTEMPTS):
        if holds(account, secret_name) == add:
            return False
        try:
            patched = kube.patch_service_account(namespace, name, operations(account, secret_name, add))
            if kept is not None:
                kept.wrote(patched)
            return True
        except NotFound:
            return False
        except (Conflict, Invalid):  # the `test` op failed: the list changed since it was read
            if attempt == ATTEMPTS - 1:
                raise
            account = kube.get_service_account(namespace, name)
            if account is None:
                return False
    return False


def operations(account: dict, secret_name: str, add: bool) -> list[dict]:
    """The JSON patch adding (at the end) or removing our entry, tested against the list as read
    (or, where there is no list yet, against the whole object's version: JSON patch cannot test
    that a member is absent)."""
    current = account.get("imagePullSecrets")
    if current is None:
        version = account["metadata"]["resourceVersion"]
        return [
            {"op": "test", "path": "/metadata/resourceVersion", "value": version},
            {"op": "add", "path": "/imagePullSecrets", "value": [{"name": secret_name}]},
        ]
    test = {"op": "test", "path": "/imagePullSecrets", "value": current}
    if add:
        return [test, {"op": "add", "path": "/imagePullSecrets/-", "value": {"name": secret_name}}]
    index = next(i for i, ref in enumerate(current) if (ref or {}).get("name") == secret_name)
    return [test, {"op": "remove", "path": f"/imagePullSecrets/{index}"}]
