"""The two roles of the dashboard and the REST API, as groups with Django model permissions.

"ecrcontrol viewers" may only look; "ecrcontrol operators" may also create, change and delete pull
secrets and clusters (and ask for a refresh, which is a change). Managed Secrets are read-only for
everyone: they follow from the pull secrets.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWERS = "ecrcontrol viewers"
OPERATORS = "ecrcontrol operators"
MODELS = ("cluster", "namespacedpullsecret", "clusterpullsecret", "managedsecret")
EDITABLE = ("cluster", "namespacedpullsecret", "clusterpullsecret")


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="secrets_app")
    view = [f"view_{model}" for model in MODELS]
    edit = [f"{action}_{model}" for model in EDITABLE for action in ("add", "change", "delete")]
    viewers, _ = Group.objects.get_or_create(name=VIEWERS)
    viewers.permissions.set(ours.filter(codename__in=view))
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    operators.permissions.set(ours.filter(codename__in=view + edit))


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=(VIEWERS, OPERATORS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("secrets_app", "0002_status_times_and_refreshes"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
