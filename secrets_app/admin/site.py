"""The admin site: ecrcontrol's title, and the dashboard as its home page.

The dashboard answers "is anything broken, what, why, since when, what expires next" first: per
cluster counts, the soonest expiry and next refresh, then the failing resources, longest failing
first, paginated. A constant number of queries whatever the number of resources.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from ..choices import ResourceKind
from ..services import connectivity
from ..services.reporting import summary

PROBLEMS_PER_PAGE = 25
CHANGE_URLS = {
    ResourceKind.NAMESPACED.value: "admin:secrets_app_namespacedpullsecret_change",
    ResourceKind.CLUSTER.value: "admin:secrets_app_clusterpullsecret_change",
}


class EcrcontrolAdminSite(admin.AdminSite):
    site_header = "ecrcontrol"
    site_title = "ecrcontrol"
    index_title = "Dashboard"
    # The list pages need the width (no horizontal scroll at 1,366 px); breadcrumbs lead home.
    enable_nav_sidebar = False

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().index(request, {**dashboard_context(request), **(extra_context or {})})


def dashboard_context(request: HttpRequest) -> dict:
    clusters = summary.clusters()
    page = Paginator(summary.failing(), PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    problems = [summary.Problem(*row) for row in page.object_list]
    return {
        "clusters": [(s, connectivity.of(s.cluster)) for s in clusters],
        "problems": [(p, reverse(CHANGE_URLS[p.kind], args=[p.id])) for p in problems],
        "problems_page": page,
    }
