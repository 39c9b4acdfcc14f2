"""The local ECR answers unmodified boto3 like AWS: a 12 h expiry, throttling, 5xx errors, latency,
signed calls only; and STS through the same front, recording who assumed which role."""

from __future__ import annotations

import base64
import datetime
import json
import time

import boto3
import botocore
import botocore.config
import botocore.exceptions
import pytest

from devstack.ecr import LocalECR, Signer

ONE_ATTEMPT = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
UNSIGNED = botocore.config.Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1})
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"


def client(ecr: LocalECR, service: str = "ecr", config=ONE_ATTEMPT, **credentials: str):
    credentials = credentials or {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "example"}
    return boto3.client(service, endpoint_url=ecr.url, region_name="eu-west-1", config=config, **credentials)


def unsigned(ecr: LocalECR, service: str = "ecr"):
    return boto3.client(service, endpoint_url=ecr.url, region_name="eu-west-1", config=UNSIGNED)


def web_identity_token(sub: str, aud: str) -> str:
    """A service account token's shape (header.payload.signature, base64url); moto checks no signature."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"iss": "https://oidc.example", "sub": sub, "aud": aud, "exp": int(time.time()) + 3600}
    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def test_a_token_decodes_to_aws_and_a_password_and_expires_12_hours_ahead(ecr):
    data = client(ecr).get_authorization_token()["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert username == "AWS" and password
    assert data["proxyEndpoint"].startswith("https://")
    left = data["expiresAt"] - now()
    assert datetime.timedelta(hours=11, minutes=59) < left <= datetime.timedelta(hours=12)
    assert ecr.token_calls == 1


def test_an_expiry_override_stands_for_clock_skew(ecr):
    ecr.expires_at = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)
    data = client(ecr).get_authorization_token()["authorizationData"][0]
    assert data["expiresAt"] == ecr.expires_at


def test_above_the_rate_calls_are_throttled_as_aws_does_and_recover(ecr):
    ecr.throttle(rate=2, burst=3)
    ecr_client = client(ecr)
    codes = []
    for _ in range(6):
        try:
            ecr_client.get_authorization_token()
            codes.append("ok")
        except botocore.exceptions.ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert exc.response["Error"]["Message"] == "Rate exceeded"
    assert codes[:3] == ["ok"] * 3  # the burst
    assert "ThrottlingException" in codes[3:]
    assert ecr.throttled == codes.count("ThrottlingException")
    time.sleep(0.6)  # the bucket refills at 2 per second
    ecr_client.get_authorization_token()


def test_the_default_throttle_is_aws_quota_20_per_second_bursts_of_200(ecr):
    assert (ecr.bucket.rate, ecr.bucket.burst) == (20, 200)


@pytest.mark.parametrize(("status", "code"), [(500, "ServerException"), (503, "ServiceUnavailableException")])
def test_server_errors_on_demand(ecr, status, code):
    ecr.fail_with = status
    with pytest.raises(botocore.exceptions.ClientError) as error:
        client(ecr).get_authorization_token()
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.value.response["Error"]["Code"] == code
    ecr.fail_with = None
    client(ecr).get_authorization_token()
    assert (ecr.token_calls, ecr.failed) == (2, 1)


def test_added_latency(ecr):
    ecr.latency = 0.3
    started = time.monotonic()
    client(ecr).get_authorization_token()
    assert time.monotonic() - started >= 0.3


def test_knobs_from_the_environment_for_make_run(ecr):
    ecr.configure_from_env(
        {
            "ECRCONTROL_LOCAL_ECR_RATE": "5",
            "ECRCONTROL_LOCAL_ECR_BURST": "10",
            "ECRCONTROL_LOCAL_ECR_LATENCY_SECONDS": "0.25",
            "ECRCONTROL_LOCAL_ECR_ERROR_RATE": "0.1",
        }
    )
    assert (ecr.bucket.rate, ecr.bucket.burst, ecr.latency, ecr.error_rate) == (5, 10, 0.25, 0.1)


def test_an_unsigned_token_call_is_refused_with_missing_authentication_token_and_records_no_signer(ecr):
    with pytest.raises(botocore.exceptions.ClientError) as error:
        unsigned(ecr).get_authorization_token()
    assert error.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert error.value.response["Error"]["Message"] == "Missing Authentication Token"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (ecr.token_calls, ecr.token_signers) == (1, [])


def test_a_signed_token_call_records_the_access_key_that_signed_it(ecr):
    client(ecr).get_authorization_token()
    assert ecr.token_signers == [
        Signer(access_key_id="AKIAEXAMPLE", role_arn="", session_token=False, region="eu-west-1")
    ]


def test_each_token_call_answers_a_new_password_as_aws_does(ecr):
    first, second = (client(ecr).get_authorization_token()["authorizationData"][0] for _ in range(2))
    assert first["authorizationToken"] != second["authorizationToken"]
    assert base64.b64decode(first["authorizationToken"]).decode().startswith("AWS:")


def test_a_region_made_to_fail_answers_500_there_and_nowhere_else(ecr):
    ecr.failing_regions = {"eu-west-1"}
    with pytest.raises(botocore.exceptions.ClientError) as error:
        client(ecr).get_authorization_token()
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    east = boto3.client(
        "ecr",
        endpoint_url=ecr.url,
        region_name="us-east-1",
        config=ONE_ATTEMPT,
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="example",
    )
    assert east.get_authorization_token()["authorizationData"]
    assert [s.region for s in ecr.token_signers] == ["eu-west-1", "us-east-1"]


def test_an_unsigned_assume_role_is_refused_as_sts_does(ecr):
    with pytest.raises(botocore.exceptions.ClientError) as error:
        unsigned(ecr, "sts").assume_role(RoleArn=ROLE, RoleSessionName="nobody")
    assert error.value.response["Error"]["Code"] == "MissingAuthenticationToken"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert [(call.action, call.signer_access_key_id, call.status) for call in ecr.sts_calls] == [
        ("AssumeRole", "", 403)
    ]


def test_a_token_call_signed_with_assumed_role_credentials_records_that_role(ecr):
    answer = client(ecr, "sts").assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol", ExternalId="tenant-7")
    credentials = answer["Credentials"]
    client(
        ecr,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).get_authorization_token()
    assert ecr.token_signers == [
        Signer(credentials["AccessKeyId"], role_arn=ROLE, session_token=True, region="eu-west-1")
    ]
    [call] = ecr.sts_calls
    assert (call.action, call.role_arn, call.external_id, call.session_name, call.signer_access_key_id) == (
        "AssumeRole",
        ROLE,
        "tenant-7",
        "ecrcontrol",
        "AKIAEXAMPLE",
    )
    assert call.assumed_role_arn == answer["AssumedRoleUser"]["Arn"]
    recorded = repr(ecr.sts_calls) + repr(ecr.token_signers)
    assert credentials["SecretAccessKey"] not in recorded and credentials["SessionToken"] not in recorded


def test_an_unsigned_assume_role_with_web_identity_is_allowed_and_records_the_tokens_subject(ecr):
    token = web_identity_token("system:serviceaccount:team-a:puller", "sts.amazonaws.com")
    answer = unsigned(ecr, "sts").assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="ecrcontrol", WebIdentityToken=token
    )
    credentials = answer["Credentials"]
    client(
        ecr,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).get_authorization_token()
    [call] = ecr.sts_calls
    assert (call.action, call.role_arn, call.signer_access_key_id, call.status) == (
        "AssumeRoleWithWebIdentity",
        ROLE,
        "",
        200,
    )
    assert (call.sub, call.aud) == ("system:serviceaccount:team-a:puller", "sts.amazonaws.com")
    assert token not in repr(call)
    assert ecr.token_signers == [
        Signer(credentials["AccessKeyId"], role_arn=ROLE, session_token=True, region="eu-west-1")
    ]


def test_a_refused_role_answers_access_denied_until_allowed_again(ecr):
    sts = client(ecr, "sts")
    ecr.refuse_role(ROLE, message="the trust policy does not name this account")
    with pytest.raises(botocore.exceptions.ClientError) as error:
        sts.assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert error.value.response["Error"]["Message"] == "the trust policy does not name this account"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(botocore.exceptions.ClientError) as error:
        unsigned(ecr, "sts").assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="ecrcontrol", WebIdentityToken=web_identity_token("s", "a")
        )
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    ecr.allow_role(ROLE)
    sts.assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol")
    assert [call.status for call in ecr.sts_calls] == [403, 403, 200]


def test_a_refused_role_without_a_message_answers_what_aws_answers(ecr):
    ecr.refuse_role(ROLE)
    with pytest.raises(botocore.exceptions.ClientError) as error:
        client(ecr, "sts").assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol")
    assert error.value.response["Error"]["Message"] == (
        "User: arn:aws:iam::123456789012:user/moto is not authorized to perform: sts:AssumeRole"
        f" on resource: {ROLE}"
    )


def test_role_credentials_expire_duration_seconds_ahead_unless_their_lifetime_is_set(ecr):
    sts = client(ecr, "sts")
    expiration = sts.assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol", DurationSeconds=900)[
        "Credentials"
    ]["Expiration"]
    assert datetime.timedelta(minutes=14) < expiration - now() <= datetime.timedelta(minutes=15)
    ecr.role_credentials_lifetime = datetime.timedelta(seconds=30)
    expiration = sts.assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol")["Credentials"]["Expiration"]
    assert datetime.timedelta(seconds=25) < expiration - now() <= datetime.timedelta(seconds=30)


def test_sts_is_not_throttled_nor_failed_by_the_ecr_knobs(ecr):
    ecr.throttle(rate=1, burst=1)
    ecr.fail_with = 503
    sts = client(ecr, "sts")
    for _ in range(3):
        sts.assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol")
    assert sts.get_caller_identity()["Arn"]
    assert [call.action for call in ecr.sts_calls] == ["AssumeRole"] * 3 + ["GetCallerIdentity"]


def test_reset_forgets_refusals_and_records(ecr):
    ecr.refuse_role(ROLE)
    client(ecr).get_authorization_token()
    with pytest.raises(botocore.exceptions.ClientError):
        client(ecr, "sts").assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol")
    ecr.reset()
    assert (ecr.token_calls, ecr.token_signers, ecr.sts_calls, ecr.refused_roles) == (0, [], [], {})
    client(ecr, "sts").assume_role(RoleArn=ROLE, RoleSessionName="ecrcontrol")
