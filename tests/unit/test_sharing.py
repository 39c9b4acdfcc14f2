"""Sharing between processes without the database: tokens between workers (through the Secrets
that hold them and a lock per identity), credential verdicts between web processes.

Each `TokenCache()` stands for one worker process (its own memory); the lock directory is what
processes share. Only the project's own wrappers are faked: ECR (secrets_app.aws.ecr.get_token)
and Kubernetes (a Kube with `list_token_secrets`).
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time

import pytest

from secrets_app.aws import ecr
from secrets_app.services import schedule
from secrets_app.services.identity import sharing, tokens
from secrets_app.services.secrets import dockerconfig
from secrets_app.webhooks import verdicts

from .conftest import inline_identity

SECRET = "CANARY0secret0key0never0leaves0the0cluster0"
CREDENTIALS = ecr.Credentials("AKIASHARED", SECRET, "eu-west-1")
OWNER = {
    "apiVersion": "aws.zakariaamine.com/v1alpha2",
    "kind": "AWSECRImagePullSecret",
    "metadata": {"name": "o", "namespace": "ns", "uid": "uid-1"},
    "spec": {"secretName": "pull"},
}


def identity(credentials: ecr.Credentials):
    return inline_identity(credentials.access_key_id, credentials.secret_access_key, credentials.region)


class FakeKube:
    """The cluster's managed Secrets, as secrets_app.kube.api.Kube lists them."""

    def __init__(self) -> None:
        self.secrets: list[dict] = []

    def write(self, token: ecr.Token, credentials=CREDENTIALS, namespace: str = "ns") -> dict:
        source = identity(credentials).source
        secret = dockerconfig.desired_secret(
            OWNER, namespace, token, schedule.refresh_at(token), "id", source, sharing.seal
        )
        self.secrets.append(secret)
        return secret

    def list_token_secrets(self, source: str, issued: str = "", limit: int = 10) -> list[dict]:
        """As the API server answers: by label selector, in namespace order, at most `limit`."""
        wanted = {dockerconfig.TOKEN_SOURCE_LABEL: source}
        if issued:
            wanted[dockerconfig.TOKEN_ISSUED_LABEL] = issued
        found = [s for s in self.secrets if wanted.items() <= s["metadata"]["labels"].items()]
        return sorted(found, key=lambda s: s["metadata"]["namespace"])[:limit]


@pytest.fixture
def ecr_calls(monkeypatch) -> list[ecr.Credentials]:
    calls = []

    def get_token(credentials, timeout=None):
        calls.append(credentials)
        if credentials.access_key_id == "AKIAREJECTED":
            raise ecr.ECRError(
                "ECR rejected the credentials: UnrecognizedClientException: no", permanent=True
            )
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        return ecr.Token(
            "1.dkr.ecr.eu-west-1.amazonaws.com",
            "AWS",
            f"pw{len(calls)}",
            now + datetime.timedelta(hours=12),
            now,
        )

    monkeypatch.setattr(tokens.ecr, "get_token", get_token)
    return calls


def test_at_a_refresh_the_second_worker_finds_the_new_token_among_many_secrets_holding_the_old(
    ecr_calls, settings
):
    kube = FakeKube()
    issued = datetime.datetime.now(datetime.UTC).replace(microsecond=0) - datetime.timedelta(hours=7)
    old = ecr.Token(
        "1.dkr.ecr.eu-west-1.amazonaws.com", "AWS", "old", issued + datetime.timedelta(hours=12), issued
    )
    for i in range(15):  # more than list_token_secrets' page, all due for refresh
        kube.write(old, namespace=f"a-{i:02d}")
    first = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)  # the refresh: one call
    kube.write(first, namespace="z")  # its first Secret, last in namespace order
    second = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    assert (len(ecr_calls), second) == (1, first)


def test_a_second_worker_takes_the_token_from_the_secret_the_first_wrote(ecr_calls, settings):
    kube = FakeKube()
    first = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    kube.write(first)
    second = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    assert len(ecr_calls) == 1
    assert second == first
    assert schedule.refresh_at(second) == schedule.refresh_at(first)


def test_a_second_worker_waits_for_the_secret_of_a_token_just_fetched(ecr_calls, settings):
    settings.ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS = 5
    kube = FakeKube()
    first = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    threading.Timer(0.5, kube.write, args=(first,)).start()  # the first worker's write, a moment later
    assert tokens.TokenCache().get(identity(CREDENTIALS), kube=kube) == first
    assert len(ecr_calls) == 1


def test_without_a_secret_in_time_the_next_worker_asks_ecr(ecr_calls, settings):
    settings.ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS = 0.3
    kube = FakeKube()
    tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)  # fetched, but (say) no namespace to write to
    started = time.monotonic()
    tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    assert len(ecr_calls) == 2
    assert time.monotonic() - started < 2


def test_a_hand_edited_or_other_keys_secret_is_not_taken(ecr_calls, settings):
    settings.ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS = 0.3
    kube = FakeKube()
    first = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    edited = kube.write(first)
    edited["data"][dockerconfig.DATA_KEY] = "e30="
    other_secret = ecr.Credentials(CREDENTIALS.access_key_id, "another-secret", CREDENTIALS.region)
    kube.write(first, credentials=other_secret)  # same key ID, another secret key: not ours to take
    tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    assert len(ecr_calls) == 2


def test_a_forged_secret_with_a_copied_label_is_not_taken(ecr_calls, settings):
    """Someone who may write Secrets in one namespace copies a managed Secret's label onto a
    Secret of their own: its token must not be handed to other namespaces."""
    settings.ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS = 0.3
    kube = FakeKube()
    genuine = kube.write(tokens.TokenCache().get(identity(CREDENTIALS), kube=kube))
    kube.secrets.clear()
    forged = {**genuine, "data": dict(genuine["data"])}
    config = {"auths": {"evil.example.com": {"username": "AWS", "password": "mine", "auth": "QVdTOm1pbmU="}}}
    forged["data"][dockerconfig.DATA_KEY] = base64.b64encode(json.dumps(config).encode()).decode()
    forged["metadata"]["annotations"][dockerconfig.HASH_ANNOTATION] = dockerconfig._hash(forged["data"])
    kube.secrets.append(forged)
    token = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    assert token.registry == "1.dkr.ecr.eu-west-1.amazonaws.com" and token.password == "pw2"
    assert len(ecr_calls) == 2


def test_a_rejection_is_shared_so_n_workers_cost_one_call(ecr_calls):
    rejected = ecr.Credentials("AKIAREJECTED", SECRET, "eu-west-1")
    errors = []
    for _ in range(4):
        with pytest.raises(ecr.ECRError) as error:
            tokens.TokenCache().get(identity(rejected), kube=FakeKube())
        errors.append(error.value)
    assert len(ecr_calls) == 1
    assert all(e.permanent and "UnrecognizedClientException" in str(e) for e in errors)
    assert len({e.retry_at for e in errors}) == 1


def test_a_manual_refresh_does_not_take_an_older_token_from_a_secret(ecr_calls):
    kube = FakeKube()
    kube.write(tokens.TokenCache().get(identity(CREDENTIALS), kube=kube))
    since = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
    tokens.TokenCache().get(identity(CREDENTIALS), fetched_after=since, kube=kube)
    assert len(ecr_calls) == 2


def test_four_workers_at_once_make_one_call(ecr_calls, settings):
    settings.ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS = 5
    kube = FakeKube()
    got = []

    def worker():
        token = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
        if not kube.secrets:
            kube.write(token)
        got.append(token)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ecr_calls) == 1
    assert len(set(got)) == 1


def test_the_shared_records_hold_neither_key_nor_token(ecr_calls, settings):
    kube = FakeKube()
    token = tokens.TokenCache().get(identity(CREDENTIALS), kube=kube)
    verdicts.check(identity(CREDENTIALS).source, lambda: None, wait=1)
    files = list(settings.ECRCONTROL_LOCK_DIR.iterdir())
    assert len(files) == 2
    for path in files:
        text = path.read_text()
        assert SECRET not in text and CREDENTIALS.access_key_id not in text and token.password not in text


# -- the webhook's verdicts ---------------------------------------------------------------------


@pytest.fixture
def tries():
    verdicts.forget()
    calls = []

    def attempt(credentials):
        def call():
            calls.append(credentials)
            time.sleep(0.1)
            if credentials.access_key_id == "AKIAREJECTED":
                raise ecr.ECRError("ECR rejected the credentials: AccessDenied: no", permanent=True)

        return call

    yield calls, attempt
    verdicts.forget()


def test_accepted_credentials_are_not_tried_again_in_this_or_another_process(tries):
    calls, attempt = tries
    for _ in range(5):
        verdicts.check(identity(CREDENTIALS).source, attempt(CREDENTIALS), wait=1)
    verdicts.forget()  # another web process: no memory of it, only the shared record
    verdicts.check(identity(CREDENTIALS).source, attempt(CREDENTIALS), wait=1)
    assert len(calls) == 1


def test_concurrent_checks_of_the_same_credentials_make_one_call(tries):
    calls, attempt = tries
    threads = [
        threading.Thread(target=verdicts.check, args=(identity(CREDENTIALS).source, attempt(CREDENTIALS), 2))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1


def test_a_rejection_is_not_remembered_and_a_rotated_key_is_checked(tries):
    calls, attempt = tries
    rejected = ecr.Credentials("AKIAREJECTED", SECRET, "eu-west-1")
    for _ in range(2):
        with pytest.raises(ecr.ECRError):
            verdicts.check(identity(rejected).source, attempt(rejected), wait=1)
    assert len(calls) == 2
    verdicts.check(identity(CREDENTIALS).source, attempt(CREDENTIALS), wait=1)
    rotated = ecr.Credentials(CREDENTIALS.access_key_id, "a-new-secret", CREDENTIALS.region)
    verdicts.check(identity(rotated).source, attempt(rotated), wait=1)
    assert calls[2:] == [CREDENTIALS, rotated]


def test_a_verdict_runs_out(tries, settings):
    calls, attempt = tries
    settings.ECRCONTROL_WEBHOOK_VERDICT_SECONDS = 0.2
    verdicts.check(identity(CREDENTIALS).source, attempt(CREDENTIALS), wait=1)
    time.sleep(0.3)
    verdicts.check(identity(CREDENTIALS).source, attempt(CREDENTIALS), wait=1)
    assert len(calls) == 2


def test_an_unusable_lock_directory_costs_the_sharing_not_the_token(ecr_calls, settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings.ECRCONTROL_LOCK_DIR = blocker / "locks"  # under a regular file: cannot be created
    assert tokens.TokenCache().get(identity(CREDENTIALS)).password == "pw1"
    verdicts.check(identity(CREDENTIALS).source, lambda: None, wait=1)
