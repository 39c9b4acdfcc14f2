"""URL routes: the admin dashboard, health check, admission webhooks and the REST API."""

from django.contrib import admin
from django.urls import include, path

from secrets_app import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("webhooks/", include("secrets_app.webhooks.urls")),
    path("api/", include("secrets_app.api.urls")),
]
