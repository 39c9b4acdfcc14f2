"""A local ECR endpoint: moto's HTTP server on a free loopback port.

boto3 reaches it unmodified through its standard endpoint configuration
(`AWS_ENDPOINT_URL_ECR`), the same setting a user would use for a VPC endpoint or an emulator.
moto answers GetAuthorizationToken with a fixed `expiresAt` in 2015: `make run` and the tests
reach it through the local ECR (ecr.py), which answers like AWS.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

from .processes import Component, Process, free_port

START_TIMEOUT = 30.0


class MotoServer(Component):
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrcontrol-moto-"))
        self.env = env
        self.process: Process | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, **(self.env or {})}
        self.process = Process(
            "moto_server",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            self.workdir / "moto.log",
            env=env,
        ).start()
        self.process.wait_until(
            lambda: urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).status == 200,
            START_TIMEOUT,
            "answering HTTP",
        )

    def stop(self) -> None:
        if self.process:
            self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def reset(self) -> None:
        """Forget all state (moto's own reset API)."""
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=5)
