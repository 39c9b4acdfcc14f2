"""The Helm chart lints and its schema rejects unknown values (with the helm binary we build)."""

import subprocess

from secrets_app.localdev import binaries
from tests.settings import BASE_DIR

CHART = BASE_DIR / "chart"


def helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binaries.ensure_binaries() / "helm"), *args], capture_output=True, text=True, check=False
    )


def test_chart_lints_cleanly():
    result = helm("lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_misspelled_value_fails_at_template_time():
    result = helm("template", "x", str(CHART), "--set", "imag.tag=1")
    assert result.returncode != 0
    assert "imag" in result.stderr and "additional properties" in result.stderr.lower()
