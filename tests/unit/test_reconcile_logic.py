"""The reconcile's small decisions, without a cluster: keys, refresh times, status, Secret drift."""

from __future__ import annotations

import base64
import datetime

import pytest

from secrets_app.aws.ecr import Credentials, Token
from secrets_app.kube.kinds import CLUSTER, NAMESPACED
from secrets_app.services import schedule, specs
from secrets_app.services.identity import access
from secrets_app.services.identity.credentials import decode_key, encode_key
from secrets_app.services.reporting import status
from secrets_app.services.secrets import dockerconfig

from .conftest import inline_identity

NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)
PLAIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def token(expires_in: datetime.timedelta) -> Token:
    return Token("1.dkr.ecr.eu-west-1.amazonaws.com", "AWS", "pw", NOW + expires_in, NOW)


@pytest.mark.parametrize("plain", ["AKIAIOSFODNN7EXAMPLE", PLAIN_SECRET, "short"])
def test_keys_are_accepted_plain_or_base64_encoded(plain):
    assert decode_key(plain) == plain
    assert decode_key(base64.b64encode(plain.encode()).decode()) == plain


def test_missing_spec_fields_are_all_reported_at_once():
    body = {"metadata": {"name": "x"}, "spec": {"awsAccess": {"region": "eu-west-1", "secretAccessKey": ""}}}
    with pytest.raises(specs.SpecError) as error:
        specs.validated(CLUSTER, body)
    assert str(error.value) == (
        "spec.secretName is missing: set the name of the docker Secret to manage. "
        "spec.namespaces is empty and spec.namespaceSelector is not set: list at least one namespace, "
        "or select them by label. "
        "spec.awsAccess.accessKeyId is empty: set it. spec.awsAccess.secretAccessKey is empty: set it."
    )


def test_an_invalid_region_is_a_spec_problem_named_with_its_value():
    body = {
        "metadata": {"name": "x", "namespace": "a"},
        "spec": {
            "secretName": "s",
            "awsAccess": {"accessKeyId": "A", "secretAccessKey": "B", "region": "Mars 1"},
        },
    }
    assert specs.problems(NAMESPACED, body) == [
        "spec.awsAccess.region 'Mars 1' is not an AWS region name: use one such as eu-west-1."
    ]


def test_the_region_rule_is_the_one_the_crds_enforce():
    import pathlib

    crds = pathlib.Path(__file__).resolve().parents[2] / "chart" / "crds"
    for path in crds.glob("*.yaml"):
        assert f"self.matches('{access.REGION_PATTERN.pattern}')" in path.read_text(), path.name


@pytest.mark.parametrize("plain", ["AKIAIOSFODNN7EXAMPLE", PLAIN_SECRET])
def test_keys_are_encoded_once_and_an_encoded_key_is_kept(plain):
    encoded = encode_key(plain)
    assert encoded == base64.b64encode(plain.encode()).decode()
    assert encode_key(encoded) == encoded
    assert decode_key(encoded) == plain


def test_credentials_never_show_the_secret_key_in_repr():
    credentials = Credentials("AKIA", PLAIN_SECRET, "eu-west-1")
    assert PLAIN_SECRET not in repr(credentials)


def test_refresh_is_at_half_the_token_lifetime():
    assert schedule.refresh_at(token(datetime.timedelta(hours=12))) == NOW + datetime.timedelta(hours=6)


@pytest.mark.parametrize(
    "expires_in", [datetime.timedelta(days=-3650), datetime.timedelta(0), datetime.timedelta(days=400)]
)
def test_an_expiry_in_the_past_or_absurd_assumes_twelve_hours_instead_of_looping(expires_in):
    assert schedule.refresh_at(token(expires_in)) == NOW + datetime.timedelta(hours=6)


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.ECRCONTROL_BACKOFF_BASE_SECONDS, settings.ECRCONTROL_BACKOFF_MAX_SECONDS = 2, 60
    for failures, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delays = [schedule.backoff(failures).total_seconds() for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_last_transition_time_changes_only_when_the_status_flips():
    ready = status.Outcome(True, status.SECRETS_UPDATED, "ok")
    first = status.build({}, 1, ready)
    first["conditions"][0]["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    again = status.build(first, 2, status.Outcome(True, status.SECRETS_UPDATED, "still ok"))
    assert again["conditions"][0]["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    flipped = status.build(first, 2, status.Outcome(False, status.SECRETS_FAILED, "broken"))
    assert flipped["conditions"][0]["lastTransitionTime"] != "2020-01-01T00:00:00Z"
    assert status.unchanged(first, status.build(first, 1, ready) | {"conditions": first["conditions"]})


OWNER = {
    "apiVersion": "aws.zakariaamine.com/v1alpha2",
    "kind": "AWSECRImagePullSecret",
    "metadata": {"name": "o", "namespace": "ns", "uid": "uid-1"},
    "spec": {"secretName": "pull"},
}


def desired(refresh=NOW + datetime.timedelta(hours=6)):
    return dockerconfig.desired_secret(
        OWNER, "ns", token(datetime.timedelta(hours=12)), refresh, "id1", "src1", lambda *parts: "seal"
    )


def test_an_untouched_fresh_secret_is_current_and_a_hand_edit_is_not():
    secret = desired()
    assert dockerconfig.is_current(secret, desired(), NOW)
    edited = {**secret, "data": {dockerconfig.DATA_KEY: "e30="}}
    assert not dockerconfig.is_current(edited, desired(), NOW)
    assert not dockerconfig.is_current(secret, desired(), NOW + datetime.timedelta(hours=7))


def test_a_manual_refresh_rewrites_a_fresh_secret_unless_it_holds_the_newly_fetched_token():
    secret = desired()
    refetched = desired(refresh=NOW + datetime.timedelta(hours=6, seconds=5))  # same data, new fetch
    assert dockerconfig.is_current(secret, refetched, NOW)
    assert not dockerconfig.is_current(secret, refetched, NOW, exact=True)
    assert dockerconfig.is_current(secret, desired(), NOW, exact=True)


def test_a_due_secret_as_we_wrote_it_is_a_renewal_and_a_hand_edit_or_other_identity_is_not():
    secret = desired()
    assert dockerconfig.is_renewal(secret, desired(refresh=NOW + datetime.timedelta(hours=18)))
    edited = {**secret, "data": {dockerconfig.DATA_KEY: "e30="}}
    assert not dockerconfig.is_renewal(edited, desired())
    other = dockerconfig.desired_secret(
        OWNER, "ns", token(datetime.timedelta(hours=12)), NOW, "id2", "src2", lambda *parts: "seal"
    )
    assert not dockerconfig.is_renewal(secret, other)


def test_secrets_of_others_are_not_ours_but_the_seed_operators_own_secret_is_adopted():
    assert dockerconfig.is_ours(desired(), OWNER)
    assert not dockerconfig.is_ours({"metadata": {"name": "pull"}}, OWNER)
    seed_made = {
        "metadata": {
            "ownerReferences": [
                {
                    "apiVersion": OWNER["apiVersion"],
                    "kind": "AWSECRImagePullSecret",
                    "name": "o",
                    "uid": "uid-1",
                }
            ]
        }
    }
    assert dockerconfig.is_ours(seed_made, OWNER)
    other_owner = {
        "metadata": {
            "labels": {"app.kubernetes.io/managed-by": "ecrcontrol", "ecrcontrol.io/owner-uid": "uid-2"}
        }
    }
    assert not dockerconfig.is_ours(other_owner, OWNER)


def test_a_rejected_identity_costs_one_call_and_reports_one_stable_retry_time(monkeypatch):
    from secrets_app.aws import ecr
    from secrets_app.services.identity.tokens import TokenCache

    calls = []

    def rejecting(credentials, timeout=None):
        calls.append(credentials)
        raise ecr.ECRError("ECR rejected the credentials: InvalidClientTokenId: no", permanent=True)

    monkeypatch.setattr(ecr, "get_token", rejecting)
    cache = TokenCache()
    errors = []
    for _ in range(3):
        with pytest.raises(ecr.ECRError) as error:
            cache.get(inline_identity("AKIA", PLAIN_SECRET))
        errors.append(error.value)
    assert len(calls) == 1
    assert errors[0].retry_at is not None
    assert {e.retry_at for e in errors} == {errors[0].retry_at}


def test_many_events_of_one_reason_are_combined_as_client_go_aggregates_them():
    from secrets_app.services.reconcile import COMBINED_MESSAGE_LIMIT, EVENTS_APART, MSG_CREATED, _combined

    created = [
        ("Normal", "SecretCreationSuccess", MSG_CREATED.format(name="pull", ns=f"ns-{i}")) for i in range(500)
    ]
    failed = [("Warning", "CreateSecretError", "error creating secret pull in namespace x: boom")]
    recorded = _combined(created + failed)
    assert recorded[: EVENTS_APART - 1] == created[: EVENTS_APART - 1]  # the first ones as they are
    combined = recorded[EVENTS_APART - 1]
    assert combined[:2] == ("Normal", "SecretCreationSuccess")
    rest = 500 - EVENTS_APART + 1
    assert combined[2].startswith(f"(combined from {rest} similar events) secret pull created")
    assert "namespace ns-9;" in combined[2] and len(combined[2]) == COMBINED_MESSAGE_LIMIT
    assert recorded[EVENTS_APART:] == failed  # another reason keeps its own events
    # Up to EVENTS_APART of a reason: each recorded as it is.
    assert _combined(created[:EVENTS_APART]) == created[:EVENTS_APART]
