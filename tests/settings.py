"""Test settings: the real settings, with a throwaway secret key and a file test database.

The test database is a file so that the operator's real processes (controller, worker), started
by integration tests, share it with the test process. ECRCONTROL_TEST_DATABASE=postgres runs the
session on a PostgreSQL server of its own instead (devstack/datastores.py);
`TEST_DATABASE_URL` is what the operator's processes are given either way.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")

from ecrcontrol.settings import *  # noqa: F403
from ecrcontrol.settings import BASE_DIR, DATABASES, STATIC_ROOT

# One file per test session (the pytest process's id): two sessions at once, such as a unit run
# beside an integration run, must not share (and lock, or delete) one another's database.
TEST_DB = BASE_DIR / "var" / "test" / f"test-{os.getpid()}.sqlite3"
TEST_DB.parent.mkdir(parents=True, exist_ok=True)
DATABASES["default"]["TEST"] = {"NAME": str(TEST_DB)}
TEST_DATABASE_URL = f"sqlite:///{TEST_DB}"
TEST_DATABASE = os.environ.get("ECRCONTROL_TEST_DATABASE", "sqlite")
if TEST_DATABASE == "postgres":
    import dj_database_url

    from devstack.datastores import test_postgres

    _server = test_postgres()
    DATABASES["default"] = dj_database_url.parse(_server.url, conn_max_age=0, conn_health_checks=True)
    DATABASES["default"]["TEST"] = {"NAME": "test_ecrcontrol"}
    TEST_DATABASE_URL = _server.url.rsplit("/", 1)[0] + "/test_ecrcontrol"
elif TEST_DATABASE != "sqlite":
    raise ValueError(f"ECRCONTROL_TEST_DATABASE={TEST_DATABASE!r}: use sqlite (the default) or postgres")
# ECRCONTROL_TEST_BROKER=redis: django-q2 on a Redis server of the session's own (REDIS_URL for the
# operator's processes), instead of the ORM broker.
TEST_REDIS_URL = ""
TEST_BROKER = os.environ.get("ECRCONTROL_TEST_BROKER", "orm")
if TEST_BROKER == "redis":
    from devstack.datastores import test_redis

    TEST_REDIS_URL = test_redis().url
    Q_CLUSTER.pop("orm", None)  # noqa: F405
    Q_CLUSTER["redis"] = TEST_REDIS_URL  # noqa: F405
elif TEST_BROKER != "orm":
    raise ValueError(f"ECRCONTROL_TEST_BROKER={TEST_BROKER!r}: use orm (the default) or redis")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on a missing directory
