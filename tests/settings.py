"""Test settings: the real settings, with a throwaway secret key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")

from ecrcontrol.settings import *  # noqa: F403
