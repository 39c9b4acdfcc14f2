"""`manage.py apitoken`: a token for a script's user, in the role asked for."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from secrets_app import roles

pytestmark = pytest.mark.django_db


def apitoken(*args: str) -> str:
    out = io.StringIO()
    call_command("apitoken", *args, stdout=out)
    return out.getvalue().strip()


def test_a_role_creates_the_user_without_password_and_prints_its_token():
    key = apitoken("ci-bot", "--role", "viewer")
    user = User.objects.get(username="ci-bot")
    assert Token.objects.get(user=user).key == key and len(key) == 40
    assert not user.has_usable_password() and not user.is_staff
    assert [g.name for g in user.groups.all()] == [roles.VIEWERS]
    assert user.has_perm("secrets_app.view_clusterpullsecret")
    assert not user.has_perm("secrets_app.change_clusterpullsecret")


def test_the_same_token_is_printed_again_until_reset_and_a_new_role_replaces_the_old():
    first = apitoken("ci-bot", "--role", "viewer")
    assert apitoken("ci-bot") == first
    second = apitoken("ci-bot", "--role", "operator", "--reset")
    assert second != first and not Token.objects.filter(key=first).exists()
    assert [g.name for g in User.objects.get(username="ci-bot").groups.all()] == [roles.OPERATORS]


def test_an_unknown_user_without_a_role_is_an_error_saying_what_to_do():
    with pytest.raises(CommandError, match="no user 'ghost': add --role viewer or --role operator"):
        apitoken("ghost")
