"""ECR authorization tokens through boto3.

The endpoint comes from boto3's own configuration (AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL or
the config file), as for any AWS tool: a VPC endpoint, an emulator, or the real service.
"""

from __future__ import annotations

import base64
import datetime
import functools
import re
import threading
from dataclasses import dataclass

import boto3
import botocore.config
import botocore.exceptions

from ..monitoring.metrics import ECR_REQUESTS

# Error codes that mean "these credentials will not work until someone changes something".
PERMANENT_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AccessDeniedException",
    "AccessDenied",
    "AuthFailure",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "UnauthorizedOperation",
}

CLIENT_CONFIG = botocore.config.Config(
    connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}
)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = ""
    region: str = ""

    def __repr__(self) -> str:  # never show the secret key, not even in a traceback
        return f"Credentials(access_key_id={self.access_key_id!r}, region={self.region!r})"


@dataclass(frozen=True)
class Token:
    registry: str  # host name, without scheme
    username: str
    password: str
    expires_at: datetime.datetime
    issued_at: datetime.datetime

    def __repr__(self) -> str:
        return f"Token(registry={self.registry!r}, expires_at={self.expires_at.isoformat()})"


class ECRError(Exception):
    """Getting a token failed. `permanent`: the credentials were rejected; do not retry soon."""

    def __init__(self, message: str, *, permanent: bool, code: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_at: datetime.datetime | None = None  # set by a cache that remembers the failure


def _error_code_and_message(response: dict) -> tuple[str, str]:
    """The error's code and message. An XML error body that botocore could not parse for this
    JSON service (some proxies and emulators send one) still yields its <Code> and <Message>."""
    error = response.get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", "")
    if message.lstrip().startswith("<"):
        found = {tag: re.search(rf"<{tag}>(.*?)</{tag}>", message, re.S) for tag in ("Code", "Message")}
        code = found["Code"].group(1) if found["Code"] else code
        message = found["Message"].group(1) if found["Message"] else ""
    return code, message


_session_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """One session per process: it loads ECR's service model once (a new session per call costs
    about 50 ms of the webhook's latency). Each call still gets its own client and credentials."""
    return boto3.session.Session()


def get_token(credentials: Credentials, timeout: float | None = None) -> Token:
    """One GetAuthorizationToken call. With a `timeout` (a caller with a deadline, such as the
    webhook), one attempt bounded by it; without, the client's retries for temporary errors."""
    config = CLIENT_CONFIG
    if timeout:
        config = config.merge(
            botocore.config.Config(
                # total_max_attempts counts the first try; botocore's max_attempts would not.
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"total_max_attempts": 1, "mode": "standard"},
            )
        )
    with _session_lock:  # boto3 sessions are not thread-safe; creating a client from one is quick
        ecr = _session().client(
            "ecr",
            region_name=credentials.region,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            config=config,
        )
    # Whole seconds, as the Secret's annotations record them: a worker that takes the token from
    # a Secret (services.identity.tokens) then computes the same refresh point as the one that fetched it.
    issued_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    try:
        data = ecr.get_authorization_token()["authorizationData"][0]
    except botocore.exceptions.ClientError as exc:
        code, message = _error_code_and_message(exc.response)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        permanent = code in PERMANENT_CODES or status in (401, 403)
        what = "rejected the credentials" if permanent else "returned an error"
        ECR_REQUESTS.labels(outcome="rejected" if permanent else "error", error_code=code).inc()
        raise ECRError(f"ECR {what}: {code}: {message}", permanent=permanent, code=code) from None
    except botocore.exceptions.BotoCoreError as exc:
        ECR_REQUESTS.labels(outcome="error", error_code=type(exc).__name__).inc()
        raise ECRError(f"ECR could not be reached: {exc}", permanent=False, code=type(exc).__name__) from None
    ECR_REQUESTS.labels(outcome="success", error_code="").inc()
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return Token(
        registry=data["proxyEndpoint"].removeprefix("https://").removeprefix("http://").rstrip("/"),
        username=username,
        password=password,
        expires_at=data["expiresAt"].astimezone(datetime.UTC).replace(microsecond=0),
        issued_at=issued_at,
    )
