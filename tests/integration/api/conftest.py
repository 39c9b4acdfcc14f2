"""The REST API over the real stack: gunicorn over TLS with the webhooks registered, a worker and a
controller, moto for ECR; plain HTTPS requests (requests) with tokens of users in each role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from .. import stack as shared

static_files, web, stack = shared.static_files, shared.web, shared.stack


class Api(requests.Session):
    """requests against the web role, trusting its CA, with paths relative to its URL."""

    def __init__(self, base_url: str, ca_file: str, token: str | None = None) -> None:
        super().__init__()
        self.trust_env = False  # REQUESTS_CA_BUNDLE would replace `verify`, and proxies are not for loopback
        self.base_url, self.verify = base_url, ca_file
        if token:
            self.headers["Authorization"] = f"Token {token}"

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 60)
        return super().request(method, self.base_url + url, *args, **kwargs)


@pytest.fixture
def api_as(stack) -> Callable[[str | None], Api]:
    """An API session for a new user with a token in `role` ("viewer", "operator"), or in no group
    ("none"), or without any credentials (None)."""
    from django.contrib.auth.models import User

    from secrets_app.services import accounts

    web = stack["web"]

    def make(role: str | None) -> Api:
        if role is None:
            return Api(web.url, str(web.ca_file))
        name = f"{role}-{User.objects.count()}"
        if role == "none":
            User.objects.create_user(name)
            token = accounts.api_token(name)
        else:
            token = accounts.api_token(name, role=role)
        return Api(web.url, str(web.ca_file), token)

    return make


@pytest.fixture
def operator_api(api_as) -> Api:
    return api_as("operator")
