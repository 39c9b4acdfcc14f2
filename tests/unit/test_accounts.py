"""The first admin login: created once from the chart's Secret, never overwritten afterwards."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from secrets_app.services.accounts import ensure_superuser

pytestmark = pytest.mark.django_db


def test_created_once_and_a_changed_password_survives():
    assert ensure_superuser("admin", "first-password") is True
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password("first-password")
    user.set_password("changed-in-the-admin")
    user.save()
    assert ensure_superuser("admin", "first-password") is False
    assert get_user_model().objects.get(username="admin").check_password("changed-in-the-admin")


def test_command_reads_the_environment_and_says_what_is_missing(monkeypatch, capsys):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_PASSWORD"):
        call_command("ensureadmin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "s3cret-long-enough")
    call_command("ensureadmin")
    call_command("ensureadmin")
    out = capsys.readouterr().out
    assert "'root' created" in out and "'root' already exists" in out
