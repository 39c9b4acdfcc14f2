"""Who may call the API: token or session authentication, the dashboard's model permissions, and a
per-user request rate."""

from __future__ import annotations

from django.conf import settings
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.throttling import UserRateThrottle

# Token first: an anonymous request gets 401 with `WWW-Authenticate: Token`.
AUTHENTICATION = [TokenAuthentication, SessionAuthentication]

VIEW = "%(app_label)s.view_%(model_name)s"


class ModelPermissions(DjangoModelPermissions):
    """Django's model permissions, with view permission needed to read (DRF needs none by default)
    and change permission to ask for a refresh (as in the dashboard)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": [VIEW],
        "HEAD": [VIEW],
        "OPTIONS": [VIEW],
    }

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) == "refresh":
            if not request.user or not request.user.is_authenticated:
                return False
            model = view.get_queryset().model
            return request.user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
        return super().has_permission(request, view)


class ViewPermissions(BasePermission):
    """For views without a model of their own (the summary): view permission on every listed model."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(view.required_permissions))


class PerUserThrottle(UserRateThrottle):
    """ECRCONTROL_API_THROTTLE_RATE requests per user (counted in each web process's cache)."""

    def get_rate(self) -> str:
        return settings.ECRCONTROL_API_THROTTLE_RATE
