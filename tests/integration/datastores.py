"""The session's database and a Redis broker, for tests that look inside or break them."""

from __future__ import annotations

import sqlite3

from tests import settings


def dump_test_database() -> str:
    """Everything the test database holds, as SQL text (SQLite or PostgreSQL)."""
    if settings.TEST_DATABASE == "postgres":
        from devstack.datastores import test_postgres

        return test_postgres().dump("test_ecrcontrol")
    connection = sqlite3.connect(settings.TEST_DB)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()
