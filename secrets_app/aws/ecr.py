"""ECR authorization tokens and STS role credentials through boto3: the only module that calls AWS.

The endpoints come from boto3's own configuration (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS,
AWS_ENDPOINT_URL or the config file), as for any AWS tool: a VPC endpoint, an emulator, or the
real service. The operator's own credentials ("ambient") are boto3's default chain: environment,
the web identity token file IRSA injects, EKS Pod Identity, the instance profile.
"""

from __future__ import annotations

import base64
import datetime
import functools
import re
import threading
from dataclasses import dataclass

import boto3
import botocore
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
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
}

CLIENT_CONFIG = botocore.config.Config(
    connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}
)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = ""
    region: str = ""
    session_token: str = ""  # temporary credentials (a role's, a Secret's)

    def __repr__(self) -> str:  # never show the secret key nor the session token, not even in a traceback
        return f"Credentials(access_key_id={self.access_key_id!r}, region={self.region!r})"


@dataclass(frozen=True)
class RoleCredentials:
    """A role's temporary credentials and when they expire."""

    credentials: Credentials
    expires_at: datetime.datetime

    def __repr__(self) -> str:
        return f"RoleCredentials({self.credentials!r}, expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True)
class Token:
    registry: str  # host name, without scheme
    username: str
    password: str
    expires_at: datetime.datetime
    issued_at: datetime.datetime

    def __repr__(self) -> str:
        return f"Token(registry={self.registry!r}, expires_at={self.expires_at.isoformat()})"


# The status reasons of the two AWS steps that can fail (the seed's, and the assumed role's).
GET_TOKEN_FAILED = "GetAWSAuthTokenFailed"
ASSUME_ROLE_FAILED = "AssumeRoleFailed"


class ECRError(Exception):
    """Getting a token (or the role credentials for it) failed. `permanent`: the credentials or
    the role were refused; do not retry soon. `reason`: which step failed, as a status reason."""

    def __init__(
        self, message: str, *, permanent: bool, code: str = "", reason: str = GET_TOKEN_FAILED
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.reason = reason
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


def _error(service: str, refused: str, exc: Exception, reason: str) -> ECRError:
    """An ECRError from a botocore exception: permanent when AWS refused, temporary otherwise."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code, message = _error_code_and_message(exc.response)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        permanent = code in PERMANENT_CODES or status in (401, 403)
        what = refused if permanent else "returned an error"
        return ECRError(f"{service} {what}: {code}: {message}", permanent=permanent, code=code, reason=reason)
    code = type(exc).__name__
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        message = (
            "the operator has no AWS credentials of its own (environment, IRSA, EKS Pod Identity or "
            "an instance profile): give it some, or reference keys or a ServiceAccount in spec.awsAccess"
        )
        return ECRError(message, permanent=True, code=code, reason=reason)
    return ECRError(f"{service} could not be reached: {exc}", permanent=False, code=code, reason=reason)


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
    ecr = _client("ecr", credentials.region, credentials, config)
    # Whole seconds, as the Secret's annotations record them: a worker that takes the token from
    # a Secret (services.identity.tokens) then computes the same refresh point as the one that fetched it.
    issued_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    try:
        data = ecr.get_authorization_token()["authorizationData"][0]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        error = _error("ECR", "rejected the credentials", exc, GET_TOKEN_FAILED)
        ECR_REQUESTS.labels(outcome="rejected" if error.permanent else "error", error_code=error.code).inc()
        raise error from None
    ECR_REQUESTS.labels(outcome="success", error_code="").inc()
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return Token(
        registry=data["proxyEndpoint"].removeprefix("https://").removeprefix("http://").rstrip("/"),
        username=username,
        password=password,
        expires_at=data["expiresAt"].astimezone(datetime.UTC).replace(microsecond=0),
        issued_at=issued_at,
    )


def _client(service: str, region: str, credentials: Credentials | None, config=CLIENT_CONFIG):
    """A client signed with `credentials`; None: the operator's own (boto3's default chain);
    the unsigned client of AssumeRoleWithWebIdentity passes its own config."""
    keys = {}
    if credentials is not None:
        keys = {
            "aws_access_key_id": credentials.access_key_id,
            "aws_secret_access_key": credentials.secret_access_key,
            "aws_session_token": credentials.session_token or None,
        }
    with _session_lock:  # boto3 sessions are not thread-safe; creating a client from one is quick
        return _session().client(service, region_name=region, config=config, **keys)


def _role_credentials(answer: dict, region: str) -> RoleCredentials:
    found = answer["Credentials"]
    return RoleCredentials(
        Credentials(found["AccessKeyId"], found["SecretAccessKey"], region, found["SessionToken"]),
        found["Expiration"].astimezone(datetime.UTC),
    )


def assume_role(
    base: Credentials | None, region: str, role_arn: str, session_name: str, external_id: str = ""
) -> RoleCredentials:
    """STS AssumeRole from `base` (None: the operator's own credentials)."""
    extra = {"ExternalId": external_id} if external_id else {}
    try:
        answer = _client("sts", region, base).assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, **extra
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _error("STS", "refused to assume the role", exc, ASSUME_ROLE_FAILED) from None
    return _role_credentials(answer, region)


def assume_role_with_web_identity(
    region: str, role_arn: str, session_name: str, web_identity_token: str
) -> RoleCredentials:
    """STS AssumeRoleWithWebIdentity: an unsigned call, authenticated by the token itself."""
    config = CLIENT_CONFIG.merge(botocore.config.Config(signature_version=botocore.UNSIGNED))
    try:
        answer = _client("sts", region, None, config).assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName=session_name, WebIdentityToken=web_identity_token
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _error("STS", "refused to assume the role", exc, ASSUME_ROLE_FAILED) from None
    return _role_credentials(answer, region)


def ambient_credentials(region: str) -> Credentials:
    """The operator's own credentials as they are now (boto3's default chain refreshes them)."""
    try:
        with _session_lock:
            found = _session().get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
    except botocore.exceptions.BotoCoreError as exc:
        raise _error("AWS", "refused", exc, GET_TOKEN_FAILED) from None
    if frozen is None or not frozen.access_key:
        raise _error("AWS", "refused", botocore.exceptions.NoCredentialsError(), GET_TOKEN_FAILED)
    return Credentials(frozen.access_key, frozen.secret_key, region, frozen.token or "")
