"""The webhook decisions as pure functions of the AdmissionReview, and the thin view around them."""

from __future__ import annotations

import base64
import json

import pytest

from secrets_app.aws.ecr import ECRError
from secrets_app.kube.errors import Unavailable
from secrets_app.kube.kinds import CLUSTER, MANAGED_BY, MANAGED_BY_LABEL, NAMESPACED
from secrets_app.services.identity import resolve
from secrets_app.webhooks import reviews
from secrets_app.webhooks.mutating import mutate
from secrets_app.webhooks.validating import validate

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def resource(kind=NAMESPACED, name="pull", namespaces=("a",), secret_name="ecr-pull", **access) -> dict:
    meta = {"name": name} if not kind.namespaced else {"name": name, "namespace": "a"}
    spec = {
        "awsAccess": {"accessKeyId": KEY_ID, "secretAccessKey": SECRET, "region": "eu-west-1", **access},
        "secretName": secret_name,
    }
    if not kind.namespaced:
        spec["namespaces"] = list(namespaces)
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, "spec": spec}


def review_body(operation="CREATE", obj=None, old=None, kind=NAMESPACED, dry_run=False) -> dict:
    obj = resource(kind) if obj is None and operation != "DELETE" else obj
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "aws.zakariaamine.com", "version": kind.version, "kind": kind.kind},
            "operation": operation,
            "name": (obj or old or {}).get("metadata", {}).get("name", "pull"),
            "namespace": "a" if kind.namespaced else "",
            "object": obj,
            "oldObject": old,
            "dryRun": dry_run,
        },
    }


def review(*args, **kwargs) -> reviews.Review:
    return reviews.parse(review_body(*args, **kwargs))


class FakeLookups:
    """The cluster and ECR as validation sees them; records what was asked."""

    def __init__(self, namespaces=("a", "b"), secrets=None, resources=(), rejected=(), ecr_down=False):
        self.namespaces, self._resources = set(namespaces), list(resources)
        self._secrets = dict(secrets or {})
        self.rejected, self.ecr_down = set(rejected), ecr_down
        self.checked = []

    def existing_namespaces(self, names):
        return set(names) & self.namespaces

    def secrets(self, namespaces, name):
        return {ns: self._secrets[(ns, name)] for ns in namespaces if (ns, name) in self._secrets}

    def resources(self, namespaces):
        return self._resources

    def identity(self, wanted, body):
        return resolve.resolve(wanted, self, "1", body["metadata"]["name"])

    def get_secret(self, namespace, name):  # the Kube call resolve makes for a secretRef
        return self._secrets.get((namespace, name))

    def check_credentials(self, identity):
        credentials = identity.keys
        self.checked.append(credentials)
        if self.ecr_down:
            raise ECRError("ECR could not be reached: Connect timeout", permanent=False)
        if credentials.access_key_id in self.rejected:
            raise ECRError("ECR rejected the credentials: InvalidClientTokenId: invalid", permanent=True)


class BrokenLookups(FakeLookups):
    def __getattribute__(self, name):
        if name in ("existing_namespaces", "secrets", "resources", "check_credentials"):
            raise AssertionError(f"{name} must not be called")
        return super().__getattribute__(name)


def patch_of(response: dict) -> list[dict]:
    return json.loads(base64.b64decode(response["patch"])) if "patch" in response else []


# -- parsing -----------------------------------------------------------------------------------
def _without(body: dict, *path: str) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([1, 2], "expected a JSON object"),
        ({**review_body(), "apiVersion": "admission.k8s.io/v1beta1"}, "admissionReviewVersions to [v1]"),
        (_without(review_body(), "request"), "request is missing"),
        (_without(review_body(), "request", "uid"), "request.uid is missing"),
        (_without(review_body(), "request", "kind"), "request.kind is missing"),
        ({**review_body(), "request": {**review_body()["request"], "operation": "PATCH"}}, "not one of"),
        (review_body("CREATE") | {"request": {**review_body()["request"], "object": None}}, "request.object"),
        (review_body("UPDATE", old=None), "request.oldObject is missing for UPDATE"),
    ],
)
def test_malformed_reviews_are_refused_with_what_is_wrong(body, says):
    with pytest.raises(reviews.BadReview) as error:
        reviews.parse(body)
    assert says in str(error.value)


# -- always allowed ------------------------------------------------------------------------------
@pytest.mark.parametrize("decide", [mutate, lambda r: validate(r, BrokenLookups())])
def test_delete_is_always_allowed_without_looking_anything_up(decide):
    response = decide(review("DELETE", old=resource()))
    assert response == {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}


@pytest.mark.parametrize("decide", [mutate, lambda r: validate(r, BrokenLookups())])
def test_an_unknown_kind_is_allowed_with_a_warning_about_the_configuration(decide):
    body = review_body()
    body["request"]["kind"] = {"group": "", "version": "v1", "kind": "Secret"}
    response = decide(reviews.parse(body))
    assert response["allowed"] is True
    assert "patch" not in response
    assert response["warnings"] == [
        "ecrcontrol does not handle /v1 Secret: check the rules of its webhook configuration"
    ]


# -- mutation ------------------------------------------------------------------------------------
def test_create_stores_plain_keys_base64_encoded():
    response = mutate(review("CREATE"))
    assert response["allowed"] is True and response["patchType"] == "JSONPatch"
    assert patch_of(response) == [
        {"op": "replace", "path": "/spec/awsAccess/accessKeyId", "value": b64(KEY_ID)},
        {"op": "replace", "path": "/spec/awsAccess/secretAccessKey", "value": b64(SECRET)},
    ]


def test_create_keeps_keys_that_are_already_encoded_as_a_seed_cluster_stores_them():
    response = mutate(review("CREATE", resource(accessKeyId=b64(KEY_ID), secretAccessKey=b64(SECRET))))
    assert response == {"uid": response["uid"], "allowed": True}


def test_update_with_the_same_keys_in_plain_text_keeps_the_stored_values():
    stored = resource(accessKeyId=b64(KEY_ID), secretAccessKey=b64(SECRET))
    response = mutate(review("UPDATE", resource(), old=stored))
    assert [op["value"] for op in patch_of(response)] == [b64(KEY_ID), b64(SECRET)]


def test_update_encodes_new_keys_and_keeps_the_unchanged_one():
    stored = resource(accessKeyId=b64(KEY_ID), secretAccessKey=b64(SECRET))
    response = mutate(review("UPDATE", resource(secretAccessKey="n3wSecret"), old=stored))
    assert patch_of(response) == [
        {"op": "replace", "path": "/spec/awsAccess/accessKeyId", "value": b64(KEY_ID)},
        {"op": "replace", "path": "/spec/awsAccess/secretAccessKey", "value": b64("n3wSecret")},
    ]


@pytest.mark.parametrize("spec", [{}, {"awsAccess": "x"}, "not-an-object", {"awsAccess": {"accessKeyId": 7}}])
def test_mutation_leaves_a_missing_or_odd_aws_access_to_validation(spec):
    obj = {**resource(), "spec": spec}
    assert "patch" not in mutate(review("CREATE", obj))


# -- validation ----------------------------------------------------------------------------------
def test_valid_create_is_allowed_after_trying_the_plain_credentials_once():
    lookups = FakeLookups()
    response = validate(
        review("CREATE", resource(accessKeyId=b64(KEY_ID), secretAccessKey=b64(SECRET))), lookups
    )
    assert response == {"uid": response["uid"], "allowed": True}
    assert [(c.access_key_id, c.secret_access_key, c.region) for c in lookups.checked] == [
        (KEY_ID, SECRET, "eu-west-1")
    ]


def test_every_spec_problem_is_reported_at_once_without_calling_ecr():
    obj = {
        **resource(CLUSTER),
        "spec": {"awsAccess": {"region": "moon", "accessKeyId": ""}, "namespaces": []},
    }
    lookups = FakeLookups()
    response = validate(review("CREATE", obj, kind=CLUSTER), lookups)
    assert response["allowed"] is False and response["status"]["code"] == 403
    assert response["status"]["message"] == "; ".join(
        [
            "spec.secretName is missing: set the name of the docker Secret to manage.",
            "spec.namespaces is empty and spec.namespaceSelector is not set: list at least one namespace, "
            "or select them by label.",
            "spec.awsAccess.accessKeyId is empty: set it.",
            "spec.awsAccess.secretAccessKey is empty: set it.",
            "spec.awsAccess.region 'moon' is not an AWS region name: use one such as eu-west-1.",
        ]
    )
    assert lookups.checked == []


def test_rejected_credentials_are_denied_with_the_aws_reason_and_never_the_secret():
    response = validate(review("CREATE"), FakeLookups(rejected={KEY_ID}))
    message = response["status"]["message"]
    assert message == (
        "aws credentials specified in .spec.awsAccess are invalid or missing permissions: ECR rejected "
        "the credentials: InvalidClientTokenId: invalid. Use an active access key allowed "
        "ecr:GetAuthorizationToken in region eu-west-1"
    )
    assert SECRET not in json.dumps(response) and b64(SECRET) not in json.dumps(response)


def test_an_unreachable_ecr_denies_and_says_to_try_again():
    response = validate(review("CREATE"), FakeLookups(ecr_down=True))
    assert response["allowed"] is False
    assert response["status"]["message"] == (
        "the credentials in .spec.awsAccess could not be checked: ECR could not be reached: "
        "Connect timeout. Try again when ECR answers"
    )


def test_a_dry_run_does_not_call_ecr_and_says_so():
    lookups = FakeLookups(rejected={KEY_ID})
    response = validate(review("CREATE", dry_run=True), lookups)
    assert response["allowed"] is True
    assert response["warnings"] == ["dry run: the credentials in .spec.awsAccess were not tried against ECR"]
    assert lookups.checked == []


def test_a_foreign_secret_in_a_target_namespace_is_denied_naming_both():
    foreign = {"metadata": {"name": "ecr-pull", "namespace": "b", "labels": {"team": "x"}}}
    response = validate(
        review("CREATE", resource(CLUSTER, namespaces=["a", "b"]), kind=CLUSTER),
        FakeLookups(secrets={("b", "ecr-pull"): foreign}),
    )
    assert response["status"]["message"] == (
        "secret ecr-pull already exists in namespace b, you can choose a different name: it is not "
        "managed by ecrcontrol, so change spec.secretName or delete that Secret first"
    )


@pytest.mark.parametrize(
    "meta",
    [
        {"labels": {MANAGED_BY_LABEL: MANAGED_BY}},
        {"ownerReferences": [{"apiVersion": "aws.zakariaamine.com/v1alpha1", "kind": "AWSECRCredential"}]},
    ],
    ids=["ours", "the-seed-operators"],
)
def test_a_secret_managed_by_ecrcontrol_or_the_seed_is_not_foreign(meta):
    secret = {"metadata": {"name": "ecr-pull", "namespace": "a", **meta}}
    response = validate(review("CREATE"), FakeLookups(secrets={("a", "ecr-pull"): secret}))
    assert response["allowed"] is True


def test_another_resource_managing_the_same_secret_is_denied_naming_it():
    other = resource(CLUSTER, name="team-wide", namespaces=["b", "a"])
    response = validate(review("CREATE"), FakeLookups(resources=[(CLUSTER, other)]))
    assert response["status"]["message"] == (
        "secret ecr-pull in namespace a is already managed by ClusterAWSECRImagePullSecret team-wide: "
        "choose a different spec.secretName, or remove namespace a from ClusterAWSECRImagePullSecret "
        "team-wide first"
    )


def test_a_missing_namespace_is_allowed_with_a_warning_for_the_cluster_kind():
    lookups = FakeLookups(namespaces={"a"})
    response = validate(review("CREATE", resource(CLUSTER, namespaces=["a", "later"]), kind=CLUSTER), lookups)
    assert response["allowed"] is True
    assert response["warnings"] == [
        "namespace later does not exist yet: its Secret ecr-pull will be created when it does"
    ]


def test_update_denies_a_new_secret_name():
    response = validate(review("UPDATE", resource(secret_name="other"), old=resource()), FakeLookups())
    assert response["status"]["message"] == (
        ".spec.secretName is immutable: it is ecr-pull. To use another name, create a new resource "
        "and delete this one"
    )


def test_update_with_unchanged_keys_does_not_call_ecr_and_ignores_itself():
    stored = resource(accessKeyId=b64(KEY_ID), secretAccessKey=b64(SECRET))
    mine = {"metadata": {"name": "ecr-pull", "namespace": "a", "labels": {MANAGED_BY_LABEL: MANAGED_BY}}}
    lookups = FakeLookups(secrets={("a", "ecr-pull"): mine}, resources=[(NAMESPACED, stored)])
    response = validate(review("UPDATE", resource(), old=stored), lookups)
    assert response == {"uid": response["uid"], "allowed": True}
    assert lookups.checked == []


def test_update_rotating_keys_tries_the_new_ones():
    lookups = FakeLookups(rejected={"AKIANEWKEY"})
    response = validate(review("UPDATE", resource(accessKeyId="AKIANEWKEY"), old=resource()), lookups)
    assert response["allowed"] is False
    assert "invalid or missing permissions" in response["status"]["message"]
    assert [c.access_key_id for c in lookups.checked] == ["AKIANEWKEY"]


def test_update_to_an_invalid_region_is_denied():
    response = validate(review("UPDATE", resource(region="EU"), old=resource()), FakeLookups())
    assert "spec.awsAccess.region 'EU' is not an AWS region name" in response["status"]["message"]


def test_update_checks_only_the_namespaces_it_adds():
    foreign = {"metadata": {"name": "ecr-pull", "namespace": "a"}}
    old = resource(CLUSTER, namespaces=["a"])
    lookups = FakeLookups(secrets={("a", "ecr-pull"): foreign, ("b", "ecr-pull"): foreign})
    response = validate(
        review("UPDATE", resource(CLUSTER, namespaces=["a", "b"]), old=old, kind=CLUSTER), lookups
    )
    assert response["status"]["message"].startswith("secret ecr-pull already exists in namespace b,")
    assert "namespace a" not in response["status"]["message"]


def test_a_failed_cluster_lookup_denies_with_a_server_error_to_retry():
    class Down(FakeLookups):
        def resources(self, namespaces):
            raise Unavailable(0, "Unavailable", "API server unreachable: connection refused")

    response = validate(review("CREATE"), Down())
    assert response["status"] == {
        "code": 500,
        "message": "could not validate the request: API server unreachable: connection refused. Try again",
    }


# -- the view -----------------------------------------------------------------------------------
@pytest.fixture
def http(client):
    def post(path: str, data, secure=True, content_type="application/json"):
        payload = data if isinstance(data, str) else json.dumps(data)
        return client.post(f"/webhooks/{path}", payload, content_type=content_type, secure=secure)

    return post


def test_the_view_answers_an_admission_review_with_the_decision(http):
    response = http("mutate", review_body())
    assert response.status_code == 200
    body = response.json()
    assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    assert body["response"]["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002"
    assert body["response"]["patchType"] == "JSONPatch"


@pytest.mark.parametrize("path", ["mutate", "validate"])
@pytest.mark.parametrize(
    ("data", "says"),
    [("{not json", "JSON parse error"), ({"kind": "Pod"}, "expected apiVersion admission.k8s.io/v1")],
)
def test_the_view_answers_a_malformed_body_with_400_and_the_reason(http, path, data, says):
    response = http(path, data)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_a_failing_decision_is_answered_with_a_denial_and_a_reason_not_an_error_page(http, monkeypatch):
    from secrets_app.webhooks import views

    def broken(review, lookups):
        raise KeyError("spec")

    monkeypatch.setattr(views, "validate", broken)
    monkeypatch.setattr(views.ClusterLookups, "default", classmethod(lambda cls: None))
    response = http("validate", review_body())
    assert response.status_code == 200
    assert response.json()["response"] == {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "allowed": False,
        "status": {
            "code": 500,
            "message": "ecrcontrol could not decide (KeyError): see the web role's log, and try again",
        },
    }


def test_the_view_refuses_plain_http(http):
    response = http("validate", review_body(), secure=False)
    assert response.status_code == 403
    assert "HTTPS only" in response.json()["detail"]


# -- registration --------------------------------------------------------------------------------
def test_webhook_configurations_fail_closed_and_match_both_kinds_in_any_version():
    from secrets_app.webhooks.registration import configurations

    mutating, validating = configurations("https://127.0.0.1:8443/", b"-----BEGIN CERTIFICATE-----")
    assert [mutating["kind"], validating["kind"]] == [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ]
    (mutate_hook,), (validate_hook,) = mutating["webhooks"], validating["webhooks"]
    assert mutate_hook["clientConfig"]["url"] == "https://127.0.0.1:8443/webhooks/mutate"
    assert validate_hook["clientConfig"]["url"] == "https://127.0.0.1:8443/webhooks/validate"
    assert base64.b64decode(validate_hook["clientConfig"]["caBundle"]) == b"-----BEGIN CERTIFICATE-----"
    for hook in (mutate_hook, validate_hook):
        assert hook["failurePolicy"] == "Fail"
        assert hook["matchPolicy"] == "Equivalent"
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["rules"][0]["resources"] == ["awsecrimagepullsecrets", "clusterawsecrimagepullsecrets"]
        assert hook["rules"][0]["operations"] == ["CREATE", "UPDATE"]
    assert (mutate_hook["sideEffects"], validate_hook["sideEffects"]) == ("None", "NoneOnDryRun")
    assert mutate_hook["timeoutSeconds"] < validate_hook["timeoutSeconds"] <= 30


def test_register_command_refuses_a_plain_http_url():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="webhooks are TLS only"):
        call_command("webhooks", "register", "--url", "http://127.0.0.1:8443", "--ca-file", "/dev/null")


def test_an_edit_of_an_object_with_an_old_spec_problem_is_allowed_but_a_new_problem_is_not():
    old = {**resource(), "spec": {"awsAccess": resource()["spec"]["awsAccess"]}}  # no secretName
    relabelled = {**old, "metadata": {**old["metadata"], "labels": {"team": "a"}}}
    assert validate(review("UPDATE", relabelled, old=old), FakeLookups())["allowed"] is True
    worse = {**old, "spec": {"awsAccess": {**old["spec"]["awsAccess"], "region": "moon"}}}
    response = validate(review("UPDATE", worse, old=old), FakeLookups())
    assert response["status"]["message"] == (
        "spec.awsAccess.region 'moon' is not an AWS region name: use one such as eu-west-1."
    )


def test_an_object_being_deleted_is_never_blocked():
    going = resource(secret_name="")
    going["metadata"]["deletionTimestamp"] = "2026-11-27T12:00:00Z"
    response = validate(review("UPDATE", going, old=resource()), BrokenLookups())
    assert response["allowed"] is True


def test_lookups_read_the_controller_s_stores_in_its_process_once_they_hold_a_list():
    from secrets_app.kube import store
    from secrets_app.kube.kinds import CLUSTER, NAMESPACED
    from secrets_app.webhooks.lookups import ClusterLookups

    def obj(name: str, namespace: str = "") -> dict:
        return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"}}

    kept = {what: store.Store() for what in (CLUSTER.kind, NAMESPACED.kind, store.NAMESPACES)}
    lookups = ClusterLookups(kube=None, cluster_key="4242")  # no API server: a call would fail
    try:
        for what, each in kept.items():
            store.register(4242, what, each)
        assert lookups._store(store.NAMESPACES) is None  # not listed yet: the API server answers
        kept[CLUSTER.kind].replace([obj("c")])
        kept[NAMESPACED.kind].replace([obj("a", "n1"), obj("b", "n2")])
        kept[store.NAMESPACES].replace([obj("n1"), obj("n2")])
        assert [(k, o["metadata"]["name"]) for k, o in lookups.resources(["n1"])] == [
            (CLUSTER, "c"),
            (NAMESPACED, "a"),
        ]
        assert len(lookups.resources([f"n{i}" for i in range(10)])) == 3  # many: every namespace's
        assert lookups.existing_namespaces(["n1", "n3"]) == {"n1"}
    finally:
        for what in kept:
            store.register(4242, what, None)
