"""List columns shared by the list pages: badges and relative times (absolute time on hover)."""

from __future__ import annotations

from django.contrib import admin

from ..templatetags.ecrcontrol import reltime, resource_badge, secret_state


@admin.display(description="status", ordering="health")
def status(row) -> str:
    return resource_badge(row.ready, row.reason, row.message)


@admin.display(description="expires", ordering="expires_at")
def expires(row) -> str:
    return reltime(row.expires_at)


@admin.display(description="next refresh", ordering="next_refresh")
def next_refresh(row) -> str:
    return reltime(row.next_refresh)


@admin.display(description="last refresh", ordering="last_refresh")
def last_refresh(row) -> str:
    return reltime(row.last_refresh)


@admin.display(description="state", ordering="state")
def state(row) -> str:
    return secret_state(row.state, row.last_error)


@admin.display(description="last written", ordering="last_written")
def last_written(row) -> str:
    return reltime(row.last_written)
