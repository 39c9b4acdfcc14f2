"""Webhook routes, under /webhooks/ (see ecrcontrol/urls.py)."""

from django.urls import path

from .views import MutateView, ValidateView

MUTATE_PATH, VALIDATE_PATH = "mutate", "validate"

urlpatterns = [
    path(MUTATE_PATH, MutateView.as_view(), name="webhook-mutate"),
    path(VALIDATE_PATH, ValidateView.as_view(), name="webhook-validate"),
]
