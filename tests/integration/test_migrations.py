"""Migrations run cleanly on the session's database (SQLite, and PostgreSQL in the second pass):
all the way back and forward again, with nothing left for makemigrations."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.db import connection


def test_migrations_unapply_and_reapply_cleanly(transactional_db):
    call_command("migrate", "secrets_app", "zero", verbosity=0)
    assert not any(t.startswith("secrets_app_") for t in connection.introspection.table_names())
    call_command("migrate", verbosity=0)
    assert "secrets_app_managedsecret" in connection.introspection.table_names()
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
