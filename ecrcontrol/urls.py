"""URL routes: the admin dashboard, health check; API and webhooks are added by the app."""

from django.contrib import admin
from django.urls import path

from secrets_app import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
]
