"""The webhook's credential checks, shared: credentials ECR accepted moments ago are not tried again.

100 creates with the same credentials would otherwise cost 100 GetAuthorizationToken calls. A
verdict "accepted at T" is kept for `ECRCONTROL_WEBHOOK_VERDICT_SECONDS` in this process's memory
and in a record per credentials in ECRCONTROL_LOCK_DIR (services.identity.sharing), so every web process
of the machine or pod shares it; concurrent checks of the same credentials wait for the first
(up to the webhook's ECR timeout) instead of each calling ECR. Both are keyed by the credentials'
keyed hash: never the secret access key, never a token, never the database. The hash is of the
keys themselves, not of where they come from: a referenced Secret whose keys change later names
another identity, which is checked anew.

A rejection is not remembered: the next try calls ECR again (its owner may have just fixed the
key's permissions). A rotated key is other credentials, so it is checked; a key revoked in IAM is
noticed at the latest when the verdict runs out (and by the worker's next token fetch).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable

from django.conf import settings

from ..services.identity import sharing

_accepted: dict[str, datetime.datetime] = {}
_guard = threading.Lock()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _fresh(accepted_at: datetime.datetime | None) -> bool:
    ttl = datetime.timedelta(seconds=settings.ECRCONTROL_WEBHOOK_VERDICT_SECONDS)
    return accepted_at is not None and accepted_at <= _now() < accepted_at + ttl


def check(key: str, try_credentials: Callable[[], None], wait: float) -> None:
    """Return if the identity named `key` (its keyed hash, services.identity.resolve) was accepted
    recently; else call `try_credentials` (which raises ECRError when ECR does not accept it) and
    remember an acceptance. `wait`: at most this long for another process's check of the same one."""
    if settings.ECRCONTROL_WEBHOOK_VERDICT_SECONDS <= 0:  # sharing turned off: no lock to queue on
        try_credentials()
        return
    if _fresh(_accepted.get(key)):
        return
    with sharing.locked(f"{key}.verdict", timeout=wait) as record:
        shared = record.data.get("accepted_at")
        accepted_at = datetime.datetime.fromisoformat(shared) if isinstance(shared, str) else None
        if not _fresh(accepted_at):
            try_credentials()
            accepted_at = _now()
            record.save({"source": key, "accepted_at": accepted_at.isoformat()})
    with _guard:
        _accepted[key] = accepted_at


def forget() -> None:
    """Forget this process's verdicts (tests)."""
    with _guard:
        _accepted.clear()
