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
