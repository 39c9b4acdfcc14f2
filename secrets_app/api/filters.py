"""The list endpoints' query parameters (django-filter), and a stable order for pagination.

Every ordering ends with the id, so that pages never overlap or skip rows; empty values sort last
in both directions on every database.
"""

from __future__ import annotations

import django_filters
import django_filters.fields
from django import forms
from django.db.models import F

from ..choices import ResourceKind, SecretState
from ..models import ClusterPullSecret, ManagedSecret, NamespacedPullSecret
from ..services.identity import access
from ..services.reporting.summary import RESOURCE_STATES

MSG_EMPTY_TIME = "give a date and time, e.g. 2026-12-01T06:00:00Z, or leave the parameter out."


class PresentIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time that, when the parameter is given, may not be empty."""

    def clean(self, value):
        if value == "":
            raise forms.ValidationError(MSG_EMPTY_TIME, code="required")
        return super().clean(value)


class TimeFilter(django_filters.IsoDateTimeFilter):
    field_class = PresentIsoDateTimeField


STATUS_HELP = "ready, failing (Ready is false) or pending (not reconciled yet)."


class StableOrderingFilter(django_filters.OrderingFilter):
    def filter(self, qs, value):
        if not value:
            return qs
        return qs.order_by(*(self._expression(param) for param in value), "pk")

    def _expression(self, param: str):
        descending = param.startswith("-")
        field = F(self.param_map[param.lstrip("-")])
        return field.desc(nulls_last=True) if descending else field.asc(nulls_last=True)


RESOURCE_ORDERING = {
    "cluster__name": "cluster",
    "name": "name",
    "secret_name": "secretName",
    "region": "region",
    "health": "status",
    "reason": "reason",
    "expires_at": "expiresAt",
    "next_refresh": "nextRefreshTime",
    "last_refresh": "lastRefreshTime",
    "transition_time": "lastTransitionTime",
}


class ResourceFilter(django_filters.FilterSet):
    cluster = django_filters.CharFilter(field_name="cluster__name", help_text="Cluster name.")
    name = django_filters.CharFilter(help_text="The resource's name, exactly.")
    status = django_filters.ChoiceFilter(
        choices=[(state, state) for state in RESOURCE_STATES], method="by_status", help_text=STATUS_HELP
    )
    reason = django_filters.CharFilter(help_text="The Ready condition's reason, e.g. GetAWSAuthTokenFailed.")
    region = django_filters.CharFilter(help_text="AWS region, e.g. eu-west-1.")
    secretName = django_filters.CharFilter(field_name="secret_name", help_text="The managed Secret's name.")
    accessKeyId = django_filters.CharFilter(field_name="access_key_id", help_text="The AWS access key ID.")
    identity = django_filters.ChoiceFilter(
        field_name="identity_kind",
        choices=[(kind, kind) for kind in access.KINDS],
        help_text="The base AWS identity: inline (keys in the resource), secret (keys in a Secret), "
        "serviceAccount (a ServiceAccount's web identity) or ambient (the operator's own).",
    )
    roleArn = django_filters.CharFilter(
        field_name="role_arn", help_text="The IAM role assumed, exactly (its ARN)."
    )
    expiresBefore = TimeFilter(
        field_name="expires_at",
        lookup_expr="lt",
        help_text="Only tokens that expire before this time (ISO 8601, e.g. 2026-12-01T06:00:00Z).",
    )

    def by_status(self, queryset, name, value):
        return queryset.filter(RESOURCE_STATES[value])


class NamespacedPullSecretFilter(ResourceFilter):
    namespace = django_filters.CharFilter(help_text="The resource's namespace.")
    ordering = StableOrderingFilter(
        fields={**RESOURCE_ORDERING, "namespace": "namespace"},
        help_text="Fields to sort by, comma separated, '-' for descending; status sorts failing first.",
    )

    class Meta:
        model = NamespacedPullSecret
        fields = ()


class ClusterPullSecretFilter(ResourceFilter):
    namespace = django_filters.CharFilter(
        method="by_namespace", help_text="Only resources that list this namespace in spec.namespaces."
    )
    ordering = StableOrderingFilter(
        fields=RESOURCE_ORDERING,
        help_text="Fields to sort by, comma separated, '-' for descending; status sorts failing first.",
    )

    class Meta:
        model = ClusterPullSecret
        fields = ()

    def by_namespace(self, queryset, name, value):
        # An exact element of the JSON list: its text holds the name in quotes (namespace names need
        # no escaping). Works on SQLite and PostgreSQL alike, unlike JSON containment.
        return queryset.filter(namespaces__icontains=f'"{value}"')


class ManagedSecretFilter(django_filters.FilterSet):
    cluster = django_filters.CharFilter(field_name="cluster__name", help_text="Cluster name.")
    namespace = django_filters.CharFilter()
    name = django_filters.CharFilter(help_text="The Secret's name.")
    state = django_filters.ChoiceFilter(choices=SecretState.choices)
    ownerKind = django_filters.ChoiceFilter(field_name="owner_kind", choices=ResourceKind.choices)
    ownerName = django_filters.CharFilter(field_name="owner_name")
    expiresBefore = TimeFilter(field_name="expires_at", lookup_expr="lt")
    ordering = StableOrderingFilter(
        fields={
            "cluster__name": "cluster",
            "namespace": "namespace",
            "name": "name",
            "state": "state",
            "expires_at": "expiresAt",
            "last_written": "lastWritten",
        }
    )

    class Meta:
        model = ManagedSecret
        fields = ()
