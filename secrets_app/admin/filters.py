"""List filters shared by the list pages: status and "expires within 1 h"."""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.db.models import Q

STATUSES = {
    "failing": ("Failing", Q(ready=False)),
    "pending": ("Pending", Q(ready__isnull=True)),
    "ready": ("Ready", Q(ready=True)),
}


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in STATUSES.items()]

    def queryset(self, request, queryset):
        if self.value() in STATUSES:
            return queryset.filter(STATUSES[self.value()][1])
        return queryset


class ExpiringSoonFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiring"
    WITHIN = datetime.timedelta(hours=1)

    def lookups(self, request, model_admin):
        return [("1h", "Expires within 1 h"), ("expired", "Already expired")]

    def queryset(self, request, queryset):
        now = datetime.datetime.now(datetime.UTC)
        if self.value() == "1h":
            return queryset.filter(expires_at__lte=now + self.WITHIN)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        return queryset
