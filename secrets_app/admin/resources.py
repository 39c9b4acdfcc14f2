"""The two custom resource kinds in the admin: list, page (status, Secrets, Events), edits, refresh.

Edits never save the row: the form writes to the cluster through services.writer (see forms.py)
and the row follows from the result and the watch. Deletes go through the writer too.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from ..choices import IdentityKind, SecretState
from ..models import ClusterPullSecret, ManagedSecret, NamespacedPullSecret, PullSecretResource
from ..models.resources import health
from ..services import writer
from ..services.identity import access, refresh
from ..services.reporting import events
from ..services.secrets.managed import secrets_by_namespace, targets
from . import columns
from .filters import ExpiringSoonFilter, StatusFilter
from .forms import ClusterResourceForm, NamespacedResourceForm

MSG_REFRESH_STARTED = (
    "Refresh started for {identity} in {region}: a new token, and every Secret that uses it "
    "rewritten within seconds."
)
MSG_REFRESH_LOG = "Refresh now requested."


NAMED_AS = {
    IdentityKind.SECRET: "the keys in Secret",
    IdentityKind.SERVICE_ACCOUNT: "ServiceAccount",
    IdentityKind.AMBIENT: "the operator's own identity",
}


def identity_words(identity: refresh.Identity) -> str:
    """A refresh identity's name in words: "access key AKIA..." for inline keys, "the keys in Secret
    team-a/aws-creds", "ServiceAccount team-a/puller as arn:...", "the operator's own identity"."""
    first, _, rest = identity.access_key_id.partition(" ")
    if first in NAMED_AS:
        return f"{NAMED_AS[first]} {rest}".strip()
    return f"access key {identity.access_key_id}"


class FailingFirstChangeList(ChangeList):
    """Shows the list's real default order (failing first) in the column headers, and counts the
    Secrets of the page's rows only."""

    def _get_default_ordering(self):
        return self.model_admin.default_order

    def get_results(self, request: HttpRequest) -> None:
        """The page's rows, each with `secrets_synced` and `secrets_total`, in one query for the page.
        Not annotated in get_queryset: a subquery per row there is run for every row sorted (all
        of them, as the order is failing first), not for the page's 50."""
        super().get_results(request)
        counts = secret_counts(self.result_list)  # evaluates the page; the template reuses its rows
        for row in self.result_list:
            row.secrets_synced, row.secrets_total = counts.get((row.cluster_id, row.uid), (0, 0))


def secret_counts(rows) -> dict[tuple[int, str], tuple[int, int]]:
    """(synced, total) managed Secret rows of each resource, by (cluster id, uid): one query."""
    uids = {row.uid for row in rows if row.uid}
    if not uids:
        return {}
    found = (
        ManagedSecret.objects.filter(owner_uid__in=uids)
        .values("cluster_id", "owner_uid")
        .annotate(synced=Count("pk", filter=Q(state=SecretState.SYNCED)), total=Count("pk"))
        .order_by()
    )
    return {(r["cluster_id"], r["owner_uid"]): (r["synced"], r["total"]) for r in found}


class ResourceAdmin(admin.ModelAdmin):
    change_form_template = "admin/secrets_app/resource_change_form.html"
    list_filter = ("cluster", StatusFilter, "reason", "identity_kind", "region", ExpiringSoonFilter)
    search_fields = (
        "name",
        "secret_name",
        "access_key_id",
        "credentials_ref",
        "role_arn",
        "reason",
        "message",
        "service_accounts",
        "registries",
    )
    radio_fields = {"identity_kind": admin.VERTICAL}
    actions = ["refresh_now"]
    list_per_page = 50
    default_order = ("health", "name")  # failing first (see get_queryset's `health`)
    save_on_top = False

    # -- list ----------------------------------------------------------------------------------
    def get_ordering(self, request: HttpRequest) -> tuple:
        return self.default_order

    def get_changelist(self, request: HttpRequest, **kwargs):
        return FailingFirstChangeList

    def get_queryset(self, request: HttpRequest):
        # failing first, then pending, then ready
        annotated = self.model._default_manager.select_related("cluster").annotate(health=health())
        return annotated.order_by(*self.get_ordering(request))

    @admin.display(description="secrets ok")
    def secrets_ok(self, row: PullSecretResource) -> str:
        """Secrets synced of those wanted, and below, small, where they go (columns.reach): the list
        fits 1,366 px with no column of its own for it."""
        wanted = len(targets(row))
        if getattr(row, "namespace_selector", None) is not None:  # the selected ones have Secret rows
            wanted = max(wanted, row.secrets_total)
        return format_html("{}/{}{}", row.secrets_synced, wanted, columns.reach(row))

    def get_actions(self, request: HttpRequest) -> dict:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # one at a time, with the list of Secrets that go with it
        return found

    @admin.action(description="Refresh now (new token, Secrets rewritten)", permissions=["change"])
    def refresh_now(self, request: HttpRequest, queryset) -> None:
        rows = list(queryset)
        started, refused = refresh.request_many(rows)
        for identity in started:
            message = MSG_REFRESH_STARTED.format(identity=identity_words(identity), region=identity.region)
            self.message_user(request, message, messages.SUCCESS)
        for exc in refused:
            self.message_user(request, str(exc), messages.WARNING)
        for row in rows:
            if refresh.identity_of(row) in started:
                self.log_change(request, row, MSG_REFRESH_LOG)

    # -- the page ------------------------------------------------------------------------------
    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        if obj is None:
            return ()
        return ("cluster", "name", *(("namespace",) if isinstance(obj, NamespacedPullSecret) else ()))

    def get_fieldsets(self, request: HttpRequest, obj=None) -> list:
        if obj is None or self.has_change_permission(request, obj):
            return super().get_fieldsets(request, obj)
        # A viewer's page: read-only, without the write-only fields, the identity in words.
        main = self.fieldsets[0][1]["fields"]
        shown_as = {  # in words, not JSON
            "namespaces": "namespace_list",
            "namespace_selector": "selector_description",
            "service_accounts": "service_account_list",
            "registries": "registry_list",
        }
        inline = obj.identity_kind == IdentityKind.INLINE
        identity = (
            "identity_description",
            *(("access_key_id",) if inline else ()),
            "region",
            "role_description",
        )
        return [
            (None, {"fields": [shown_as.get(f, f) for f in main]}),
            (REACH_TITLE, {"fields": [shown_as[f] for f in REACH]}),
            ("AWS access", {"fields": identity}),
        ]

    @admin.display(description="namespaces")
    def namespace_list(self, obj: PullSecretResource) -> str:
        return ", ".join(targets(obj)) or "-"

    @admin.display(description="namespace selector")
    def selector_description(self, obj: PullSecretResource) -> str:
        text = columns.selector_text(getattr(obj, "namespace_selector", None))
        return format_html("<code>{}</code>", text) if text else "-"

    @admin.display(description="ServiceAccounts")
    def service_account_list(self, obj: PullSecretResource) -> str:
        return columns.service_accounts_text(obj.service_accounts) or "-"

    @admin.display(description="registries")
    def registry_list(self, obj: PullSecretResource) -> str:
        hosts = columns.registry_hosts(obj.registries)
        return format_html_join(mark_safe("<br>"), "<code>{}</code>", ((h,) for h in hosts)) or "-"

    @admin.display(description="AWS identity")
    def identity_description(self, obj: PullSecretResource) -> str:
        shown = obj.aws_access if isinstance(obj.aws_access, dict) else {}
        kind = obj.identity_kind
        words = IdentityKind(kind).label if kind in IdentityKind.values else kind
        details = []
        if kind == IdentityKind.SECRET:
            ref = shown.get("secretRef") if isinstance(shown.get("secretRef"), dict) else {}
            keys = [
                ref.get(f) or default
                for f, default in zip(SECRET_KEY_FIELDS, access.DEFAULT_KEYS, strict=True)
            ]
            details = [obj.credentials_ref, "keys " + ", ".join(keys)]
        elif kind == IdentityKind.SERVICE_ACCOUNT:
            ref = shown.get("serviceAccountRef") if isinstance(shown.get("serviceAccountRef"), dict) else {}
            details = [obj.credentials_ref, "audience " + (ref.get("audience") or access.DEFAULT_AUDIENCE)]
        return f"{words}: {'; '.join(details)}" if details else words

    @admin.display(description="role")
    def role_description(self, obj: PullSecretResource) -> str:
        shown = obj.aws_access if isinstance(obj.aws_access, dict) else {}
        if not obj.role_arn:
            return "-"
        extra = [f"{label} {shown[key]}" for key, label in ROLE_EXTRAS if shown.get(key)]
        return "; ".join([obj.role_arn, *extra])

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        from ..models import Cluster

        clusters = list(Cluster.objects.values_list("pk", flat=True)[:2])
        if len(clusters) == 1:
            initial.setdefault("cluster", clusters[0])
        return initial

    def status_context(self, request: HttpRequest, obj: PullSecretResource) -> dict:
        return {
            "row": obj,
            "selector": columns.selector_text(getattr(obj, "namespace_selector", None)),
            "secrets": secrets_by_namespace(obj),
            "refresh_allowed_at": refresh.next_allowed(obj),
            "status_url": reverse(self._url_name("status"), args=[obj.pk]),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:
            context.update(self.status_context(request, obj))
            context["events"] = events.recent(obj)
            context["refresh_url"] = reverse(self._url_name("refresh"), args=[obj.pk])
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        own = [
            path("<path:object_id>/status/", view(self.status_view), name=self._name("status")),
            path("<path:object_id>/refresh/", view(self.refresh_view), name=self._name("refresh")),
        ]
        return own + super().get_urls()

    def _name(self, what: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{what}"

    def _url_name(self, what: str) -> str:
        return f"{self.admin_site.name}:{self._name(what)}"

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The status part of the page alone: the page polls it to show the controller's progress."""
        obj = self.get_object(request, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        if obj is None:
            return HttpResponse(
                '<p class="errornote">This resource no longer exists in the cluster.</p>', status=404
            )
        return render(request, "admin/secrets_app/resource_status.html", self.status_context(request, obj))

    def refresh_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, object_id)
        if request.method != "POST" or not self.has_change_permission(request, obj):
            raise PermissionDenied
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:
            identity = refresh.request(obj)
        except refresh.RefreshRefused as exc:
            self.message_user(request, str(exc), messages.WARNING)
        else:
            message = MSG_REFRESH_STARTED.format(identity=identity_words(identity), region=identity.region)
            self.message_user(request, message, messages.SUCCESS)
            self.log_change(request, obj, MSG_REFRESH_LOG)
        return HttpResponseRedirect(reverse(self._url_name("change"), args=[obj.pk]))

    # -- the admin's history ------------------------------------------------------------------
    # Its entries name the model by content type, from a per-process cache that goes stale if the
    # table is re-created while the web role runs (a database restore; the tests' flushes): the
    # entry would then fail its foreign key. Read afresh, as the REST API's entries are.
    def log_addition(self, request: HttpRequest, obj, message):
        ContentType.objects.clear_cache()
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj, message):
        ContentType.objects.clear_cache()
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset):
        ContentType.objects.clear_cache()
        return super().log_deletions(request, queryset)

    # -- writes: through services.writer only ---------------------------------------------------
    def save_form(self, request: HttpRequest, form, change: bool):
        return form.written  # the form wrote it to the cluster while validating

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        """Nothing to save: the row is the writer's result and follows the cluster from now on."""

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """No related objects to save."""

    def response_post_save_add(self, request: HttpRequest, obj) -> HttpResponse:
        return HttpResponseRedirect(reverse(self._url_name("change"), args=[obj.pk]))

    def response_post_save_change(self, request: HttpRequest, obj) -> HttpResponse:
        return HttpResponseRedirect(reverse(self._url_name("change"), args=[obj.pk]))

    def get_deleted_objects(self, objs, request: HttpRequest):
        listed, count = [], {}
        for obj in objs:
            secrets = [
                f"Secret {ns}/{obj.secret_name}" + (f" ({secret.get_state_display()})" if secret else "")
                for ns, secret in secrets_by_namespace(obj)
            ]
            listed += [f"{self.opts.verbose_name}: {obj} (cluster {obj.cluster})", secrets]
            count[self.opts.verbose_name] = count.get(self.opts.verbose_name, 0) + 1
            count["Secrets"] = count.get("Secrets", 0) + len(secrets)
        return listed, count, set(), []

    def delete_model(self, request: HttpRequest, obj) -> None:
        writer.delete_from_cluster(obj)

    def delete_view(self, request, object_id, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except writer.WriteError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse(self._url_name("change"), args=[object_id]))


COLUMNS = (
    columns.identity,
    columns.role,
    "secrets_ok",
    columns.expires,
    columns.next_refresh,
    columns.last_refresh,
    "cluster",
)
SECRET_KEY_FIELDS = ("accessKeyIdKey", "secretAccessKeyKey", "sessionTokenKey")
REACH = ("service_accounts", "registries")
REACH_TITLE = "ServiceAccounts and registries"
REACH_FIELDSET = (
    REACH_TITLE,
    {
        "description": "Optional. ServiceAccounts get the Secret in their imagePullSecrets, so that their "
        "pods pull without naming it; more registries (other accounts and regions) go into the same Secret.",
        "fields": REACH,
    },
)
ROLE_EXTRAS = (("externalId", "external ID"), ("roleSessionName", "session name"))


def identity_fieldsets(namespaced: bool) -> tuple:
    """The AWS identity's part of the form: the kind, then a fieldset per kind (the page shows the
    chosen kind's only), then the role, which any kind may assume."""
    own = " in this resource's namespace" if namespaced else ""
    ref_namespace = () if namespaced else ("secret_ref_namespace",)
    sa_namespace = () if namespaced else ("service_account_namespace",)
    return (
        ("AWS access", {"fields": ("identity_kind", "region", "shown_generation")}),
        (
            "Keys in the resource",
            {"classes": ("identity", "identity-inline"), "fields": ("access_key_id", "secret_access_key")},
        ),
        (
            "Keys in a Secret",
            {
                "classes": ("identity", "identity-secret"),
                "description": f"A Secret{own} whose data holds the access key ID and the secret access "
                "key (e.g. <code>kubectl create secret generic aws-creds --from-literal=AWS_ACCESS_KEY_ID=… "
                "--from-literal=AWS_SECRET_ACCESS_KEY=…</code>). The operator reads it when it fetches a "
                "token, and again when it changes; ecrcontrol never stores or shows the keys.",
                "fields": (
                    "secret_ref_name",
                    *ref_namespace,
                    ("access_key_id_key", "secret_access_key_key", "session_token_key"),
                ),
            },
        ),
        (
            "ServiceAccount web identity",
            {
                "classes": ("identity", "identity-serviceAccount"),
                "description": f"A ServiceAccount{own}: ecrcontrol requests a short-lived token for it and "
                "assumes the role below with it (AssumeRoleWithWebIdentity), as IRSA does for pods. The "
                "role's trust policy must trust the cluster's service account issuer for "
                "<code>system:serviceaccount:NAMESPACE:NAME</code> and the audience.",
                "fields": ("service_account_name", *sa_namespace, "audience"),
            },
        ),
        (
            "Role to assume",
            {
                "classes": ("identity-role",),
                "description": "Optional, except with a ServiceAccount: the identity above assumes this "
                "IAM role (STS) and the role's credentials fetch the token.",
                "fields": ("role_arn", "external_id", "role_session_name"),
            },
        ),
    )


@admin.register(NamespacedPullSecret)
class NamespacedPullSecretAdmin(ResourceAdmin):
    form = NamespacedResourceForm
    fieldsets = (
        (None, {"fields": ("cluster", "namespace", "name", "secret_name")}),
        REACH_FIELDSET,
        *identity_fieldsets(True),
    )
    list_display = ("__str__", columns.status, *COLUMNS)
    search_fields = ("namespace", *ResourceAdmin.search_fields)
    default_order = ("health", "namespace", "name")


@admin.register(ClusterPullSecret)
class ClusterPullSecretAdmin(ResourceAdmin):
    form = ClusterResourceForm
    fieldsets = (
        (None, {"fields": ("cluster", "name", "secret_name", "namespaces", "namespace_selector")}),
        REACH_FIELDSET,
        *identity_fieldsets(False),
    )
    list_display = ("name", columns.status, *COLUMNS)
    search_fields = ("namespaces", "namespace_selector", *ResourceAdmin.search_fields)
