"""A small plain-HTTP server for the controller and worker roles: /metrics, /healthz, /readyz.

The controller-runtime convention (a metrics and health port beside the process): the chart's
probes and Prometheus' scrape annotation point at it. It serves no data that needs a login.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import exposition

log = logging.getLogger(__name__)


def parse_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    return (host.strip("[]") or "0.0.0.0", int(port))  # noqa: S104 - a pod's port, as in the chart


def serve(bind: str, readiness: Callable[[], list[str]], database: bool = False) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; `readiness()` returns what is not ready ([] = ready)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, exposition.render(database=database), exposition.CONTENT_TYPE)
            elif path == "/healthz":
                self._json(200, {"status": "ok"})
            elif path == "/readyz":
                problems = readiness()
                self._json(
                    503 if problems else 200,
                    {"status": "not ready" if problems else "ok", "problems": problems},
                )
            else:
                self._json(404, {"detail": "not found: try /metrics, /healthz or /readyz"})

        def _json(self, status: int, body: dict) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:  # probes every few seconds: keep them quiet
            log.debug("metrics server: " + format, *args)

    httpd = ThreadingHTTPServer(parse_bind(bind), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name="metrics-server", daemon=True).start()
    log.info("serving /metrics, /healthz and /readyz on %s", bind)
    return httpd
