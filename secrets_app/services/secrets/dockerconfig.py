"""The managed docker Secret: what it should contain, and whether an existing one is ours and current."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from collections.abc import Callable

from ...aws.ecr import Token
from ...kube.kinds import (
    EXPIRY_ANNOTATION,
    GROUP,
    LEGACY,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    OWNER_UID_LABEL,
    TOKEN_ISSUED_LABEL,
    TOKEN_SOURCE_LABEL,
)
from ...kube.watching import lean

SECRET_TYPE = "kubernetes.io/dockerconfigjson"
DATA_KEY = ".dockerconfigjson"
# What we wrote, so that a hand edit is noticed and a still-fresh Secret is not rewritten (which
# also keeps two workers holding different valid tokens from overwriting each other).
HASH_ANNOTATION = "ecrcontrol.io/data-hash"
REFRESH_ANNOTATION = "ecrcontrol.io/refresh-at"
IDENTITY_ANNOTATION = "ecrcontrol.io/identity"
ISSUED_ANNOTATION = "ecrcontrol.io/issued-at"
SEAL_ANNOTATION = "ecrcontrol.io/token-seal"
# The registries beside the default one (spec.registries), so that a change of the list is not
# mistaken for a Secret that is still current.
REGISTRIES_ANNOTATION = "ecrcontrol.io/registries"


def rfc3339(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


# A slimmed Secret (the controller's store) holds this hash of its data in place of the data.
DATA_HASH = "ecrcontrol.io/data-sha256"


def data_hash(secret: dict) -> str:
    """The hash of the Secret's data, as HASH_ANNOTATION records what we wrote."""
    return secret[DATA_HASH] if DATA_HASH in secret else _hash(secret.get("data") or {})


def slim(secret: dict) -> dict:
    """What the controller's watch of managed Secrets keeps of one (kube/watching.py, store.py): no
    managedFields, and the hash of its data instead of the data (a token, a few KB; read only to
    tell a hand edit, by the hash). A reader that needs the data (a failed region's entries) reads
    the Secret."""
    kept = {k: v for k, v in lean(secret).items() if k != "data"}
    kept[DATA_HASH] = data_hash(secret)
    return kept


def identity(access_key_id: str, region: str) -> str:
    """Names the AWS identity and region without revealing anything secret."""
    return hashlib.sha256(f"{access_key_id}/{region}".encode()).hexdigest()[:16]


def source_of(secret: dict) -> str:
    """The keyed hash of the credentials a managed Secret's token came from ("" if unlabelled)."""
    return (secret["metadata"].get("labels") or {}).get(TOKEN_SOURCE_LABEL, "")


def parse_time(value: str | None) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def issued_label(token: Token) -> str:
    return str(int(token.issued_at.timestamp()))


def auth_entry(token: Token) -> dict:
    """A docker config `auths` entry holding the token."""
    auth = base64.b64encode(f"{token.username}:{token.password}".encode()).decode()
    return {"username": token.username, "password": token.password, "auth": auth}


def auths_of(secret: dict | None) -> dict:
    """The `auths` of a docker config Secret ({} if absent or unreadable)."""
    try:
        auths = json.loads(base64.b64decode((secret or {}).get("data", {})[DATA_KEY]))["auths"]
    except (ValueError, KeyError, TypeError):
        return {}
    return auths if isinstance(auths, dict) else {}


def desired_secret(
    owner: dict,
    namespace: str,
    token: Token,
    refresh_at: datetime.datetime,
    identity: str,
    source: str,
    seal: Callable[..., str],
    extra: dict[str, dict] | None = None,
    expires_at: datetime.datetime | None = None,
) -> dict:
    """The complete Secret for one namespace, owned by the custom resource `owner`. `source`
    names the credentials the token came from, `seal` makes the keyed hash over the token and its
    times (services.sharing.source and .seal). `extra`: more registries' `auths` entries by host
    (spec.registries), after the token's own; `expires_at`: the earliest of their tokens' expiries."""
    expires_at = expires_at or token.expires_at
    auths = {token.registry: auth_entry(token)}
    for host, entry in (extra or {}).items():
        auths.setdefault(host, entry)
    config = {"auths": auths}
    meta = owner["metadata"]
    data = {DATA_KEY: base64.b64encode(json.dumps(config, separators=(",", ":")).encode()).decode()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {
            "name": owner["spec"]["secretName"],
            "namespace": namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY,
                OWNER_UID_LABEL: meta["uid"],
                TOKEN_SOURCE_LABEL: source,
                TOKEN_ISSUED_LABEL: issued_label(token),
            },
            "annotations": {
                EXPIRY_ANNOTATION: rfc3339(expires_at),
                ISSUED_ANNOTATION: rfc3339(token.issued_at),
                REFRESH_ANNOTATION: rfc3339(refresh_at),
                SEAL_ANNOTATION: seal(
                    source,
                    token.registry,
                    f"{token.username}:{token.password}",
                    rfc3339(token.issued_at),
                    rfc3339(expires_at),
                    rfc3339(refresh_at),
                ),
                IDENTITY_ANNOTATION: identity,
                HASH_ANNOTATION: _hash(data),
                **({REGISTRIES_ANNOTATION: ",".join(sorted(extra))} if extra else {}),
            },
            "ownerReferences": [
                {
                    "apiVersion": owner["apiVersion"],
                    "kind": owner["kind"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "data": data,
    }


def token_in(secret: dict, source: str, seal: Callable[..., str]) -> tuple[Token, datetime.datetime] | None:
    """The token a managed Secret holds for the credentials `source`, and its refresh point; None
    unless its seal proves ecrcontrol wrote it so (not edited, not forged, not another's)."""
    meta = secret.get("metadata") or {}
    annotations, data = meta.get("annotations") or {}, secret.get("data") or {}
    names = (ISSUED_ANNOTATION, EXPIRY_ANNOTATION, REFRESH_ANNOTATION)
    issued, expires, refresh = (annotations.get(a) or "" for a in names)
    times = [parse_time(value) for value in (issued, expires, refresh)]
    if None in times or DATA_KEY not in data:
        return None
    try:
        auths = json.loads(base64.b64decode(data[DATA_KEY]))["auths"]
        registry, entry = next(iter(auths.items()))  # the token's own registry comes first
        token = Token(registry, entry["username"], entry["password"], times[1], times[0])
    except (ValueError, KeyError, TypeError):
        return None
    expected = seal(source, registry, f"{token.username}:{token.password}", issued, expires, refresh)
    if not hmac.compare_digest(annotations.get(SEAL_ANNOTATION, ""), expected):
        return None
    return token, times[2]


def is_ours(existing: dict, owner: dict) -> bool:
    """Ours: labelled for this owner, or the seed operator's Secret for this very object (adopted)."""
    meta = existing.get("metadata") or {}
    labels = meta.get("labels") or {}
    uid, name = owner["metadata"]["uid"], owner["metadata"]["name"]
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY:
        return labels.get(OWNER_UID_LABEL) == uid
    for ref in meta.get("ownerReferences") or []:
        if not ref.get("apiVersion", "").startswith(GROUP + "/"):
            continue
        if ref.get("uid") == uid or (ref.get("kind") == LEGACY.kind and ref.get("name") == name):
            return True
    return False


def is_managed(existing: dict) -> bool:
    """Managed by ecrcontrol or by the seed operator (owned by one of its resources), for any owner."""
    meta = existing.get("metadata") or {}
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY:
        return True
    return any(
        (ref.get("apiVersion") or "").startswith(GROUP + "/") for ref in meta.get("ownerReferences") or []
    )


def is_current(existing: dict, desired: dict, now: datetime.datetime, exact: bool = False) -> bool:
    """True when the existing Secret needs no write: untouched since we wrote it, same identity,
    owner and name, and not yet due for refresh. `exact` (a manual refresh): and it was written
    from the very token fetched for it (same data, expiry and refresh point)."""
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    refresh = parse_time(annotations.get(REFRESH_ANNOTATION))
    return (
        is_renewal(existing, desired)
        and refresh is not None
        and now < refresh
        and (not exact or all(annotations.get(k) == v for k, v in desired["metadata"]["annotations"].items()))
    )


def is_renewal(existing: dict, desired: dict) -> bool:
    """Writing `desired` over `existing` only renews the token: the Secret is as we wrote it, for
    the same identity, owner and name (no hand edit to undo, no spec change to apply)."""
    have, want = existing.get("metadata") or {}, desired["metadata"]
    labels, annotations = have.get("labels") or {}, have.get("annotations") or {}
    return (
        existing.get("type") == desired["type"]
        and annotations.get(HASH_ANNOTATION) == data_hash(existing)
        and annotations.get(IDENTITY_ANNOTATION) == want["annotations"][IDENTITY_ANNOTATION]
        and annotations.get(REGISTRIES_ANNOTATION) == want["annotations"].get(REGISTRIES_ANNOTATION)
        and all(labels.get(k) == v for k, v in want["labels"].items() if k != TOKEN_ISSUED_LABEL)
        and _owner_uids(have) >= _owner_uids(want)
    )


def is_intact(existing: dict) -> bool:
    """Untouched since ecrcontrol wrote it: our labels, our owner, our type, and the data whose hash
    we recorded. An intact Secret needs no reconcile until its refresh is due."""
    meta = existing.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    uid = labels.get(OWNER_UID_LABEL)
    return (
        labels.get(MANAGED_BY_LABEL) == MANAGED_BY
        and bool(uid)
        and uid in _owner_uids(meta)
        and existing.get("type") == SECRET_TYPE
        and not meta.get("deletionTimestamp")
        and annotations.get(HASH_ANNOTATION) == data_hash(existing)
    )


def _owner_uids(meta: dict) -> set[str]:
    return {ref.get("uid") for ref in meta.get("ownerReferences") or []}


def merged(existing: dict, desired: dict) -> dict:
    """`desired`, keeping the existing object's resourceVersion and any labels/annotations others added."""
    meta = existing["metadata"]
    body = json.loads(json.dumps(desired))
    body["metadata"]["resourceVersion"] = meta["resourceVersion"]
    body["metadata"]["labels"] = {**(meta.get("labels") or {}), **desired["metadata"]["labels"]}
    others = {k: v for k, v in (meta.get("annotations") or {}).items() if k != REGISTRIES_ANNOTATION}
    body["metadata"]["annotations"] = {**others, **desired["metadata"]["annotations"]}
    return body
