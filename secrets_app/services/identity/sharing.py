"""What ecrcontrol's processes share about an AWS identity, without the database.

Several worker processes (and the web role's processes) may need the same identity's token or
credential check at the same moment. They agree through a short file lock per identity in
`ECRCONTROL_LOCK_DIR` (on the data volume, shared by the processes of one pod or machine), and a
small record in that file: when the identity was last tried and what came of it. The record
never holds the secret access key nor a token; the identity is named by `keyed()`, a keyed hash
(HMAC with Django's SECRET_KEY) of what makes it (services.identity.resolve: for keys, the access
key ID, secret access key and region; a role adds its ARN and external ID).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

POLL_SECONDS = 0.05

log = logging.getLogger(__name__)


def keyed(*parts: str) -> str:
    """Names an identity by its parts without revealing them: another secret key for the same key
    ID is another identity. 40 hex characters (fits a label value)."""
    raw = "\0".join(parts)
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:40]


def seal(source_: str, registry: str, login: str, issued: str, expires: str, refresh: str) -> str:
    """A keyed hash over a token as a managed Secret records it: another worker takes the token
    from a Secret only if its seal matches, so a Secret forged or edited by someone who can write
    Secrets in one namespace (and copied the label) is not handed to other namespaces."""
    raw = "\0".join((source_, registry, login, issued, expires, refresh))
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:40]


class Record:
    """The JSON record in a locked file; `data` is {} when there is none (or it is unreadable)."""

    def __init__(self, file, locked: bool) -> None:
        self.file, self.locked = file, locked
        file.seek(0)
        try:
            self.data = json.loads(file.read() or "{}")
        except ValueError:
            self.data = {}

    def save(self, data: dict) -> None:
        self.data = data
        self.file.seek(0)
        self.file.truncate()
        self.file.write(json.dumps(data))
        self.file.flush()


@contextlib.contextmanager
def locked(name: str, timeout: float | None = None) -> Iterator[Record]:
    """Hold the lock `name` (a file in ECRCONTROL_LOCK_DIR) and yield its record. With a
    `timeout`, give up waiting after it and yield the record unlocked (`record.locked` False):
    a caller with a deadline (the webhook) then goes on alone."""
    directory = Path(settings.ECRCONTROL_LOCK_DIR)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / name, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:  # not fatal: this process then goes on alone, as a single one would
        log.warning(
            "cannot use ECRCONTROL_LOCK_DIR=%s (%s): processes do not share ECR results", directory, exc
        )
        with tempfile.TemporaryFile("w+") as scratch:
            yield Record(scratch, False)
        return
    with os.fdopen(fd, "r+") as file:
        got = _acquire(fd, timeout)
        try:
            yield Record(file, got)
        finally:
            if got:
                fcntl.flock(fd, fcntl.LOCK_UN)


def _acquire(fd: int, timeout: float | None) -> bool:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
