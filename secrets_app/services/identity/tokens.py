"""One ECR token per AWS identity and region per refresh, shared by every resource that uses it,
in every worker process (the identity as services.identity.resolve names it: base identity, role,
external ID and region).

In a process, tokens are cached in memory until their refresh point (the token is a registry
password: it is not written to the database, nor to any file). Between worker processes, getting
a token happens under a short lock per identity (services.sharing): under it, a worker first
takes a fresh token that another worker fetched already, from a managed Secret that holds it
(labelled with the credentials' keyed hash, and sealed: see sharing.seal), and only then calls
ECR. The lock's record tells
the next worker what came of the last call (a failure is shared too, so N workers meeting bad
keys cost one call), and that a Secret with the new token is about to appear.
"""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from ...aws import ecr
from ...kube.api import Kube
from ...kube.errors import KubeError
from .. import schedule
from ..secrets import dockerconfig
from . import sharing
from .resolve import Identity

POLL_SECONDS = 0.1


@dataclass
class _Entry:
    token: ecr.Token | None
    error: ecr.ECRError | None
    valid_until: datetime.datetime
    fetched_at: datetime.datetime


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _time(value) -> datetime.datetime | None:
    return dockerconfig.parse_time(value) if isinstance(value, str) else None


class TokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.calls = 0  # ECR calls made by this process: for tests and benchmarks

    def get(
        self,
        identity: Identity,
        fetched_after: datetime.datetime | None = None,
        kube: Kube | None = None,
    ) -> ecr.Token:
        """A token valid until its refresh point; raises the cached or new `ECRError` (or
        CredentialsNotFound, never cached: the referenced Secret is watched).

        `fetched_after`: a manual refresh started then; a token fetched before it is not used.
        `kube`: the cluster whose managed Secrets may hold a token another worker fetched."""
        key = identity.source
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._entries.get(key)
            if not self._usable(entry, fetched_after):
                with sharing.locked(f"{key}.token") as record:
                    entry = self._from_other_workers(key, record.data, fetched_after, kube)
                    if entry is None:
                        entry = self._fetch(identity)
                        record.save(self._record(key, entry))
                self._entries[key] = entry
        if entry.error:
            raise entry.error
        return entry.token

    @staticmethod
    def _usable(entry: _Entry | None, fetched_after: datetime.datetime | None) -> bool:
        if entry is None or entry.valid_until <= _now():
            return False
        return fetched_after is None or entry.fetched_at >= fetched_after

    # -- from another worker -------------------------------------------------------------------
    def _from_other_workers(
        self, key: str, record: dict, fetched_after: datetime.datetime | None, kube: Kube | None
    ) -> _Entry | None:
        """What another worker got for these credentials, if it is still good; else None."""
        fetched_at, until = _time(record.get("fetched_at")), _time(record.get("until"))
        recent = (
            record.get("source") == key
            and fetched_at is not None
            and until is not None
            and until > _now()
            and (fetched_after is None or fetched_at >= fetched_after)
        )
        if recent and record.get("error"):
            error = ecr.ECRError(
                record["error"], permanent=bool(record.get("permanent")), code=record.get("code", "")
            )
            error.retry_at = until
            return _Entry(None, error, until, fetched_at)
        if kube is None:
            return None
        # Just fetched by another worker: its Secrets are being written; wait for the first.
        wait = settings.ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS if recent and record.get("ok") else 0
        deadline = time.monotonic() + wait
        issued = str(record.get("issued") or "") if wait else ""  # exactly the new token's Secrets
        while True:
            entry = self._from_secrets(kube, key, fetched_after, issued)
            if entry or time.monotonic() >= deadline:
                return entry
            time.sleep(POLL_SECONDS)

    @staticmethod
    def _from_secrets(
        kube: Kube, key: str, fetched_after: datetime.datetime | None, issued: str = ""
    ) -> _Entry | None:
        try:
            secrets = kube.list_token_secrets(key, issued)
        except KubeError:
            return None  # then this worker asks ECR itself
        now, best = _now(), None
        for secret in secrets:
            found = dockerconfig.token_in(secret, key, sharing.seal)
            if found is None:
                continue
            token, refresh_at = found
            if refresh_at <= now or (fetched_after and token.issued_at < fetched_after):
                continue
            if best is None or token.issued_at > best.token.issued_at:
                best = _Entry(token, None, refresh_at, token.issued_at)
        return best

    # -- from ECR ------------------------------------------------------------------------------
    def _fetch(self, identity: Identity) -> _Entry:
        now = _now()
        try:
            credentials = identity.credentials()  # a role's: cached, or one STS call
            self.calls += 1
            token = ecr.get_token(credentials)
        except ecr.ECRError as exc:
            # A rejected identity is remembered for the slow retry; a temporary failure only for
            # the backoff base, so that resources sharing the identity share one retry.
            until = now + (schedule.permanent_retry() if exc.permanent else schedule.backoff(1))
            exc.retry_at = until  # every reconcile that meets this error reports the same retry time
            return _Entry(None, exc, until, now)
        return _Entry(token, None, schedule.refresh_at(token), now)

    @staticmethod
    def _record(key: str, entry: _Entry) -> dict:
        """What the next worker needs to know: never the token itself, nor the key."""
        record = {
            "source": key,
            "fetched_at": entry.fetched_at.isoformat(),
            "until": entry.valid_until.isoformat(),
            "ok": entry.error is None,
        }
        if entry.error:
            record.update(error=str(entry.error), permanent=entry.error.permanent, code=entry.error.code)
        else:
            record["issued"] = dockerconfig.issued_label(entry.token)
        return record

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


cache = TokenCache()
