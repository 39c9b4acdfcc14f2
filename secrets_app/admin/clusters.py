"""Cluster rows in the admin: add, change, remove; saving tests the connection.

Only where the kubeconfig is (a path and a context) is stored, never its content or a token. The
controller notices new, changed and removed rows within seconds and starts or stops watching.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from ..models import Cluster
from ..services import connectivity
from .forms import ClusterForm

MSG_CONNECTED = (
    "Connection test: API server {version} answered. The controller starts watching within seconds."
)
MSG_UNREACHABLE = "Saved although the connection test failed: {error}"


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterForm
    list_display = ("name", "kubeconfig_path", "context", "in_cluster", "connection", "created")
    search_fields = ("name", "kubeconfig_path", "context")
    fields = ("name", "kubeconfig_path", "context", "in_cluster", "save_unreachable")

    @admin.display(description="connection")
    def connection(self, cluster: Cluster) -> str:
        found = connectivity.of(cluster)
        return found.version if found.ok else f"unreachable: {found.error}"

    def get_deleted_objects(self, objs, request: HttpRequest):
        """Removing a Cluster row forgets its mirror rows here; nothing is deleted in the cluster."""
        listed, count = [], {}
        for cluster in objs:
            mirrored = {
                "pull secret rows": cluster.namespacedpullsecret_set.count()
                + cluster.clusterpullsecret_set.count(),
                "managed Secret rows": cluster.managedsecret_set.count(),
            }
            listed += [
                f"Cluster {cluster} (stops being watched)",
                [f"{n} {what}" for what, n in mirrored.items()],
            ]
            listed.append("Nothing is deleted in the cluster itself.")
            count["Clusters"] = count.get("Clusters", 0) + 1
        return listed, count, set(), []

    def save_model(self, request: HttpRequest, obj: Cluster, form: ClusterForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        found = form.connection
        if found and found.ok:
            self.message_user(request, MSG_CONNECTED.format(version=found.version), messages.SUCCESS)
        elif found:
            self.message_user(request, MSG_UNREACHABLE.format(error=found.error), messages.WARNING)
