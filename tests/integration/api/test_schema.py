"""Schemathesis (its CLI) against the live web role (gunicorn over TLS, webhooks registered, a
worker and a controller): for every operation in /api/schema/, a bounded number of generated
requests, valid and invalid, as an operator, with its checks: no 5xx, every status code, header and
content type documented, every body as the schema says, invalid input refused, authentication not
ignored, unsupported methods refused. Path ids are drawn partly from resources that really exist
(created through the API first), so that changes and deletes reach the cluster, not only 404s.

Left out: `positive_data_acceptance`, which expects every schema-valid request to succeed. Whether
a write succeeds depends on what no schema can say (the cluster named exists, the namespace exists
in it, the Secret name is free, ECR accepts the key); the API answers those with a 400 on the field.

Its summary (operations, test cases, failures) is printed; its log and JSON report stay in var/test/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.settings import BASE_DIR

from ..helpers import CANARY_SECRET, wait_for

MAX_EXAMPLES = 15  # per operation and phase: the run stays within a few minutes on 2 busy cores
MAX_SECONDS = 600
REPORT = BASE_DIR / "var" / "test" / "schemathesis.json"
LOG = BASE_DIR / "var" / "test" / "schemathesis.log"
# A write with a stale If-Match is refused with 412 before its body is read (RFC 9110 evaluates
# preconditions before the request content), so an invalid body may be answered 412: nothing is
# written either way. The rest is schemathesis's default list.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 412, 415, 422, 428, 429, "5xx"]

[dictionaries.aeps]
values = [{aeps}]
[dictionaries.caeps]
values = [{caeps}]
[dictionaries.secrets]
values = [{secret}]
[dictionaries.clusters]
values = [{cluster}]

[[operations]]
include-path-regex = "^/api/v1/awsecrimagepullsecrets/[{{]"
parameters = {{ "path.id" = {{ dictionary = "aeps", probability = 0.5 }} }}
[[operations]]
include-path-regex = "^/api/v1/clusterawsecrimagepullsecrets/[{{]"
parameters = {{ "path.id" = {{ dictionary = "caeps", probability = 0.5 }} }}
[[operations]]
include-path-regex = "^/api/v1/secrets/[{{]"
parameters = {{ "path.id" = {{ dictionary = "secrets", probability = 0.5 }} }}
[[operations]]
include-path-regex = "^/api/v1/clusters/[{{]"
parameters = {{ "path.id" = {{ dictionary = "clusters", probability = 0.5 }} }}
"""


def real_resources(api, namespace: str) -> dict[str, int]:
    """One resource of each kind in the cluster, a Secret and the cluster: their ids."""
    access = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": CANARY_SECRET, "region": "eu-west-1"}
    aeps = api.post(
        "/api/v1/awsecrimagepullsecrets/",
        json={
            "metadata": {"name": "fuzzed", "namespace": namespace},
            "spec": {"awsAccess": access, "secretName": "a"},
        },
    )
    caeps = api.post(
        "/api/v1/clusterawsecrimagepullsecrets/",
        json={
            "metadata": {"name": "fuzzed"},
            "spec": {"awsAccess": access, "secretName": "b", "namespaces": [namespace]},
        },
    )
    assert (aeps.status_code, caeps.status_code) == (201, 201), (aeps.text, caeps.text)
    secrets = wait_for(
        lambda: api.get("/api/v1/secrets/", params={"namespace": namespace}).json()["results"], 60
    )
    cluster = api.get("/api/v1/clusters/").json()["results"][0]["id"]
    return {
        "aeps": aeps.json()["id"],
        "caeps": caeps.json()["id"],
        "secret": secrets[0]["id"],
        "cluster": cluster,
    }


@pytest.mark.timeout(MAX_SECONDS + 120)
def test_every_operation_answers_as_the_schema_says(stack, operator_api, namespace, tmp_path):
    from secrets_app.services import accounts

    web = stack["web"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(**real_resources(operator_api, namespace)))
    token = accounts.api_token("schemathesis", role="operator")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        f"--config-file={config}",
        "run",
        f"{web.url}/api/schema/?format=json",
        f"--header=Authorization: Token {token}",
        f"--tls-verify={web.ca_file}",
        f"--max-examples={MAX_EXAMPLES}",
        "--checks=all",
        "--exclude-checks=positive_data_acceptance",
        "--workers=1",
        "--seed=20261130",
        "--generation-database=none",
        "--no-color",
        "--report=json",
        f"--report-json-path={REPORT}",
    ]
    with LOG.open("w") as log:
        run = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=MAX_SECONDS, cwd=BASE_DIR)
    output = LOG.read_text()
    print(output[output.find("=== SUMMARY") - 40 :] if "=== SUMMARY" in output else output[-3000:])
    assert run.returncode == 0, f"schemathesis found problems (all of it in {LOG}):\n{output[-20000:]}"
