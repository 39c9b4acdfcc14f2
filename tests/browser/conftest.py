"""The real stack for the browser tests, and headless Chromium driven by Playwright.

gunicorn over TLS (the web role) with the admission webhooks registered with the real local
control plane, the local ECR (moto behind a front that answers like AWS and fails on demand),
and a real worker and controller per test. Chromium is Debian's (/usr/bin/chromium):
Playwright's own download cannot work here. Screenshots go to var/test/screenshots/ (printed as
they are taken).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls under a
# running loop unless told otherwise. (The processes started here inherit it: harmless, none of
# them runs an event loop.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from secrets_app.localdev.webserver import WebServer
from tests.integration import conftest as integration
from tests.integration.helpers import CANARY_SECRET, delete_all_resources
from tests.integration.operator import Operator, process_env
from tests.integration.webhooks.conftest import registered
from tests.settings import BASE_DIR

# The integration suite's session fixtures, reused as they are.
control_plane, kube_api, namespace = integration.control_plane, integration.kube_api, integration.namespace
moto_server, local_ecr, ecr = integration.moto_server, integration.local_ecr, integration.ecr
our_crds = integration.our_crds

CHROMIUM = os.environ.get("ECRCONTROL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = BASE_DIR / "var" / "test" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}
PASSWORD = "browser-test-password"


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
    control_plane, our_crds, django_db_setup, local_ecr, kube_api, static_files, tmp_path_factory
) -> Iterator[WebServer]:
    """gunicorn over TLS, its webhooks registered with the local API server while this module runs.
    Its ECR is the session's local ECR; the worker's is `ecr`, which a test can make fail."""
    locks = str(tmp_path_factory.mktemp("web-locks"))
    with WebServer(process_env(control_plane.kubeconfig, local_ecr.url, ECRCONTROL_LOCK_DIR=locks)) as server:
        try:
            with registered(kube_api, server):
                yield server
        finally:
            log = server.log_path.read_text(errors="replace")
            (BASE_DIR / "var" / "test" / "browser-web.log").write_text(log)  # kept for a look afterwards
        assert CANARY_SECRET not in log, "the secret key reached the web role's log"


@pytest.fixture
def stack(web, ecr, control_plane, transactional_db, tmp_path, kube_api) -> Iterator[dict]:
    """A worker and a controller for this test, the default Cluster, the roles, a superuser."""
    from django.apps import apps
    from django.contrib.auth.models import User

    from secrets_app.models import Cluster

    importlib.import_module("secrets_app.migrations.0003_roles").create_groups(apps, None)  # after a flush
    Cluster.default()
    User.objects.create_superuser("alice", password=PASSWORD)
    operator = Operator(control_plane.kubeconfig, ecr.url, tmp_path).start()
    yield {"web": web, "operator": operator}
    operator.stop()
    delete_all_resources(kube_api)
    logs = operator.logs()
    assert CANARY_SECRET not in logs, "the secret key reached a log"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: apt-get install -y chromium (or set ECRCONTROL_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


class Session:
    """One logged-in user's browser tab, checking every page it sees for the secret key."""

    def __init__(self, browser, base_url: str, screenshots: Path) -> None:
        self.context = browser.new_context(ignore_https_errors=True, viewport=VIEWPORT, base_url=base_url)
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.screenshots = screenshots

    def check_page(self) -> None:
        self.page.wait_for_load_state()
        html = self.page.content()
        assert CANARY_SECRET not in html, f"the secret key is in the page {self.page.url}"

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.page.goto("/admin/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.submit("input[type=submit]")

    def go(self, path: str) -> None:
        self.page.goto(path)
        self.check_page()

    def submit(self, selector: str) -> None:
        """Click a submit button and check the page that comes back."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.check_page()

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    def fits_width(self) -> bool:
        """No horizontal scroll: neither the page nor a table's own scroll box (the admin's .results)."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth && "
            "[...document.querySelectorAll('.results')].every(e => e.scrollWidth <= e.clientWidth)"
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_session(browser, web, screenshots) -> Iterator:
    sessions = []

    def open_(username: str = "alice") -> Session:
        session = Session(browser, web.url, screenshots)
        session.login(username)
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        session.close()
