"""The managed Secrets in the admin: read-only, they follow from the pull secret resources."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import ManagedSecret
from . import columns
from .filters import ExpiringSoonFilter


@admin.register(ManagedSecret)
class ManagedSecretAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        columns.state,
        "owner",
        columns.expires,
        columns.last_written,
        "cluster",
    )
    list_filter = ("cluster", "state", "owner_kind", ExpiringSoonFilter)
    search_fields = ("name", "namespace", "owner_name", "last_error")
    list_select_related = ("cluster",)
    list_per_page = 50

    @admin.display(description="owner", ordering="owner_name")
    def owner(self, row: ManagedSecret) -> str:
        short = "caeps" if row.owner_kind.startswith("Cluster") else "aeps"
        name = f"{row.owner_namespace}/{row.owner_name}" if row.owner_namespace else row.owner_name
        return f"{short} {name}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
