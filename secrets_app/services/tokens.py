"""One ECR token per AWS identity and region per refresh, shared by every resource that uses it.

The cache lives in the worker's memory (the token is a registry password: it is not written to
the database). A rejected identity is remembered too, so N resources with bad keys cost one call.
"""

from __future__ import annotations

import datetime
import hashlib
import threading
from dataclasses import dataclass

from ..aws import ecr
from . import schedule


@dataclass
class _Entry:
    token: ecr.Token | None
    error: ecr.ECRError | None
    valid_until: datetime.datetime
    fetched_at: datetime.datetime


class TokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.calls = 0  # ECR calls made: for tests and benchmarks

    @staticmethod
    def key(credentials: ecr.Credentials) -> str:
        raw = "\0".join((credentials.access_key_id, credentials.secret_access_key, credentials.region))
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, credentials: ecr.Credentials, fetched_after: datetime.datetime | None = None) -> ecr.Token:
        """A token valid until its refresh point; raises the cached or new `ECRError`.

        `fetched_after`: a manual refresh started then; an entry fetched before it is not used."""
        key = self.key(credentials)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            now = datetime.datetime.now(datetime.UTC)
            entry = self._entries.get(key)
            stale = fetched_after is not None and entry is not None and entry.fetched_at < fetched_after
            if entry is None or entry.valid_until <= now or stale:
                entry = self._fetch(credentials)
                self._entries[key] = entry
        if entry.error:
            raise entry.error
        return entry.token

    def _fetch(self, credentials: ecr.Credentials) -> _Entry:
        self.calls += 1
        now = datetime.datetime.now(datetime.UTC)
        try:
            token = ecr.get_token(credentials)
        except ecr.ECRError as exc:
            # A rejected identity is remembered for the slow retry; a temporary failure only for
            # the backoff base, so that resources sharing the identity share one retry.
            until = now + (schedule.permanent_retry() if exc.permanent else schedule.backoff(1))
            exc.retry_at = until  # every reconcile that meets this error reports the same retry time
            return _Entry(None, exc, until, now)
        return _Entry(token, None, schedule.refresh_at(token), now)

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


cache = TokenCache()
