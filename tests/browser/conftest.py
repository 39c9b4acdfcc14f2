"""The real stack for the browser tests, and headless Chromium driven by Playwright.

gunicorn over TLS (the web role) with the admission webhooks registered with the real local
control plane, the local ECR (moto behind a front that answers like AWS and fails on demand),
and a real worker and controller per test. Chromium is Debian's (/usr/bin/chromium):
Playwright's own download cannot work here. Screenshots go to var/test/screenshots/ (printed as
they are taken).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls under a
# running loop unless told otherwise. (The processes started here inherit it: harmless, none of
# them runs an event loop.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.integration import conftest as integration
from tests.integration import stack as shared
from tests.integration.helpers import CANARY_SECRET
from tests.integration.stack import PASSWORD
from tests.settings import BASE_DIR

# The integration suite's session fixtures and the real stack, reused as they are.
control_plane, kube_api, namespace = integration.control_plane, integration.kube_api, integration.namespace
moto_server, local_ecr, ecr = integration.moto_server, integration.local_ecr, integration.ecr
our_crds = integration.our_crds
static_files, web, stack = shared.static_files, shared.web, shared.stack

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
