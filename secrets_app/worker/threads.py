"""The worker role as threads of another process: the embedded default's `manage.py embedded`.

The controller in the same process hands its reconciles straight to these threads. A resource is
queued at most once (asked for again before its turn: nothing more to do) and runs in one thread
at a time (asked for while it runs: it runs once more afterwards, since something may have changed
after it read the cluster). Tasks that other processes put in django-q2's broker (the web role's
"refresh now") are taken from it, as `qcluster` would, after a cheap check every `poll` seconds.
"""

from __future__ import annotations

import logging
import pydoc
import queue
import threading

from django.db import close_old_connections
from django_q.brokers import get_broker
from django_q.signing import BadSignature, SignedPackage

from .. import tasks

log = logging.getLogger(__name__)


class WorkerThreads:
    def __init__(self, threads: int, stop: threading.Event, poll: float = 1.0) -> None:
        self.stop_event, self.poll = stop, poll
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self._running: set[str] = set()
        self._again: dict[str, tuple] = {}
        self._threads = [
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True) for i in range(threads)
        ]
        self._threads.append(threading.Thread(target=self._consume_broker, name="worker-broker", daemon=True))

    def start(self) -> WorkerThreads:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the running tasks; queued ones are dropped (the controller re-lists on start)."""
        self.stop_event.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def submit(self, name: str, args: tuple) -> None:
        """Queue `tasks.reconcile_in(*args)` under `name` (one name per resource)."""
        with self._lock:
            if name in self._queued:
                return
            if name in self._running:
                self._again[name] = args
                return
            self._queued.add(name)
        self._queue.put((name, args))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            name, args = item
            with self._lock:
                self._queued.discard(name)
                self._running.add(name)
            try:
                tasks.reconcile_in(*args)
            except Exception:
                log.exception("%s failed", name)
            finally:
                close_old_connections()
                with self._lock:
                    self._running.discard(name)
                    again = self._again.pop(name, None)
            if again is not None and not self.stop_event.is_set():
                self.submit(name, again)

    def _consume_broker(self) -> None:
        broker = get_broker()
        while not self.stop_event.wait(self.poll):
            try:
                if broker.queue_size():
                    for ack_id, payload in broker.dequeue() or []:
                        self._run_queued(broker, ack_id, payload)
            except Exception:
                log.exception("cannot take tasks from the broker; trying again")
            finally:
                close_old_connections()

    def _run_queued(self, broker, ack_id, payload) -> None:
        try:
            task = SignedPackage.loads(payload)
        except (TypeError, BadSignature):
            log.exception("dropping a task that cannot be read")
            broker.fail(ack_id)
            return
        func = task["func"] if callable(task["func"]) else pydoc.locate(task["func"])
        try:
            log.info("running %s", task.get("name"))
            func(*task["args"], **task["kwargs"])
        except Exception:
            log.exception("%s failed", task.get("name"))
        finally:
            broker.acknowledge(ack_id)
