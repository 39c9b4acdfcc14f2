"""A local ECR and STS that answer like AWS: moto underneath, a small HTTP front that makes them realistic.

moto's own GetAuthorizationToken answers with a fixed `expiresAt` in 2015; real ECR answers with
one 12 hours ahead. This front (a threaded HTTP server on a free loopback port) passes every
request to moto_server unchanged, rewrites that expiry to now + 12 h, and, like AWS, refuses
unsigned calls (no SigV4 `Authorization` header): ECR's with MissingAuthenticationTokenException,
STS's with MissingAuthenticationToken, except AssumeRoleWithWebIdentity, which AWS serves unsigned.

STS (AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity; the query protocol) is told from
ECR (the JSON protocol) by the `X-Amz-Target` header ECR calls carry. moto already answers role
credentials expiring DurationSeconds ahead; `role_credentials_lifetime` overrides that, and
`refuse_role` answers AccessDenied for a role. moto assumes any role, existing or not, and does not
look at the web identity token.

It records who signed each GetAuthorizationToken (`token_signers`: the access key id, whether a
session token came with it, and the role ARN when that key came from an AssumeRole* answered here)
and every STS call (`sts_calls`: action, role, external id, session name, signer, and the web
identity token's `sub`/`aud` claims; never a token or a secret key).

On ECR calls only (STS is another AWS endpoint: these ECR faults leave it alone), it can produce
the faults AWS really produces:

- `ThrottlingException` (HTTP 400, the JSON error body botocore parses) above a request rate:
  a token bucket, by default AWS's documented quota for GetAuthorizationToken (20 requests per
  second sustained, bursts of 200);
- 5xx answers, on every call (`fail_with`) or on a random fraction of them (`error_rate`);
- added latency; an unreachable endpoint (the connection is closed without an answer);
- an `expires_at` override (a clock-skewed or emulated expiry, such as one in the past).

It counts the GetAuthorizationToken calls that reached it (`token_calls`), for tests and
benchmarks, and remembers each docker password it answered, as a hash, with its expiry:
`accepts(username, password)` is what ECR's registry would say to them (devstack/registry.py asks).
boto3 reaches it unmodified through `AWS_ENDPOINT_URL_ECR` and `AWS_ENDPOINT_URL_STS`.
Used by the tests in their own process (they read its counters and turn its knobs); with `upstream`
it fronts an existing moto server instead of starting its own. `make run` and `make cluster` run it
in a small process of its own, `python -S -m devstack.ecr PORT` (see `main`), its knobs from the
environment (ENV_KNOBS): their long-lived supervisors then load none of it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import http.server
import json
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from .moto import MotoServer
from .processes import Component, terminate_on_sigterm

TARGET_HEADER = "X-Amz-Target"
GET_TOKEN = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
JSON_TYPE = "application/x-amz-json-1.1"
SECURITY_TOKEN_HEADER = "X-Amz-Security-Token"
ASSUME_ROLE = "AssumeRole"
WEB_IDENTITY = "AssumeRoleWithWebIdentity"  # the one STS action AWS serves unsigned
# What moto's GetCallerIdentity answers for any long-lived key (used in AWS's AccessDenied message).
MOTO_USER = "arn:aws:iam::123456789012:user/moto"

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


@dataclasses.dataclass(frozen=True)
class Signer:
    """Who signed a GetAuthorizationToken call."""

    access_key_id: str
    role_arn: str  # the RoleArn asked for in the AssumeRole* (answered here) that issued the key, else ""
    session_token: bool  # an X-Amz-Security-Token came with the call (temporary credentials)
    region: str = ""  # the region of the SigV4 credential scope (which regional ECR was asked)


@dataclasses.dataclass(frozen=True)
class StsCall:
    """One STS call as this front saw and answered it (never the token nor a secret key)."""

    action: str
    role_arn: str  # the RoleArn asked for ("" for actions without one)
    external_id: str
    session_name: str
    signer_access_key_id: str  # "" when unsigned
    sub: str = ""  # AssumeRoleWithWebIdentity: the web identity token's claims
    aud: str = ""
    status: int = 200  # the HTTP status answered
    assumed_role_arn: str = ""  # the answer's AssumedRoleUser/Arn, when granted


def signing_key_id(headers) -> str:
    """The access key id in a SigV4 Authorization header's Credential, or "" for an unsigned call."""
    match = re.match(r"AWS4-HMAC-SHA256 .*Credential=([^/,\s]+)/", headers.get("Authorization", ""))
    return match.group(1) if match else ""


def signing_region(headers) -> str:
    """The region of a SigV4 Authorization header's credential scope, or ""."""
    scope = r"AWS4-HMAC-SHA256 .*Credential=[^/,\s]+/[0-9]{8}/([^/,\s]+)/"
    match = re.match(scope, headers.get("Authorization", ""))
    return match.group(1) if match else ""


def jwt_claims(token: str) -> dict:
    """A JWT's payload (base64url), unchecked: the front only records who the token says it is."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def sts_error(code: str, message: str) -> bytes:
    """An error as STS's query protocol sends it: botocore reads Error/Code."""
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


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
        port: int = 0,
    ) -> None:
        self.upstream = upstream
        self.port = port  # 0: a free one
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
        self.failing_regions: set[str] = set()  # answer GetAuthorizationToken there with a 500
        self.throttle(rate, burst)
        self.role_credentials_lifetime: datetime.timedelta | None = None  # answer this instead of moto's
        self.refused_roles: dict[str, str | None] = {}  # role ARN -> AccessDenied message (None: AWS's)
        self._issued: dict[str, tuple[str, str]] = {}  # access key id -> (RoleArn asked, assumed-role ARN)
        # Counters and records.
        self.token_calls = 0  # GetAuthorizationToken calls received (throttled, failed, unsigned included)
        self.throttled = 0  # calls answered with ThrottlingException
        self.failed = 0  # calls answered with an injected error
        self.token_signers: list[Signer] = []  # who signed each signed GetAuthorizationToken
        self.sts_calls: list[StsCall] = []
        self._passwords: dict[str, float] = {}  # sha256 of a docker password -> its expiresAt (epoch s)

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

    def refuse_role(self, role_arn: str, message: str | None = None) -> None:
        """Answer AssumeRole and AssumeRoleWithWebIdentity for `role_arn` with 403 AccessDenied
        (`message`, or the one AWS sends)."""
        self.refused_roles[role_arn] = message

    def allow_role(self, role_arn: str) -> None:
        self.refused_roles.pop(role_arn, None)

    def reset_counters(self) -> None:
        with self._lock:
            self.token_calls = self.throttled = self.failed = 0
            self.token_signers = []
            self.sts_calls = []

    def accepts(self, username: str, password: str) -> bool:
        """Whether a registry should let these docker credentials in: username AWS and a password
        this front answered in a GetAuthorizationToken that has not expired."""
        digest = hashlib.sha256(password.encode()).hexdigest()
        with self._lock:
            expires = self._passwords.get(digest)
        return username == "AWS" and expires is not None and expires > time.time()

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

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
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
        """Forget moto's state (users, keys), the keys issued here, refused roles and the counters."""
        urllib.request.urlopen(
            urllib.request.Request(f"{self.upstream}/moto-api/reset", method="POST"), timeout=5
        )
        with self._lock:
            self._issued = {}
        self.refused_roles = {}
        self.failing_regions = set()
        self.reset_counters()

    # --- one request -----------------------------------------------------------------------

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        if handler.headers.get(TARGET_HEADER):  # ECR's JSON protocol; STS's query protocol has none
            self._handle_ecr(handler, body)
        else:
            self._handle_sts(handler, body)

    def _handle_ecr(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        is_token_call = handler.headers.get(TARGET_HEADER) == GET_TOKEN
        key_id = signing_key_id(handler.headers)
        if is_token_call:
            with self._lock:
                self.token_calls += 1
                if key_id:
                    role_arn = self._issued.get(key_id, ("", ""))[0]
                    session_token = bool(handler.headers.get(SECURITY_TOKEN_HEADER))
                    region = signing_region(handler.headers)
                    self.token_signers.append(Signer(key_id, role_arn, session_token, region))
        if self.latency:
            time.sleep(self.latency)
        if self.unreachable:
            handler.close_connection = True
            return
        if not key_id:  # AWS's answer to an unsigned ECR call
            return self._answer_error(
                handler, 400, "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        status = self._injected_status()
        if is_token_call and signing_region(handler.headers) in self.failing_regions:
            status = 500
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

    def _handle_sts(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        params = {name: values[0] for name, values in urllib.parse.parse_qs(body.decode()).items()}
        action, role_arn = params.get("Action", ""), params.get("RoleArn", "")
        key_id = signing_key_id(handler.headers)
        claims = jwt_claims(params.get("WebIdentityToken", ""))
        aud = claims.get("aud", "")
        headers: dict = {}
        assumed_role_arn = ""
        if not key_id and action != WEB_IDENTITY:
            status = 403
            payload = sts_error("MissingAuthenticationToken", "Request is missing Authentication Token")
        elif action in (ASSUME_ROLE, WEB_IDENTITY) and role_arn in self.refused_roles:
            message = self.refused_roles[role_arn] or self._access_denied_message(action, role_arn, key_id)
            status, payload = 403, sts_error("AccessDenied", message)
        else:
            status, payload, headers = self._forward(handler, body)
            if status == 200 and action in (ASSUME_ROLE, WEB_IDENTITY):
                payload, assumed_role_arn = self._issue(payload, role_arn)
        with self._lock:
            self.sts_calls.append(
                StsCall(
                    action=action,
                    role_arn=role_arn,
                    external_id=params.get("ExternalId", ""),
                    session_name=params.get("RoleSessionName", ""),
                    signer_access_key_id=key_id,
                    sub=str(claims.get("sub", "")),
                    aud=",".join(aud) if isinstance(aud, list) else str(aud),
                    status=status,
                    assumed_role_arn=assumed_role_arn,
                )
            )
        answer_headers = {"Content-Type": headers.get("Content-Type", "text/xml")}
        answer_headers["x-amzn-RequestId"] = headers.get("x-amzn-RequestId") or str(uuid.uuid4())
        self._answer(handler, status, payload, answer_headers)

    def _issue(self, payload: bytes, role_arn: str) -> tuple[bytes, str]:
        """Remember which role the answered key belongs to (before the client can use it) and
        apply `role_credentials_lifetime`. Returns the answer and its assumed-role ARN."""
        root = ElementTree.fromstring(payload)  # noqa: S314 - our own moto_server's answer
        key_id = root.findtext(".//{*}Credentials/{*}AccessKeyId", "")
        assumed_role_arn = root.findtext(".//{*}AssumedRoleUser/{*}Arn", "")
        with self._lock:
            self._issued[key_id] = (role_arn, assumed_role_arn)
        if self.role_credentials_lifetime is not None:
            expires = datetime.datetime.now(datetime.UTC) + self.role_credentials_lifetime
            stamp = expires.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
            # A textual edit: re-serialising the XML would rename its namespace prefixes.
            payload = re.sub(
                rb"<Expiration>[^<]*</Expiration>", b"<Expiration>%s</Expiration>" % stamp, payload
            )
        return payload, assumed_role_arn

    def _access_denied_message(self, action: str, role_arn: str, key_id: str) -> str:
        """The message AWS sends when a role's trust policy does not let the caller in."""
        if action == WEB_IDENTITY:
            return "Not authorized to perform sts:AssumeRoleWithWebIdentity"
        with self._lock:
            caller = self._issued.get(key_id, ("", ""))[1] or MOTO_USER
        return f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"

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
        """expiresAt as AWS answers it: now + 12 h (or the override), in epoch seconds; and a new
        password each call, as AWS's (moto's is the same for every call of an account)."""
        data = json.loads(payload)
        expires = self.expires_at or datetime.datetime.now(datetime.UTC) + self.token_lifetime
        for item in data.get("authorizationData", []):
            item["expiresAt"] = round(expires.timestamp(), 3)
            password = secrets.token_urlsafe(96)
            item["authorizationToken"] = base64.b64encode(f"AWS:{password}".encode()).decode()
            with self._lock:
                self._passwords[hashlib.sha256(password.encode()).hexdigest()] = expires.timestamp()
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


def main() -> None:
    """`python -S -m devstack.ecr PORT`: a LocalECR (and its moto_server) on PORT, its knobs from the
    environment, until SIGTERM."""
    terminate_on_sigterm()
    ecr = LocalECR(port=int(sys.argv[1]))
    ecr.configure_from_env()
    with ecr:
        while True:
            signal.pause()


if __name__ == "__main__":
    main()
