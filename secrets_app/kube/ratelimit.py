"""Client-side flow control for requests to the API server, as client-go's.

A token bucket (`QPS` tokens a second, up to `Burst` saved up) spaces requests out, so that a
thousand reconciles at once do not arrive at the API server at once; and an answer that asks
to come back later (429 from API Priority and Fairness or max-in-flight, or a 5xx, with a
`Retry-After` header: the server did not do the request) is retried after the time it names,
a few times, before the error goes up to the reconcile's own backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_RETRIES = 5  # client-go's rest client makes up to 10; the reconcile's backoff takes over here
RETRY_AFTER_CAP = 10.0  # seconds: one wait, whatever the server asks
RETRY_BUDGET = 20.0  # seconds of waits per request, well inside the reconcile lease (60 s)
SLOW_WAIT = 1.0  # a wait for a token longer than this is logged (at most every LOG_EVERY seconds)
LOG_EVERY = 10.0


class TokenBucket:
    """`qps` requests a second on average, `burst` at once after a quiet time; thread-safe.

    Each caller reserves the next token and sleeps until it is due (outside the lock), so callers
    are served in the order they came, as golang.org/x/time/rate's Wait. `qps` 0: no limit."""

    def __init__(
        self,
        qps: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if qps < 0 or (qps and burst < 1):
            raise ValueError(f"a token bucket needs qps >= 0 and burst >= 1 (got {qps}, {burst})")
        self.qps, self.burst = qps, burst
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._at = clock()
        self._logged_at = float("-inf")

    def reserve(self) -> float:
        """Take a token: the seconds to wait before it may be used (0 when one was saved up)."""
        if not self.qps:
            return 0.0
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.qps)
            self._at = now
            self._tokens -= 1.0  # below zero: owed, paid back by the time the wait is over
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def wait(self) -> float:
        """Block until a token is due; returns how long that took."""
        delay = self.reserve()
        if delay > 0:
            if delay > SLOW_WAIT and self.clock() - self._logged_at > LOG_EVERY:
                self._logged_at = self.clock()
                log.info(
                    "waiting %.1fs for client-side throttling (ECRCONTROL_KUBE_QPS=%g, "
                    "ECRCONTROL_KUBE_BURST=%d), not the API server's priority and fairness",
                    delay,
                    self.qps,
                    self.burst,
                )
            self.sleep(delay)
        return delay


def retry_after(exc: Exception) -> float | None:
    """The seconds a refused request should wait before it is sent again (capped), or None if it
    should not be: only 429 and 5xx answers that carry a `Retry-After` header in seconds, which the
    API server sends when it did not carry the request out (client-go's `checkWait`)."""
    status = getattr(exc, "status", 0) or 0
    if status != 429 and not 500 <= status <= 599:
        return None
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None  # absent, or an HTTP date (the API server sends seconds)
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def send(
    request: Callable[[], object],
    limiter: TokenBucket | None,
    retryable: type[Exception],
    sleep: Callable[[float], None] = time.sleep,
    describe: str = "",
):
    """`request()` once a token is due; again after a `Retry-After` wait, up to MAX_RETRIES times
    and RETRY_BUDGET seconds of waits. Other errors, and the last refusal, go to the caller.
    `limiter` None: a long-running request (a watch), sent at once and never retried here."""
    waited = 0.0
    for attempt in range(MAX_RETRIES + 1):
        if limiter is not None:
            limiter.wait()
        try:
            return request()
        except retryable as exc:
            delay = retry_after(exc) if limiter is not None else None
            if delay is None or attempt == MAX_RETRIES or waited + delay > RETRY_BUDGET:
                raise
            log.info(
                "%s: the API server answered %s (retry after %gs); retrying", describe, exc.status, delay
            )
            waited += delay
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["TokenBucket", "retry_after", "send"]
