"""The local ECR answers unmodified boto3 like AWS: a 12 h expiry, throttling, 5xx errors, latency."""

from __future__ import annotations

import base64
import datetime
import time

import boto3
import botocore.config
import botocore.exceptions
import pytest

from devstack.ecr import LocalECR

ONE_ATTEMPT = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(ecr: LocalECR):
    return boto3.client(
        "ecr",
        endpoint_url=ecr.url,
        region_name="eu-west-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="example",
        config=ONE_ATTEMPT,
    )


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
