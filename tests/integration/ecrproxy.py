"""A counting HTTP proxy in front of moto: how many GetAuthorizationToken calls really reached ECR."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request

TARGET_HEADER = "X-Amz-Target"
GET_TOKEN = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.token_calls = 0
        self.fail_with: int | None = None  # answer every call with this HTTP status (fault injection)
        self.unreachable = False  # hang up on every call without an answer (fault injection)
        self.expires_in: float | None = None  # tokens expire this many seconds after issue (not moto's 2015)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get(TARGET_HEADER) == GET_TOKEN:
                    proxy.token_calls += 1
                if proxy.unreachable:
                    self.close_connection = True
                    return
                if proxy.fail_with:
                    self.send_response(proxy.fail_with)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body, method="POST", headers=dict(self.headers)
                )
                try:
                    response = urllib.request.urlopen(request, timeout=10)
                    status, payload, headers = response.status, response.read(), response.headers
                except urllib.error.HTTPError as exc:
                    status, payload, headers = exc.code, exc.read(), exc.headers
                if status == 200 and proxy.expires_in and self.headers.get(TARGET_HEADER) == GET_TOKEN:
                    payload = proxy.with_expiry(payload)
                self.send_response(status)
                for name in ("Content-Type", "x-amzn-RequestId"):
                    if headers.get(name):
                        self.send_header(name, headers[name])
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def with_expiry(self, payload: bytes) -> bytes:
        data = json.loads(payload)
        for each in data.get("authorizationData", []):
            each["expiresAt"] = time.time() + self.expires_in
        return json.dumps(data).encode()

    def close(self) -> None:
        self.server.shutdown()
