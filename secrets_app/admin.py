"""The admin, read-only for now: every mirrored resource and managed Secret with its state.

(The editable dashboard is a later issue; edits then go through services.writer.)
"""

from django.contrib import admin

from .models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


STATUS_FIELDS = ("ready", "reason", "expires_at", "next_refresh", "last_refresh")


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyAdmin):
    list_display = ("name", "kubeconfig_path", "context", "in_cluster", "created")


@admin.register(NamespacedPullSecret)
class NamespacedPullSecretAdmin(ReadOnlyAdmin):
    list_display = ("name", "namespace", "cluster", "secret_name", "region", *STATUS_FIELDS)
    list_filter = ("cluster", "ready", "region")
    search_fields = ("name", "namespace", "secret_name", "access_key_id")


@admin.register(ClusterPullSecret)
class ClusterPullSecretAdmin(ReadOnlyAdmin):
    list_display = ("name", "cluster", "secret_name", "namespaces", "region", *STATUS_FIELDS)
    list_filter = ("cluster", "ready", "region")
    search_fields = ("name", "secret_name", "access_key_id")


@admin.register(ManagedSecret)
class ManagedSecretAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "namespace",
        "cluster",
        "owner_kind",
        "owner_name",
        "state",
        "last_written",
        "expires_at",
    )
    list_filter = ("cluster", "state", "owner_kind")
    search_fields = ("name", "namespace", "owner_name")
