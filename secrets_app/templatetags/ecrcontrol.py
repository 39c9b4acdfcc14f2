"""Template helpers of the dashboard: coloured status badges and relative times.

A relative time ("in 5 h 12 min", "3 min ago") carries the absolute UTC time in its title, so
hovering shows it.
"""

from __future__ import annotations

import datetime

from django import template
from django.utils.html import format_html

from ..choices import IdentityKind, SecretState

register = template.Library()

COLOURS = ("green", "red", "orange", "grey")


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def absolute(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def reltime(value: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """`<time>` with "in ..."/"... ago" as text and the absolute time on hover; "-" for None."""
    if not isinstance(value, datetime.datetime):  # None, or "" from a missing object in a template
        return "-"
    now = now or datetime.datetime.now(datetime.UTC)
    delta = (value - now).total_seconds()
    text = f"in {_span(delta)}" if delta >= 0 else f"{_span(delta)} ago"
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), absolute(value), text)


@register.filter
def identity_label(kind: str) -> str:
    """An identity kind (status.identity.kind) in words, as the form's choices say it."""
    return IdentityKind(kind).label if kind in IdentityKind.values else kind


@register.simple_tag
def badge(label: str, colour: str, title: str = "") -> str:
    colour = colour if colour in COLOURS else "grey"
    return format_html('<span class="badge badge-{}" title="{}">{}</span>', colour, title, label)


def resource_badge(ready: bool | None, reason: str, message: str = "") -> str:
    """A badge Ready (green), Failing (red) or Pending (grey), with the reason in words beside it."""
    if ready is None:
        label, colour = "Pending", "grey"
    else:
        label, colour = ("Ready", "green") if ready else ("Failing", "red")
    return format_html(
        '{} <span class="reason" title="{}">{}</span>', badge(label, colour, message), message, reason
    )


@register.simple_tag
def resource_status(row) -> str:
    return resource_badge(row.ready, row.reason, row.message)


@register.simple_tag
def secret_state(state: str, last_error: str = "") -> str:
    choice = SecretState(state)
    return badge(choice.label, choice.colour, last_error)
