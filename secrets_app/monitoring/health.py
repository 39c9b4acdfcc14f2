"""Readiness checks shared by the web view and the controller's and worker's health server."""

from __future__ import annotations

from collections.abc import Callable

from django.db import close_old_connections, connection

MSG_DATABASE = "database unreachable: {error}"

# Readiness of the roles this process hosts besides the web role (the embedded default).
_hosted: list[Callable[[], list[str]]] = []


def add_hosted(check: Callable[[], list[str]]) -> None:
    _hosted.append(check)


def hosted_problems() -> list[str]:
    return [problem for check in _hosted for problem in check()]


def database_problems() -> list[str]:
    """[] if the database answers a trivial query, else one line saying why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return []
    except Exception as exc:
        return [MSG_DATABASE.format(error=f"{type(exc).__name__}: {str(exc).strip()[:200]}")]
    finally:
        close_old_connections()
