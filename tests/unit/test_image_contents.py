"""The image holds only the product: the paths the Dockerfile copies stand alone.

The product's files are copied into an empty directory exactly as the Dockerfile's runtime stage
copies them; there, with no checkout around them, `manage.py check` passes and gunicorn's config
imports, and neither can reach the development stack (devstack/) or the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = {"manage.py", "ecrcontrol", "secrets_app", "templates"}


def runtime_copies() -> list[str]:
    """The sources of the COPY lines of the Dockerfile's last stage (not `COPY --from`)."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    sources = []
    for line in lines[last_from:]:
        words = line.split()
        if words[:1] == ["COPY"] and not words[1].startswith("--from"):
            sources.extend(words[1:-1])
    return sources


@pytest.fixture(scope="module")
def image_tree(tmp_path_factory) -> Path:
    app = tmp_path_factory.mktemp("app")
    for source in runtime_copies():
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, app / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, app / source)
    return app


def run_in(app: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run(
        [sys.executable, *argv],
        cwd=app,
        env={**clean, "DJANGO_SECRET_KEY": "image-test", "ECRCONTROL_DATA_DIR": str(app / "data"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_dockerfile_copies_exactly_the_product_by_name():
    assert set(runtime_copies()) == PRODUCT
    assert "." not in runtime_copies()


def test_the_development_stack_is_left_out_of_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "devstack" in ignored and "tests" in ignored


def test_the_product_alone_passes_manage_py_check(image_tree):
    result = run_in(image_tree, ["manage.py", "check", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_product_alone_cannot_import_the_development_stack(image_tree):
    probe = (
        "import importlib.util, sys\n"
        "import django; django.setup()\n"
        "import secrets_app\n"
        "from django.conf import settings\n"
        f"assert secrets_app.__file__.startswith({str(image_tree)!r}), secrets_app.__file__\n"
        "assert importlib.util.find_spec('devstack') is None\n"
        "assert 'devstack' not in settings.INSTALLED_APPS\n"
        "assert not [m for m in sys.modules if m.startswith(('devstack', 'tests', 'moto'))]\n"
        "print('alone')\n"
    )
    result = run_in(image_tree, ["-c", probe], DJANGO_SETTINGS_MODULE="ecrcontrol.settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alone"


def test_the_product_alone_imports_the_gunicorn_config(image_tree):
    probe = (
        "import sys, ecrcontrol.gunicorn as g\n"
        "assert g.worker_class == 'gthread'\n"
        "assert not [m for m in sys.modules if m.startswith('devstack')]\n"
        "print('ok')\n"
    )
    result = run_in(
        image_tree,
        ["-c", probe],
        ECRCONTROL_TLS_CERT_FILE="/tls/tls.crt",
        ECRCONTROL_TLS_KEY_FILE="/tls/tls.key",
        ECRCONTROL_DIE_WITH_PARENT="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
