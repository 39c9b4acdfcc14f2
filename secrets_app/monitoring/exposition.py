"""The /metrics page: this process's metrics (or, in multiprocess mode, every process's that
writes to PROMETHEUS_MULTIPROC_DIR), plus the gauges read from the database when asked."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from . import metrics  # noqa: F401 - defines the metrics before the first scrape
from .collectors import DatabaseCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST


def render(database: bool = True) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY  # this process's own metrics
    text = generate_latest(registry)
    if database:
        from_db = CollectorRegistry()
        from_db.register(DatabaseCollector())
        text += generate_latest(from_db)
    return text
