"""Django app configuration."""

from importlib import import_module

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class SecretsAppConfig(AppConfig):
    name = "secrets_app"
    verbose_name = "ECR pull secrets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Started by `make run` or the tests: the processes this one forks die with it too.
        from .lifecycle import forks_die_with_parent

        forks_die_with_parent()


class EcrcontrolAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with ecrcontrol's site (its title and the dashboard as the home page)."""

    default = False  # secrets_app's own config stays SecretsAppConfig

    def ready(self) -> None:
        super().ready()
        from secrets_app import admin

        for module in admin.MODULES:
            import_module(f"secrets_app.admin.{module}")

    default_site = "secrets_app.admin.site.EcrcontrolAdminSite"
