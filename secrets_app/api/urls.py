"""REST API routes, under /api/ (see ecrcontrol/urls.py): /api/v1/..., the schema and its docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("awsecrimagepullsecrets", views.NamespacedPullSecretViewSet, basename="awsecrimagepullsecret")
router.register(
    "clusterawsecrimagepullsecrets", views.ClusterPullSecretViewSet, basename="clusterawsecrimagepullsecret"
)
router.register("secrets", views.ManagedSecretViewSet, basename="managedsecret")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/summary/", views.SummaryView.as_view(), name="summary"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^.*$", views.NotFoundView.as_view()),
]
