"""Hand reconcile work to django-q2 workers."""

from __future__ import annotations

from django_q.tasks import async_task

TASK = "secrets_app.tasks.reconcile"


def enqueue(cluster_id: int, kind: str, namespace: str, name: str) -> None:
    async_task(
        TASK,
        cluster_id,
        kind,
        namespace,
        name,
        task_name=f"reconcile {kind} {namespace}/{name}".replace(" /", " "),
        group="reconcile",
        save=False,
    )
