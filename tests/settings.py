"""Test settings: the real settings, with a throwaway secret key and a file test database.

The test database is a file so that the operator's real processes (controller, worker), started
by integration tests, share it with the test process.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")

from ecrcontrol.settings import *  # noqa: F403
from ecrcontrol.settings import BASE_DIR, DATABASES, STATIC_ROOT

TEST_DB = BASE_DIR / "var" / "test" / "test.sqlite3"
TEST_DB.parent.mkdir(parents=True, exist_ok=True)
DATABASES["default"]["TEST"] = {"NAME": str(TEST_DB)}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on a missing directory
