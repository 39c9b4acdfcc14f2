"""The local ECR endpoint is reached by unmodified boto3 through its standard endpoint setting."""

import base64
import datetime

import boto3


def test_get_authorization_token_decodes_to_aws_and_a_password(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", moto_server.url)
    ecr = boto3.client(
        "ecr", region_name="eu-west-1", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="example"
    )
    data = ecr.get_authorization_token()["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert username == "AWS"
    assert password
    assert data["proxyEndpoint"].startswith("https://")


def test_moto_reports_an_expiry_in_the_past(moto_server, monkeypatch):
    """Documents moto's behaviour that the refresh logic must cope with (see DESIGN.md)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", moto_server.url)
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
    expires = ecr.get_authorization_token()["authorizationData"][0]["expiresAt"]
    assert expires < datetime.datetime.now(datetime.UTC)
