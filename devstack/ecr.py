"""A local ECR that answers like AWS: moto underneath, a small HTTP front that makes it realistic.

moto's own GetAuthorizationToken answers with a fixed `expiresAt` in 2015; real ECR answers with
one 12 hours ahead. This front (a threaded HTTP server on a free loopback port) passes every
request to moto_server unchanged, rewrites that expiry to now + 12 h, and can produce the faults
AWS really produces:

- `ThrottlingException` (HTTP 400, the JSON error body botocore parses) above a request rate:
  a token bucket, by default AWS's documented quota for GetAuthorizationToken (20 requests per
  second sustained, bursts of 200);
- 5xx answers, on every call (`fail_with`) or on a random fraction of them (`error_rate`);
- added latency; an unreachable endpoint (the connection is closed without an answer);
- an `expires_at` override (a clock-skewed or emulated expiry, such as one in the past).

It counts the GetAuthorizationToken calls that reached it (`token_calls`), for tests and
benchmarks. boto3 reaches it unmodified through `AWS_ENDPOINT_URL_ECR`. Used by `make run` and
by the tests; with `upstream` it fronts an existing moto server instead of starting its own.
"""

from __future__ import annotations

import datetime
import http.server
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request

from .moto import MotoServer
from .processes import Component

TARGET_HEADER = "X-Amz-Target"
GET_TOKEN = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
JSON_TYPE = "application/x-amz-json-1.1"

TOKEN_LIFETIME = datetime.timedelta(hours=12)  # what AWS answers
RATE_PER_SECOND = 20.0  # AWS's quota for GetAuthorizationToken: 20/s sustained...
BURST = 200  # ...with bursts of 200

# The error code AWS sends with each HTTP status this front can be asked to answer with.
ERROR_CODES = {
    400: "InvalidParameterException",
    403: "AccessDeniedException",
    429: "ThrottlingException",
    500: "ServerException",
    502: "ServerException",
    503: "ServiceUnavailableException",
    504: "ServerException",
}

# Knobs for `make run`, from the environment (the tests set the attributes instead).
ENV_KNOBS = {
    "ECRCONTROL_LOCAL_ECR_RATE": ("rate", float),
    "ECRCONTROL_LOCAL_ECR_BURST": ("burst", float),
    "ECRCONTROL_LOCAL_ECR_LATENCY_SECONDS": ("latency", float),
    "ECRCONTROL_LOCAL_ECR_ERROR_RATE": ("error_rate", float),
}


class TokenBucket:
    """`rate` requests per second sustained, `burst` at once; thread-safe."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class LocalECR(Component):
    def __init__(
        self,
        upstream: str | None = None,
        *,
        rate: float = RATE_PER_SECOND,
        burst: float = BURST,
        moto_env: dict[str, str] | None = None,
    ) -> None:
        self.upstream = upstream
        self.moto: MotoServer | None = None if upstream else MotoServer(env=moto_env)
        self.url = ""
        self.server: http.server.ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        # Knobs: change them at any time.
        self.token_lifetime = TOKEN_LIFETIME
        self.expires_at: datetime.datetime | None = None  # answer this expiry instead (clock skew)
        self.latency = 0.0  # seconds added before every answer
        self.fail_with: int | None = None  # answer every call with this HTTP status
        self.error_rate = 0.0  # answer this fraction of calls with a 500
        self.unreachable = False  # close every connection without an answer
        self.throttle(rate, burst)
        # Counters.
        self.token_calls = 0  # GetAuthorizationToken calls received (throttled and failed included)
        self.throttled = 0  # calls answered with ThrottlingException
        self.failed = 0  # calls answered with an injected error

    # --- knobs -----------------------------------------------------------------------------

    def throttle(self, rate: float = RATE_PER_SECOND, burst: float = BURST) -> None:
        """Answer ThrottlingException above `rate` GetAuthorizationToken calls per second
        (bursts of `burst`). A rate of 0 or less turns throttling off."""
        self.bucket = TokenBucket(rate, burst) if rate > 0 else None

    def configure_from_env(self, environ: dict[str, str] | None = None) -> None:
        """Set the knobs named in ENV_KNOBS from the environment (used by `make run`)."""
        environ = os.environ if environ is None else environ
        values = {attr: cast(environ[name]) for name, (attr, cast) in ENV_KNOBS.items() if environ.get(name)}
        if "rate" in values or "burst" in values:
            self.throttle(values.pop("rate", RATE_PER_SECOND), values.pop("burst", BURST))
        for attr, value in values.items():
            setattr(self, attr, value)

    def reset_counters(self) -> None:
        with self._lock:
            self.token_calls = self.throttled = self.failed = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.moto:
            self.moto.start()
            self.upstream = self.moto.url
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                front._handle(self, body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="local-ecr", daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.moto:
            self.moto.stop()

    def reset(self) -> None:
        """Forget moto's state (users, keys) and the counters."""
        urllib.request.urlopen(
            urllib.request.Request(f"{self.upstream}/moto-api/reset", method="POST"), timeout=5
        )
        self.reset_counters()

    # --- one request -----------------------------------------------------------------------

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        is_token_call = handler.headers.get(TARGET_HEADER) == GET_TOKEN
        if is_token_call:
            with self._lock:
                self.token_calls += 1
        if self.latency:
            time.sleep(self.latency)
        if self.unreachable:
            handler.close_connection = True
            return
        status = self._injected_status()
        if status:
            with self._lock:
                self.failed += 1
            return self._answer_error(handler, status, ERROR_CODES.get(status, "ServerException"), "injected")
        if is_token_call and self.bucket and not self.bucket.take():
            with self._lock:
                self.throttled += 1
            return self._answer_error(handler, 400, "ThrottlingException", "Rate exceeded")
        status, payload, headers = self._forward(handler, body)
        if is_token_call and status == 200:
            payload = self._with_realistic_expiry(payload)
        answer_headers = {"Content-Type": headers.get("Content-Type", JSON_TYPE)}
        if headers.get("x-amzn-RequestId"):
            answer_headers["x-amzn-RequestId"] = headers["x-amzn-RequestId"]
        self._answer(handler, status, payload, answer_headers)

    def _injected_status(self) -> int | None:
        if self.fail_with:
            return self.fail_with
        if self.error_rate and random.random() < self.error_rate:  # noqa: S311 - fault injection
            return 500
        return None

    def _forward(self, handler, body: bytes) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(
            self.upstream + handler.path, data=body, method="POST", headers=dict(handler.headers)
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers

    def _with_realistic_expiry(self, payload: bytes) -> bytes:
        """expiresAt as AWS answers it: now + 12 h (or the override), in epoch seconds."""
        data = json.loads(payload)
        expires = self.expires_at or datetime.datetime.now(datetime.UTC) + self.token_lifetime
        for item in data.get("authorizationData", []):
            item["expiresAt"] = round(expires.timestamp(), 3)
        return json.dumps(data).encode()

    @staticmethod
    def _answer(handler, status: int, payload: bytes, headers: dict[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _answer_error(self, handler, status: int, code: str, message: str) -> None:
        """An error as ECR's JSON protocol sends it: botocore reads the code from `__type`."""
        payload = json.dumps({"__type": code, "message": message}).encode()
        self._answer(handler, status, payload, {"Content-Type": JSON_TYPE, "x-amzn-ErrorType": code})
