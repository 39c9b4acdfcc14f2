"""The web role (gunicorn over TLS) on a free loopback port, with a throwaway CA and certificate.

Used by `make run` and by the integration tests, which register its webhooks with the local
control plane (see `secrets_app.webhooks.registration`).
"""

from __future__ import annotations

import os
import shutil
import ssl
import sys
import tempfile
import urllib.request
from pathlib import Path

from .certs import CertificateAuthority
from .processes import Component, Process, free_port

START_TIMEOUT = 30.0


class WebServer(Component):
    def __init__(self, env: dict[str, str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrcontrol-web-"))
        self.env, self.host, self.port = env, host, port
        self.ca = CertificateAuthority("ecrcontrol-local-web-ca")
        self.ca_file = self.workdir / "ca.crt"
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "web.log"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self) -> None:
        self.port = self.port or free_port()
        self.ca_file.write_bytes(self.ca.cert_pem)
        cert, key = self.ca.issue("ecrcontrol-web", hosts=(self.host, "localhost"), server=True).write(
            self.workdir, "web"
        )
        metrics_dir = self.workdir / "metrics"  # gunicorn's workers add up their metrics here
        metrics_dir.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **self.env,
            "ECRCONTROL_BIND": f"{self.host}:{self.port}",
            "ECRCONTROL_TLS_CERT_FILE": str(cert),
            "ECRCONTROL_TLS_KEY_FILE": str(key),
        }
        argv = [sys.executable, "-m", "gunicorn", "-c", "python:ecrcontrol.gunicorn", "ecrcontrol.wsgi"]
        self.process = Process("web", argv, self.log_path, env=env).start()
        self.process.wait_until(
            lambda: (
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2, context=self.ssl_context()).status
                == 200
            ),
            START_TIMEOUT,
            "answering HTTPS",
        )

    def stop(self) -> None:
        if self.process:
            self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
