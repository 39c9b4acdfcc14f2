"""The chart's commands refuse bad arguments with a message saying what to pass, before connecting."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_webhookcerts_needs_a_namespace(monkeypatch):
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    with pytest.raises(CommandError, match="--namespace is required"):
        call_command("webhookcerts", "--secret=s", "--service=svc")


def test_webhookcerts_refuses_a_negative_interval():
    with pytest.raises(CommandError, match="must be 0"):
        call_command("webhookcerts", "--namespace=ns", "--secret=s", "--service=svc", "--every=-5")


def test_selfcheck_needs_a_namespace(monkeypatch):
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    with pytest.raises(CommandError, match="--namespace is required"):
        call_command("selfcheck", "--unmanaged-secret=x")
