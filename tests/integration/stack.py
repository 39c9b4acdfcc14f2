"""The real stack as fixtures, for the tests that drive ecrcontrol over HTTPS (tests/browser,
tests/integration/api): import the fixtures into the conftest that needs them.

gunicorn over TLS (the web role) with the admission webhooks registered with the real local
control plane and the local ECR (devstack/ecr.py), and a real worker and
controller per test, with the roles and a superuser in the (flushed) database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from devstack.webserver import WebServer
from secrets_app import roles
from tests.settings import BASE_DIR

from .helpers import CANARY_SECRET, delete_all_resources
from .operator import Operator, process_env
from .webhooks.conftest import registered

PASSWORD = "browser-test-password"
# The REST API's tests make many requests as one user; their throttle is tested in tests/unit.
WEB_SETTINGS = {"ECRCONTROL_API_THROTTLE_RATE": "100000/minute"}


@pytest.fixture(scope="session")
def static_files() -> None:
    """The web role serves collected static files (WhiteNoise), as in the image."""
    subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "collectstatic", "--noinput", "-v0"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ecrcontrol.settings", "DJANGO_SECRET_KEY": "x"},
        check=True,
    )


@pytest.fixture(scope="module")
def web(
    request, control_plane, our_crds, django_db_setup, local_ecr, kube_api, static_files, tmp_path_factory
) -> Iterator[WebServer]:
    """gunicorn over TLS, its webhooks registered with the local API server while this module runs.
    Its ECR is the session's local ECR; the worker's is `ecr` (tests/integration/conftest.py), a
    fresh front per test that a test can make fail."""
    locks = str(tmp_path_factory.mktemp("web-locks"))
    env = process_env(control_plane.kubeconfig, local_ecr.url, ECRCONTROL_LOCK_DIR=locks, **WEB_SETTINGS)
    with WebServer(env) as server:
        try:
            with registered(kube_api, server):
                yield server
        finally:
            log = server.log_path.read_text(errors="replace")
            kept = BASE_DIR / "var" / "test" / f"{'-'.join(request.module.__name__.split('.')[-2:])}-web.log"
            kept.write_text(log)  # kept for a look afterwards
        assert CANARY_SECRET not in log, "the secret key reached the web role's log"


@pytest.fixture
def stack(web, ecr, control_plane, transactional_db, tmp_path, kube_api) -> Iterator[dict]:
    """A worker and a controller for this test, the default Cluster, the roles, a superuser."""
    from django.contrib.auth.models import User

    from secrets_app.models import Cluster

    roles.ensure_groups()  # the flush between tests removed migration 0003's groups
    Cluster.default()
    User.objects.create_superuser("alice", password=PASSWORD)
    operator = Operator(control_plane.kubeconfig, ecr.url, tmp_path).start()
    yield {"web": web, "operator": operator}
    operator.stop()
    delete_all_resources(kube_api)
    logs = operator.logs()
    assert CANARY_SECRET not in logs, "the secret key reached a log"
