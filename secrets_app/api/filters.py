"""The list endpoints' query parameters (django-filter), and a stable order for pagination.

Every ordering ends with the id, so that pages never overlap or skip rows; empty values sort last
in both directions on every database.
"""

from __future__ import annotations

import re

import django_filters
import django_filters.fields
from django import forms
from django.db.models import F, Q

from ..choices import ResourceKind, SecretState
from ..models import ClusterPullSecret, ManagedSecret, NamespacedPullSecret
from ..services import specs
from ..services.identity import access
from ..services.reporting.summary import RESOURCE_STATES

MSG_EMPTY_TIME = "give a date and time, e.g. 2026-12-01T06:00:00Z, or leave the parameter out."
MSG_SERVICE_ACCOUNT = 'give a ServiceAccount name (e.g. default), or "*".'
MSG_ACCOUNT_ID = "give an AWS account ID: its 12 digits, such as 123456789012."
SERVICE_ACCOUNT = re.compile(r"\*|" + specs.DNS_SUBDOMAIN.pattern.strip("^$"))
ACCOUNT_ID = re.compile(r"[0-9]{12}")


class PresentIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time that, when the parameter is given, may not be empty."""

    def clean(self, value):
        if value == "":
            raise forms.ValidationError(MSG_EMPTY_TIME, code="required")
        return super().clean(value)


class TimeFilter(django_filters.IsoDateTimeFilter):
    field_class = PresentIsoDateTimeField


class PatternField(forms.CharField):
    """Text that must match a pattern whole (a 400 naming the parameter, not an empty list)."""

    def __init__(self, *args, pattern: re.Pattern, message: str, **kwargs) -> None:
        self.pattern, self.message = pattern, message
        super().__init__(*args, **kwargs)

    def clean(self, value):
        if value is None:  # the parameter is not given
            return None
        if len(value) > 253 or not self.pattern.fullmatch(value):
            raise forms.ValidationError(self.message, code="invalid")
        return value


class PatternFilter(django_filters.CharFilter):
    field_class = PatternField


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
    serviceAccount = PatternFilter(
        pattern=SERVICE_ACCOUNT,
        message=MSG_SERVICE_ACCOUNT,
        method="by_service_account",
        help_text="Only resources that give the Secret to this ServiceAccount: spec.serviceAccounts "
        'lists it, or is ["*"]. "*" alone: only those of ["*"].',
    )
    registryAccount = PatternFilter(
        pattern=ACCOUNT_ID,
        message=MSG_ACCOUNT_ID,
        method="by_registry_account",
        help_text="Only resources with a registry of this AWS account (12 digits) in spec.registries.",
    )

    def by_status(self, queryset, name, value):
        return queryset.filter(RESOURCE_STATES[value])

    # spec.serviceAccounts and spec.registries are JSON lists. SQLite has no JSON containment
    # lookup, so these match the JSON text: an element is there exactly when its value appears in
    # quotes, which the patterns above make unambiguous (a name or "*" is a whole string of the
    # list, 12 digits can only be an accountId: no region is all digits, no key is quoted digits).
    # The same on SQLite and PostgreSQL (jsonb's text writes strings in double quotes too).
    def by_service_account(self, queryset, name, value):
        found = Q(service_accounts__icontains='"*"')
        if value != "*":
            found |= Q(service_accounts__icontains=f'"{value}"')
        return queryset.filter(found)

    def by_registry_account(self, queryset, name, value):
        return queryset.filter(registries__icontains=f'"{value}"')


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
