"""Hand reconcile work to the workers: django-q2's broker, or the worker threads of this process.

In the embedded default (`manage.py embedded`) the controller and the worker share a process, and
the controller's reconciles go straight to the worker threads (`use_local`): no database round
trip and no broker polling between a watch event and its reconcile.
"""

from __future__ import annotations

from collections.abc import Callable

from django_q.tasks import async_task

from ..models import Cluster

TASK = "secrets_app.tasks.reconcile"

_local: Callable[[str, tuple], None] | None = None


def use_local(submit: Callable[[str, tuple], None] | None) -> None:
    """Send reconciles to `submit(task_name, args)` in this process (None: back to the broker);
    `args` are those of `tasks.reconcile_in`."""
    global _local
    _local = submit


def is_local() -> bool:
    """Whether reconciles run in this process."""
    return _local is not None


def enqueue(cluster: Cluster, kind: str, namespace: str, name: str) -> None:
    task_name = f"reconcile {kind} {namespace}/{name}".replace(" /", " ")
    if _local is not None:
        _local(task_name, (cluster, kind, namespace, name))
        return
    async_task(
        TASK,
        cluster.pk,
        kind,
        namespace,
        name,
        task_name=task_name,
        group="reconcile",
        save=False,
    )
