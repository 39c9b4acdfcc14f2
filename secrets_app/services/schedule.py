"""When to refresh and when to retry: small pure functions of time."""

from __future__ import annotations

import datetime
import random

from django.conf import settings

from ..aws.ecr import Token


def _setting(name: str) -> float:
    return float(getattr(settings, name))


def refresh_at(token: Token) -> datetime.datetime:
    """When `refresh_fraction` of the token's lifetime is gone.

    ECR tokens live 12 hours. An `expiresAt` in the past, too close or absurdly far (clock skew,
    emulators: moto always returns one in the past) is not trusted: the documented lifetime is
    assumed instead, so a bad expiry can never cause a refresh loop.
    """
    lifetime = (token.expires_at - token.issued_at).total_seconds()
    if not (_setting("ECRCONTROL_MIN_REFRESH_SECONDS") * 2 <= lifetime <= 7 * 24 * 3600):
        lifetime = _setting("ECRCONTROL_ASSUMED_TOKEN_LIFETIME_SECONDS")
    delay = max(
        lifetime * _setting("ECRCONTROL_REFRESH_FRACTION"), _setting("ECRCONTROL_MIN_REFRESH_SECONDS")
    )
    return token.issued_at + datetime.timedelta(seconds=delay)


def backoff(failures: int) -> datetime.timedelta:
    """Exponential backoff with full jitter for temporary errors (1st failure: about the base)."""
    base, cap = _setting("ECRCONTROL_BACKOFF_BASE_SECONDS"), _setting("ECRCONTROL_BACKOFF_MAX_SECONDS")
    ceiling = min(cap, base * 2 ** max(failures - 1, 0))
    return datetime.timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311


def permanent_retry() -> datetime.timedelta:
    """How long to wait before trying rejected credentials or a blocked Secret again."""
    return datetime.timedelta(seconds=_setting("ECRCONTROL_PERMANENT_RETRY_SECONDS"))
