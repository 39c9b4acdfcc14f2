"""Accounts: the first admin login (the chart's generated Secret), created once, never overwritten;
REST API tokens for scripts."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from .. import roles


def ensure_superuser(username: str, password: str, email: str = "") -> bool:
    """Create `username` as a superuser if no such user exists. True if it was created.

    An existing user is left alone, so a password changed in the admin survives restarts.
    """
    users = get_user_model()
    if users.objects.filter(username=username).exists():
        return False
    try:
        with transaction.atomic():
            users.objects.create_superuser(username=username, email=email, password=password)
    except IntegrityError:
        return False  # another pod created it at the same moment
    return True


ROLES = {"viewer": roles.VIEWERS, "operator": roles.OPERATORS}


class NoSuchUser(Exception):
    pass


def api_token(username: str, role: str | None = None, reset: bool = False) -> str:
    """The user's REST API token (made if missing, new if `reset`). With a role: the user is put in
    that role's group only, and created (with no usable password) if it does not exist."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    users = get_user_model()
    with transaction.atomic():
        user = users.objects.filter(username=username).first()
        if user is None:
            if role is None:
                raise NoSuchUser(username)
            user = users.objects.create_user(username)  # no password: only its token works
        if role is not None:
            if not Group.objects.filter(name=ROLES[role]).exists():
                roles.ensure_groups()
            user.groups.remove(*Group.objects.filter(name__in=ROLES.values()))
            user.groups.add(Group.objects.get(name=ROLES[role]))
        if reset:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
    return token.key
