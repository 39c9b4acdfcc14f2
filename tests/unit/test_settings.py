"""Settings come from the environment and fail fast when something required is missing."""

import os
import subprocess
import sys

import pytest

from tests.settings import BASE_DIR


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-c", "import ecrcontrol.settings as s; print(s.DATABASES['default']['ENGINE'])"],
        env={**clean, **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )


def test_refuses_to_start_without_a_secret_key_outside_debug():
    result = load_settings()
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_runs_without_a_secret_key():
    assert load_settings(DJANGO_DEBUG="1").returncode == 0


def test_sqlite_is_the_default_database():
    assert load_settings(DJANGO_SECRET_KEY="x").stdout.strip() == "django.db.backends.sqlite3"


def test_database_url_selects_postgresql():
    result = load_settings(DJANGO_SECRET_KEY="x", DATABASE_URL="postgres://u:p@db:5432/ecrcontrol")
    assert result.stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_boolean_says_what_is_accepted(value):
    result = load_settings(DJANGO_SECRET_KEY="x", DJANGO_DEBUG=value)
    assert result.returncode != 0
    assert f"DJANGO_DEBUG={value!r} is not a boolean" in result.stderr


def test_a_bad_api_throttle_rate_is_refused_at_start():
    result = load_settings(DJANGO_SECRET_KEY="x", ECRCONTROL_API_THROTTLE_RATE="lots")
    assert result.returncode != 0
    assert "ECRCONTROL_API_THROTTLE_RATE='lots' is not a rate: use requests per second" in result.stderr
    assert load_settings(DJANGO_SECRET_KEY="x", ECRCONTROL_API_THROTTLE_RATE="20/s").returncode == 0


def _lease_timing(**env: str) -> str:
    code = (
        "import ecrcontrol.settings as s; print(s.ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS, "
        "s.ECRCONTROL_LEADER_ELECTION_RENEW_SECONDS, s.ECRCONTROL_LEADER_ELECTION_RETRY_SECONDS)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ECRCONTROL_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SECRET_KEY": "x", **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or result.stderr


def test_the_embedded_default_renews_its_lease_every_15_s_and_standby_setups_every_2():
    assert _lease_timing() == "15.0 10.0 2.0"  # client-go's: a standby takes over within 15 s
    assert _lease_timing(ECRCONTROL_EMBEDDED="1") == "60.0 45.0 15.0"  # one process: 4 writes a minute
    assert (
        _lease_timing(ECRCONTROL_EMBEDDED="1", ECRCONTROL_LEADER_ELECTION_RETRY_SECONDS="5")
        == "60.0 45.0 5.0"
    )
    refused = _lease_timing(ECRCONTROL_EMBEDDED="1", ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS="30")
    assert "_LEASE_SECONDS > ..._RENEW_SECONDS > ..._RETRY_SECONDS > 0" in refused


@pytest.mark.django_db
def test_each_sqlite_connection_keeps_a_small_page_cache():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == -512  # KiB; SQLite's default is 2 MiB per connection
