"""The client-side rate limit (token bucket) and the honouring of Retry-After, on a fake clock."""

from __future__ import annotations

import json
import threading

import pytest
from kubernetes.client.rest import ApiException

from secrets_app.kube import ratelimit
from secrets_app.kube.connection import _is_watch
from secrets_app.kube.errors import Unavailable, from_api_exception
from secrets_app.kube.ratelimit import TokenBucket, retry_after, send

from .test_settings import load_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(qps: float, burst: int) -> tuple[TokenBucket, FakeClock]:
    clock = FakeClock()
    return TokenBucket(qps, burst, clock=clock, sleep=clock.sleep), clock


def refused(status: int, retry_after_header: str | None = None) -> ApiException:
    exc = ApiException(status=status, reason="Too Many Requests")
    exc.headers = {"Retry-After": retry_after_header} if retry_after_header is not None else {}
    return exc


# -- the token bucket ---------------------------------------------------------------------------
def test_a_full_bucket_lets_a_burst_through_at_once_then_spaces_requests_by_one_over_qps():
    limiter, clock = bucket(qps=10, burst=3)
    assert [limiter.wait() for _ in range(3)] == [0, 0, 0]
    assert clock.slept == []
    for _ in range(4):
        limiter.wait()
    assert clock.slept == pytest.approx([0.1] * 4)
    assert clock.now == pytest.approx(1000.4)


def test_a_quiet_time_refills_the_bucket_but_never_beyond_the_burst():
    limiter, clock = bucket(qps=10, burst=5)
    for _ in range(5):
        limiter.wait()
    clock.now += 0.25  # two and a half tokens back
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0, 0, 0.05])
    clock.now += 3600
    assert [limiter.reserve() for _ in range(5)] == [0] * 5
    assert limiter.reserve() == pytest.approx(0.1)


def test_waiters_queue_up_in_turn_rather_than_all_waking_at_once():
    limiter, _ = bucket(qps=100, burst=1)
    assert [limiter.reserve() for _ in range(5)] == pytest.approx([0, 0.01, 0.02, 0.03, 0.04])


def test_concurrent_callers_each_get_a_distinct_turn():
    limiter, _ = bucket(qps=50, burst=10)
    delays, lock = [], threading.Lock()

    def take() -> None:
        for _ in range(25):
            delay = limiter.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 200 tokens on a clock that never moves: 10 saved up, then one every 1/50 s, none shared.
    assert sorted(delays) == pytest.approx([0] * 10 + [(i + 1) / 50 for i in range(190)])


def test_qps_zero_means_no_client_side_limit():
    limiter, clock = bucket(qps=0, burst=1)
    assert sum(limiter.wait() for _ in range(10_000)) == 0
    assert clock.slept == []


@pytest.mark.parametrize(("qps", "burst"), [(-1, 10), (5, 0)])
def test_an_impossible_bucket_is_refused(qps, burst):
    with pytest.raises(ValueError, match="qps >= 0 and burst >= 1"):
        TokenBucket(qps, burst)


# -- Retry-After -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [
        (429, "1", 1.0),
        (429, "3", 3.0),
        (503, "2", 2.0),
        (504, "1", 1.0),  # the API server's own timeout: it sends Retry-After with it
        (429, "3600", ratelimit.RETRY_AFTER_CAP),
        (429, None, None),  # no header: the reconcile's backoff, not a retry here
        (500, None, None),
        (429, "Wed, 21 Oct 2026 07:28:00 GMT", None),
        (409, "1", None),  # a conflict is no request to come back: re-read instead
        (404, "1", None),
    ],
)
def test_retry_after_is_honoured_only_where_the_server_did_not_do_the_request(status, header, expected):
    assert retry_after(refused(status, header)) == expected


def test_a_refused_request_is_sent_again_after_retry_after_and_takes_a_token_each_time():
    limiter, clock = bucket(qps=1, burst=1)
    answers = [refused(429, "2"), refused(429, "2"), "created"]

    def request():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert send(request, limiter, ApiException, sleep=clock.sleep) == "created"
    # the server's 2 s twice; the bucket had a token back by each retry (1 qps)
    assert clock.slept == [2.0, 2.0]


def test_refusals_go_up_to_the_reconcile_after_max_retries():
    limiter, clock = bucket(qps=1000, burst=1000)
    calls = []

    def request():
        calls.append(clock.now)
        raise refused(429, "1")

    with pytest.raises(ApiException) as raised:
        send(request, limiter, ApiException, sleep=clock.sleep)
    assert raised.value.status == 429
    assert len(calls) == ratelimit.MAX_RETRIES + 1
    assert isinstance(from_api_exception(raised.value), Unavailable)


def test_retries_stop_when_their_waits_would_pass_the_budget():
    limiter, clock = bucket(qps=1000, burst=1000)
    calls = []

    def request():
        calls.append(1)
        raise refused(503, "10")  # capped at 10 s: two waits fit the 20 s budget, a third does not

    with pytest.raises(ApiException):
        send(request, limiter, ApiException, sleep=clock.sleep)
    assert len(calls) == 3
    assert sum(clock.slept) <= ratelimit.RETRY_BUDGET


def test_other_errors_are_not_retried():
    limiter, clock = bucket(qps=1000, burst=1000)
    calls = []

    def request():
        calls.append(1)
        raise refused(409, "1")

    with pytest.raises(ApiException):
        send(request, limiter, ApiException, sleep=clock.sleep)
    assert calls == [1] and clock.slept == []


def test_a_watch_takes_no_token_and_is_not_retried_here():
    limiter, clock = bucket(qps=1, burst=1)
    limiter.wait()  # the bucket is empty: a request would wait a second
    assert send(lambda: "stream", None, ApiException, sleep=clock.sleep) == "stream"
    assert clock.slept == []


@pytest.mark.parametrize(
    ("query", "watch"),
    [
        ([("watch", True), ("resourceVersion", "5")], True),
        ([("watch", "true")], True),  # the metadata watch passes its query as strings
        ({"watch": True}, True),
        ([("watch", False)], False),
        ([("labelSelector", "a=b")], False),
        (None, False),
    ],
)
def test_watch_requests_are_told_from_their_query(query, watch):
    assert _is_watch(query) is watch


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [0, 408, 429, 500, 502, 503, 504])
def test_throttling_timeouts_and_server_errors_are_temporary(status):
    error = from_api_exception(ApiException(status=status, reason="x"))
    assert isinstance(error, Unavailable) and error.temporary


# -- settings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "env",
    [
        {"ECRCONTROL_KUBE_QPS": "fast"},
        {"ECRCONTROL_KUBE_QPS": "-5"},
        {"ECRCONTROL_KUBE_QPS": "inf"},
        {"ECRCONTROL_KUBE_BURST": "0"},
        {"ECRCONTROL_KUBE_BURST": "1.5"},
    ],
)
def test_a_bad_qps_or_burst_is_refused_at_start(env):
    result = load_settings(DJANGO_SECRET_KEY="x", **env)
    assert result.returncode != 0
    assert "ECRCONTROL_KUBE_QPS=" in result.stderr and "use requests per second >= 0" in result.stderr


def test_qps_and_burst_are_read_from_the_environment():
    off = load_settings(DJANGO_SECRET_KEY="x", ECRCONTROL_KUBE_QPS="0", ECRCONTROL_KUBE_BURST="1")
    assert off.returncode == 0
    assert load_settings(DJANGO_SECRET_KEY="x", ECRCONTROL_KUBE_QPS="20.5").returncode == 0


def test_every_cluster_client_sends_through_a_bucket_of_the_configured_size(tmp_path, settings):
    from secrets_app.kube import connection

    settings.ECRCONTROL_KUBE_QPS, settings.ECRCONTROL_KUBE_BURST = 42.0, 84
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    connection.reset()
    try:
        rest_client = connection.api_client(str(kubeconfig)).rest_client
        assert isinstance(rest_client, connection.RateLimitedRESTClient)
        assert (rest_client.limiter.qps, rest_client.limiter.burst) == (42.0, 84)
        assert rest_client.pool_manager.connection_pool_kw["maxsize"] == connection.POOL_SIZE
    finally:
        connection.reset()
