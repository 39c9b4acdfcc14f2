"""The Helm chart lints and its schema rejects unknown values (with the helm binary we build)."""

import subprocess

import pytest
import yaml

from devstack import binaries
from secrets_app.webhooks import registration
from tests.settings import BASE_DIR

CHART = BASE_DIR / "chart"


def helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binaries.ensure_binaries() / "helm"), *args], capture_output=True, text=True, check=False
    )


def test_chart_lints_cleanly():
    result = helm("lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_misspelled_value_fails_at_template_time():
    result = helm("template", "x", str(CHART), "--set", "imag.tag=1")
    assert result.returncode != 0
    assert "imag" in result.stderr and "additional properties" in result.stderr.lower()


def template(*args: str) -> subprocess.CompletedProcess:
    return helm("template", "rel", str(CHART), "--namespace", "tools", *args)


def manifests(*args: str) -> list[dict]:
    result = template(*args)
    assert result.returncode == 0, result.stderr
    return [m for m in yaml.safe_load_all(result.stdout) if m]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def test_default_install_is_one_pod_with_the_three_roles_on_a_persistent_volume():
    docs = manifests()
    (deployment,) = by_kind(docs, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    # One process for the three roles: gunicorn's worker hosts the controller and the worker.
    (container,) = spec["containers"]
    assert container["name"] == "ecrcontrol" and container["command"][0] == "gunicorn"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ECRCONTROL_EMBEDDED"] == "1" and env["ECRCONTROL_LEADER_ELECTION"] == "1"
    assert [c["name"] for c in spec["initContainers"]] == ["ensure-admin", "webhook-certs"]
    assert spec["initContainers"][1]["restartPolicy"] == "Always"  # a native sidecar
    assert "migrate" in " ".join(spec["initContainers"][0]["command"])
    (claim,) = by_kind(docs, "PersistentVolumeClaim")
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert not by_kind(docs, "Job")
    for container in spec["containers"] + spec["initContainers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] and security["runAsNonRoot"], container["name"]
        assert security["capabilities"]["drop"] == ["ALL"]


def test_external_database_mode_scales_web_and_worker_and_migrates_in_a_hook():
    docs = manifests(
        "--set",
        "database.mode=external",
        "--set",
        "database.external.existingSecret=db",
        "--set",
        "web.replicas=3",
        "--set",
        "worker.replicas=2",
        "--set",
        "redis.existingSecret=redis",
    )
    replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in by_kind(docs, "Deployment")}
    assert replicas == {"rel-ecrcontrol-web": 3, "rel-ecrcontrol-worker": 2, "rel-ecrcontrol-controller": 1}
    (job,) = by_kind(docs, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert not by_kind(docs, "PersistentVolumeClaim")
    worker = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("worker"))
    env = {e["name"]: e for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "db", "key": "DATABASE_URL"}
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "redis", "key": "REDIS_URL"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--set", "web.replicas=2"], "/web/replicas': value must be 1"),
        (["--set", "worker.replicas=2"], "/worker/replicas': value must be 1"),
        (["--set", "redis.existingSecret=r"], "/redis/existingSecret"),
        (["--set", "database.mode=external"], "/database/external/existingSecret"),
        (["--set", "database.mode=mysql"], "/database/mode"),
        (["--set", "webhooks.tls=manual"], "/webhooks/tls"),
        (["--set", "web.port=80"], "/web/port"),
        (["--set", "aws.ambientCredentials=sometimes"], "/aws/ambientCredentials"),
        (["--set", "aws.ambient=all"], "additional properties 'ambient' not allowed"),
        (["--set", "extraVolumeMounts[0].name=x"], "/extraVolumeMounts/0"),  # no mountPath
    ],
)
def test_the_schema_refuses_combinations_that_cannot_work(args, words):
    result = template(*args)
    assert result.returncode != 0, f"{args} was accepted"
    assert words in result.stderr, result.stderr


def test_webhooks_match_the_registration_code():
    """The chart's webhook configurations call the same paths with the same rules and policies as
    secrets_app/webhooks/registration.py, only through the Service instead of a URL."""
    docs = manifests()
    expected = {c["kind"]: c["webhooks"][0] for c in registration.configurations("https://x", b"ca")}
    for kind, want in expected.items():
        (config,) = by_kind(docs, kind)
        (got,) = config["webhooks"]
        path = want["clientConfig"]["url"].removeprefix("https://x")
        assert got["clientConfig"]["service"] == {
            "name": "rel-ecrcontrol",
            "namespace": "tools",
            "path": path,
            "port": 443,
        }
        strip = ("clientConfig",)
        assert {k: v for k, v in got.items() if k not in strip} == {
            k: v for k, v in want.items() if k not in strip
        }, kind


def test_cert_manager_mode_requests_a_certificate_and_injects_its_ca():
    docs = manifests("--set", "webhooks.tls=cert-manager")
    (certificate,) = by_kind(docs, "Certificate")
    assert certificate["spec"]["secretName"] == "rel-ecrcontrol-webhook-tls"
    assert "rel-ecrcontrol.tools.svc" in certificate["spec"]["dnsNames"]
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        (config,) = by_kind(docs, kind)
        assert (
            config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
            == "tools/rel-ecrcontrol-webhook"
        )
    (deployment,) = by_kind(docs, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["ensure-admin"]
    tls = next(v for v in spec["volumes"] if v["name"] == "tls")
    assert tls["secret"]["secretName"] == "rel-ecrcontrol-webhook-tls"
    rules = by_kind(docs, "ClusterRole")[0]["rules"]
    assert not [r for r in rules if "admissionregistration.k8s.io" in r["apiGroups"]]


def test_every_value_is_documented_in_the_readme_table():
    import re

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, re.M))

    def leaves(node, prefix=""):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and value and key not in ("issuerRef",):
                yield from leaves(value, path + ".")
            else:
                yield path

    missing = set(leaves(values)) - documented
    assert not missing, f"values missing from chart/README.md: {sorted(missing)}"


def test_ingress_is_optional_and_its_host_is_allowed():
    assert not by_kind(manifests(), "Ingress")
    docs = manifests("--set", "ingress.enabled=true", "--set", "ingress.host=ecr.example.org")
    (ingress,) = by_kind(docs, "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "ecr.example.org"
    (deployment,) = by_kind(docs, "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "ecr.example.org" in env["DJANGO_ALLOWED_HOSTS"].split(",")


EXTERNAL = ("--set", "database.mode=external", "--set", "database.external.existingSecret=db")


def test_controller_replicas_elect_a_leader_with_a_lease_they_may_only_touch_by_name():
    docs = manifests(*EXTERNAL, "--set", "controller.replicas=2")
    controller = next(
        d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "rel-ecrcontrol-controller"
    )
    assert controller["spec"]["replicas"] == 2
    (container,) = controller["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["ECRCONTROL_LEADER_ELECTION"]["value"] == "1"
    assert env["ECRCONTROL_LEADER_ELECTION_NAME"]["value"] == "rel-ecrcontrol-controller"
    (role,) = [r for r in by_kind(docs, "Role") if r["metadata"]["name"].endswith("leader-election")]
    assert role["metadata"]["namespace"] == "tools"
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["rel-ecrcontrol-controller"],
            "verbs": ["get", "update"],
        },
    ]
    cluster_rules = by_kind(docs, "ClusterRole")[0]["rules"]
    assert not any("leases" in rule["resources"] for rule in cluster_rules)  # no cluster-wide Lease access


def test_standby_controllers_need_postgresql_and_leader_election():
    assert "value must be 1" in template("--set", "controller.replicas=2").stderr
    refused = template(
        *EXTERNAL, "--set", "controller.replicas=2", "--set", "controller.leaderElection.enabled=false"
    )
    assert refused.returncode != 0 and "leaderElection" in refused.stderr


@pytest.mark.parametrize("mode", ["sqlite", "external"])
def test_every_role_has_readiness_and_liveness_probes_and_a_metrics_port(mode):
    args = EXTERNAL if mode == "external" else ()
    docs = manifests(*args, "--set", "metrics.scrapeAnnotations=true")
    containers = {}
    for deployment in by_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
        ports = {c["name"]: c for c in pod["spec"]["containers"]}
        scraped = int(pod["metadata"]["annotations"]["prometheus.io/port"])
        assert any(p["containerPort"] == scraped for c in ports.values() for p in c.get("ports", []))
        containers.update(ports)
    roles = {"web", "worker", "controller"} if mode == "external" else {"ecrcontrol"}
    assert set(containers) == roles
    for name, container in containers.items():
        ready, live = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
        assert (ready["path"], live["path"]) == ("/readyz", "/healthz"), name
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/prometheus"
        assert env["ECRCONTROL_METRICS_BIND"].startswith("0.0.0.0:")
    if mode == "external":
        assert containers["worker"]["command"][-1] == "worker"


def containers_of(docs: list[dict]) -> list[dict]:
    """Every container (init containers too) of the chart's Deployments."""
    found = []
    for deployment in by_kind(docs, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        found += spec["containers"] + spec.get("initContainers", [])
    return found


@pytest.mark.parametrize("mode", ["sqlite", "external"])
def test_every_container_knows_who_may_use_the_operators_own_aws_identity(mode, tmp_path):
    args = EXTERNAL if mode == "external" else ()

    def policies(*more: str) -> set[str]:
        return {
            next(e["value"] for e in c["env"] if e["name"] == "ECRCONTROL_AMBIENT_CREDENTIALS")
            for c in containers_of(manifests(*args, *more))
        }

    assert policies() == {"cluster"}  # the default: ClusterAWSECRImagePullSecrets only
    assert policies("--set", "aws.ambientCredentials=all") == {"all"}
    values = tmp_path / "values.yaml"
    values.write_text("aws:\n  ambientCredentials: off\n")  # YAML 1.1 reads an unquoted off as false
    assert policies("-f", str(values)) == {"off"}


def test_the_service_account_may_request_tokens_and_patch_service_accounts_but_not_write_them():
    (role,) = [r for r in by_kind(manifests(), "ClusterRole") if r["metadata"]["name"] == "rel-ecrcontrol"]
    rules = role["rules"]
    assert {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]} in rules
    # spec.serviceAccounts: the managed Secret's imagePullSecrets entry, by patch only.
    (accounts,) = [rule for rule in rules if "serviceaccounts" in rule["resources"]]
    assert accounts == {
        "apiGroups": [""],
        "resources": ["serviceaccounts"],
        "verbs": ["get", "list", "watch", "patch"],
    }
    granted = {resource for rule in rules for resource in rule["resources"]}
    assert not {"pods", "configmaps"} & granted
    secrets = next(rule for rule in rules if rule["resources"] == ["secrets"])
    # get: a secretRef's keys; list/watch: managed Secrets and the metadata watch of every Secret.
    assert {"get", "list", "watch"} <= set(secrets["verbs"]) and "patch" not in secrets["verbs"]


IRSA_VALUES = """
serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/ecrcontrol
extraEnv:
  - {name: AWS_ENDPOINT_URL_STS, value: "https://sts.eu-west-1.amazonaws.com"}
  - {name: AWS_ROLE_ARN, value: "arn:aws:iam::123456789012:role/ecrcontrol"}
  - {name: AWS_WEB_IDENTITY_TOKEN_FILE, value: /var/run/secrets/eks.amazonaws.com/serviceaccount/token}
extraVolumes:
  - name: aws-iam-token
    projected:
      sources:
        - serviceAccountToken: {audience: sts.amazonaws.com, expirationSeconds: 86400, path: token}
extraVolumeMounts:
  - {name: aws-iam-token, mountPath: /var/run/secrets/eks.amazonaws.com/serviceaccount, readOnly: true}
"""


@pytest.mark.parametrize("mode", ["sqlite", "external"])
def test_irsa_annotations_env_and_a_projected_token_reach_every_container(mode, tmp_path):
    """The operator's own identity as README.md shows it: IRSA's annotation on EKS, or (elsewhere)
    the projected token and the variables EKS's webhook would inject; and AWS_ENDPOINT_URL_STS."""
    values = tmp_path / "values.yaml"
    values.write_text(IRSA_VALUES)
    docs = manifests(*(EXTERNAL if mode == "external" else ()), "-f", str(values))
    (account,) = [a for a in by_kind(docs, "ServiceAccount") if a["metadata"]["name"] == "rel-ecrcontrol"]
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ecrcontrol"
    }
    for deployment in by_kind(docs, "Deployment"):
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["aws-iam-token"]["projected"]["sources"][0]["serviceAccountToken"]["audience"] == (
            "sts.amazonaws.com"
        )
        assert "tmp" in volumes  # the chart's own volumes stay
    for container in containers_of(docs):
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["AWS_ENDPOINT_URL_STS"] == "https://sts.eu-west-1.amazonaws.com", container["name"]
        assert env["AWS_WEB_IDENTITY_TOKEN_FILE"].startswith("/var/run/secrets/eks.amazonaws.com/")
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["aws-iam-token"]["readOnly"] is True, container["name"]
        assert "tmp" in mounts
