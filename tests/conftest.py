"""Suite-wide configuration: tests under tests/integration/ and tests/browser/ carry the `integration`
marker (they need the real control plane)."""

from pathlib import Path

import pytest

INTEGRATION_DIR = Path(__file__).parent / "integration"
BROWSER_DIR = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {INTEGRATION_DIR, BROWSER_DIR} & set(Path(item.fspath).parents):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _own_lock_dir(tmp_path_factory, monkeypatch) -> None:
    """Each test its own ECRCONTROL_LOCK_DIR: records of one test's ECR calls (shared between
    processes, services.identity.sharing) must not answer for the next test."""
    from django.conf import settings

    monkeypatch.setattr(settings, "ECRCONTROL_LOCK_DIR", tmp_path_factory.mktemp("locks"), raising=False)
