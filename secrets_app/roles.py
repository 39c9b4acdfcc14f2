"""The two roles of the dashboard and the REST API, as groups with Django model permissions.

"ecrcontrol viewers" may only look; "ecrcontrol operators" may also create, change and delete pull
secrets and clusters (and ask for a refresh, which is a change). Managed Secrets are read-only for
everyone: they follow from the pull secrets. The data migration 0003_roles creates the groups with
`ensure_groups`; tests whose database was flushed call it again.
"""

from __future__ import annotations

from django.apps import apps as global_apps

VIEWERS = "ecrcontrol viewers"
OPERATORS = "ecrcontrol operators"
MODELS = ("cluster", "namespacedpullsecret", "clusterpullsecret", "managedsecret")
EDITABLE = ("cluster", "namespacedpullsecret", "clusterpullsecret")


def ensure_groups(apps=global_apps) -> None:
    """Create (or reset) both groups with their permissions, which must exist already."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="secrets_app")
    view = [f"view_{model}" for model in MODELS]
    edit = [f"{action}_{model}" for model in EDITABLE for action in ("add", "change", "delete")]
    viewers, _ = Group.objects.get_or_create(name=VIEWERS)
    viewers.permissions.set(ours.filter(codename__in=view))
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    operators.permissions.set(ours.filter(codename__in=view + edit))
