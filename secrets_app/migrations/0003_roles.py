"""The two roles of the dashboard and the REST API, as groups with Django model permissions.

"ecrcontrol viewers" may only look; "ecrcontrol operators" may also create, change and delete pull
secrets and clusters (and ask for a refresh, which is a change). Managed Secrets are read-only for
everyone: they follow from the pull secrets.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from secrets_app import roles
from secrets_app.roles import OPERATORS, VIEWERS


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles.ensure_groups(apps)


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=(VIEWERS, OPERATORS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("secrets_app", "0002_status_times_and_refreshes"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
