"""Schemathesis against the live web role (gunicorn over TLS, webhooks registered): for every
operation in /api/schema/, a bounded number of generated requests, valid and invalid, as an
operator. No 5xx, every status code and header documented, every body as the schema says.

Figures (examples tried, answers by status) are printed at the end of the run.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from ..helpers import delete_all_resources

MAX_EXAMPLES = 15  # per operation and phase: the run stays within a few minutes on 2 busy cores
ANSWERS: collections.Counter = collections.Counter()


@pytest.fixture
def api_schema(web, transactional_db, kube_api) -> Iterator:
    from secrets_app import roles
    from secrets_app.models import Cluster

    roles.ensure_groups()  # after the flush of an earlier test
    Cluster.default()
    yield schemathesis.openapi.from_url(f"{web.url}/api/schema/?format=json", verify=str(web.ca_file))
    delete_all_resources(kube_api)
    print(f"\nschemathesis: {sum(ANSWERS.values())} requests; by status: {dict(sorted(ANSWERS.items()))}")


@pytest.fixture
def operator_session(web, api_schema) -> requests.Session:
    from secrets_app.services import accounts

    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace `verify`, and proxies are not for loopback
    session.verify = str(web.ca_file)
    session.headers["Authorization"] = f"Token {accounts.api_token('schemathesis', role='operator')}"
    return session


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_the_schema_says(case, operator_session, web):
    response = case.call_and_validate(
        session=operator_session, base_url=web.url, verify=str(web.ca_file), timeout=60
    )
    ANSWERS[response.status_code] += 1
