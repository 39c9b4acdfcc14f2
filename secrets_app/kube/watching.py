"""List-then-watch loops that keep the newest resourceVersion, resume after errors, re-list on 410.

Each loop hands plain dicts to two callbacks: `on_list(items, listed_at)` after every (re-)list,
with the complete current state and the time the list was asked for, and `on_event(obj, deleted)`
for every change after it. Only the mirror uses `deleted` (to drop a row); reconciles re-read
state, so a missed or repeated event is harmless.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import urllib3
from kubernetes.client.rest import ApiException
from kubernetes.watch.watch import iter_resp_lines

from ..monitoring.metrics import WATCH_RESTARTS
from .api import Kube
from .kinds import GROUP, MANAGED_BY, MANAGED_BY_LABEL, Kind

log = logging.getLogger(__name__)

WATCH_SECONDS = 60  # the server ends each watch after this; we resume from the last resourceVersion
MAX_BACKOFF = 30.0
LIST_PAGE = 500  # objects per list request, as client-go's reflector pages its lists
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SHARED_STRINGS = 4096  # string values a loop remembers to share (`compact`); then it starts afresh


def lean(obj: dict) -> dict:
    """`obj` without what no reader of a watch uses: metadata.managedFields and kubectl's
    last-applied-configuration annotation (together often most of an object's size)."""
    meta = obj["metadata"]
    annotations = meta.get("annotations") or {}
    if "managedFields" not in meta and LAST_APPLIED not in annotations:
        return obj
    meta = {k: v for k, v in meta.items() if k != "managedFields"}
    if LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {**obj, "metadata": meta}


def compact(value, strings: dict[str, str]):
    """`value` with its keys interned and each string value shared with an equal one met before
    (`strings`: a memo, emptied when it reaches SHARED_STRINGS). A JSON parse makes new strings of
    every key and value, while thousands of objects of a kind repeat the same keys and many of the
    same values (apiVersion, kind, namespace, condition, region, timestamps of one burst): shared,
    the stores keep about half the memory (5.7 → 2.6 KB for a synthetic resource with its status). Keys are a
    small vocabulary (interned for good); values are only memoised, so unique ones (uids,
    resourceVersions) are not pinned."""
    if isinstance(value, dict):
        return {sys.intern(k): compact(v, strings) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v, strings) for v in value]
    if isinstance(value, str):
        if len(strings) >= SHARED_STRINGS:
            strings.clear()
        return strings.setdefault(value, value)
    return value


class _Gone(Exception):
    """410 Gone: resource versions are kept only for a few minutes, so re-list."""


@dataclass
class Source:
    name: str
    list_func: Callable
    kwargs: dict


def resources_source(kube: Kube, kind: Kind) -> Source:
    return Source(
        kind.kind,
        kube.custom.list_cluster_custom_object,
        {"group": GROUP, "version": kind.version, "plural": kind.plural},
    )


def managed_secrets_source(kube: Kube) -> Source:
    return Source(
        "Secret",
        kube.core.list_secret_for_all_namespaces,
        {"label_selector": f"{MANAGED_BY_LABEL}={MANAGED_BY}"},
    )


def secret_metadata_source(kube: Kube) -> Source:
    """Every Secret, metadata only: which of them changed, never what they hold."""
    return Source("SecretMetadata", kube.list_secret_metadata, {})


def namespaces_source(kube: Kube) -> Source:
    return Source("Namespace", kube.core.list_namespace, {})


def service_accounts_source(kube: Kube) -> Source:
    """Every ServiceAccount (spec.serviceAccounts: new ones, and entries removed by hand). Not
    selectable by label: they are the users', created without ours."""
    return Source("ServiceAccount", kube.core.list_service_account_for_all_namespaces, {})


def events(list_func, **kwargs) -> Iterator[dict]:
    """A watch's events as the API server sent them ({"type": ..., "object": {...}}), one JSON
    parse each. The client's `Watch.stream` parses every event twice (three times with its model
    classes), which a thousand Secret writes a second turn into much of a core."""
    response = list_func(**kwargs, watch=True, _preload_content=False)
    try:
        for line in iter_resp_lines(response):
            if line:
                yield json.loads(line)
    finally:
        response.close()
        response.release_conn()


class WatchLoop(threading.Thread):
    def __init__(
        self,
        source: Source,
        on_list: Callable[[list[dict], datetime.datetime], None],
        on_event: Callable[[dict, bool], None],
        stop: threading.Event,
        label: str = "",
        slim: Callable[[dict], dict] = lean,
    ) -> None:
        """`slim`: what of each object is handed on (and kept: a list of every Secret is held
        until it has been handled, so each page is slimmed as it arrives)."""
        super().__init__(name=f"watch-{label}{source.name}", daemon=True)
        self.source, self.on_list, self.on_event, self.stop_event = source, on_list, on_event, stop
        self.slim = slim
        self._strings: dict[str, str] = {}  # compact's memo: only this loop's thread uses it
        self.resource_version = ""
        self.lists = 0  # how many times it (re-)listed: visible to tests and metrics
        self.failures = 0  # consecutive failed connections, for the backoff

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        self.failures = 0
        while not self.stop_event.is_set():
            try:
                if not self.resource_version:
                    self._list()
                self._watch_until_stopped()
            except _Gone:
                WATCH_RESTARTS.labels(watch=self.source.name, reason="gone").inc()
                log.info(
                    "%s: resourceVersion %s expired (410 Gone); re-listing", self.name, self.resource_version
                )
                self.resource_version = ""
            except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                # Keep the resourceVersion: the next watch resumes where this one broke off, as
                # client-go's reflector does (a list of every object per API server blip is costly);
                # if the server no longer has that version, it answers 410 and we re-list.
                self.failures += 1
                WATCH_RESTARTS.labels(watch=self.source.name, reason="error").inc()
                delay = min(MAX_BACKOFF, 0.5 * 2**self.failures) * random.uniform(0.5, 1.0)  # noqa: S311
                log.warning("%s: API server unavailable (%s); reconnecting in %.1fs", self.name, exc, delay)
                self.stop_event.wait(delay)
            except Exception:
                # A bug in a callback must not end the watch forever: log it and start over.
                log.exception("%s: unexpected error; re-listing", self.name)
                self.resource_version = ""
                self.stop_event.wait(1.0)

    def _list(self) -> None:
        listed_at = datetime.datetime.now(datetime.UTC)
        items: list[dict] = []
        more: dict = {}
        while True:  # in pages: one snapshot, never all of its JSON and objects in memory at once
            response = self.source.list_func(
                **self.source.kwargs,
                **more,
                limit=LIST_PAGE,
                _preload_content=False,
                _request_timeout=(5, 60),
            )
            page = json.loads(response.data)
            items += [self._keep(item) for item in page.get("items") or []]  # a metadata list of none: null
            if not page["metadata"].get("continue"):
                break
            more = {"_continue": page["metadata"]["continue"]}
        self.failures = 0
        self.lists += 1
        self.on_list(items, listed_at)
        self.resource_version = page["metadata"]["resourceVersion"]  # only once the list is handled

    def _keep(self, obj: dict) -> dict:
        """What of `obj` is handed on, in as little memory as it takes."""
        return compact(self.slim(obj), self._strings)

    def _watch_until_stopped(self) -> None:
        while not self.stop_event.is_set():
            stream = events(
                self.source.list_func,
                **self.source.kwargs,
                resource_version=self.resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=WATCH_SECONDS,
                _request_timeout=(5, WATCH_SECONDS + 30),
            )
            try:
                for event in stream:
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        if obj.get("code") == 410:
                            raise _Gone()
                        raise ApiException(status=obj.get("code"), reason=obj.get("message"))
                    if self.stop_event.is_set():  # stopped (leadership lost): hand on nothing more
                        return
                    self.resource_version = obj["metadata"]["resourceVersion"]
                    self.failures = 0
                    if event["type"] != "BOOKMARK":
                        self.on_event(self._keep(obj), event["type"] == "DELETED")
                    if self.stop_event.is_set():
                        return
            except ApiException as exc:
                if exc.status == 410:
                    raise _Gone() from None
                raise


__all__ = [
    "WatchLoop",
    "managed_secrets_source",
    "namespaces_source",
    "resources_source",
    "secret_metadata_source",
]
