"""The first admin login (the chart's generated Secret): created once, never overwritten."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction


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
