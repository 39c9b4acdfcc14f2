"""List columns shared by the list pages: badges, relative times (absolute time on hover) and the
AWS identity (its kind and what it reads; the role by name, its ARN on hover)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from ..choices import IdentityKind
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


IDENTITY_SHORT = {
    IdentityKind.INLINE: "Inline keys",
    IdentityKind.SECRET: "Secret",
    IdentityKind.SERVICE_ACCOUNT: "ServiceAccount",
    IdentityKind.AMBIENT: "Operator's own",
}


@admin.display(description="identity", ordering="identity_kind")
def identity(row) -> str:
    """The kind, and the Secret or ServiceAccount it reads (without the namespace when it is the row's)."""
    kind = row.identity_kind
    label = IDENTITY_SHORT.get(kind, kind or "-")
    long = IdentityKind(kind).label if kind in IdentityKind.values else label
    title = f"{long}: {row.credentials_ref}" if row.credentials_ref else long
    reference = row.credentials_ref
    own = getattr(row, "namespace", None)
    if own and reference.startswith(f"{own}/"):
        reference = reference[len(own) + 1 :]
    if not reference:
        return format_html('<span title="{}">{}</span>', title, label)
    return format_html(
        '<span title="{}">{} <span class="muted identity-ref">{}</span></span>', title, label, reference
    )


@admin.display(description="role", ordering="role_arn")
def role(row) -> str:
    """The role's name (what follows role/ in its ARN), the whole ARN on hover; "-" without one."""
    if not row.role_arn:
        return "-"
    return format_html(
        '<span class="role-name" title="{}">{}</span>', row.role_arn, row.role_arn.rsplit("/", 1)[-1]
    )


# -- reach: the namespaces (listed and selected), ServiceAccounts and registries ------------------
def selector_text(selector: dict | None) -> str:
    """A LabelSelector as kubectl's -l takes it ("team=a,env in (dev,test),!legacy"); "every
    namespace" for {}; "" when not set."""
    if selector is None:
        return ""
    if not isinstance(selector, dict):
        return str(selector)
    labels = selector.get("matchLabels") if isinstance(selector.get("matchLabels"), dict) else {}
    parts = [f"{key}={value}" for key, value in labels.items()]
    expressions = selector.get("matchExpressions")
    for expression in expressions if isinstance(expressions, list) else []:
        if not isinstance(expression, dict):
            continue
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(str(v) for v in expression.get("values") or [])
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": f"{key}",
                "DoesNotExist": f"!{key}",
            }.get(operator, f"{key} {operator} ({values})")
        )
    return ",".join(parts) or "every namespace"


def service_accounts_text(names: list | None) -> str:
    if not names:
        return ""
    return "every ServiceAccount" if names == ["*"] else ", ".join(str(n) for n in names)


def registry_hosts(registries: list | None) -> list[str]:
    return [
        f"{r.get('accountId', '')}.dkr.ecr.{r.get('region', '')}.amazonaws.com"
        for r in registries or []
        if isinstance(r, dict)
    ]


SHOWN_NAMESPACES = 3


def reach(row) -> str:
    """Where the Secret goes, one line each, only what is set: the listed namespaces (the first few)
    and the selector (cluster kind), the ServiceAccounts patched, the registries added. Each line
    ends in "…" when long, the whole on hover (registries: their hosts), so that the list still fits
    1,366 px. "" for a namespaced resource without any."""
    lines = []  # (class, hover, text)
    listed = list(getattr(row, "namespaces", None) or [])
    if listed:
        shown = ", ".join(listed[:SHOWN_NAMESPACES])
        if len(listed) > SHOWN_NAMESPACES:
            shown += f" +{len(listed) - SHOWN_NAMESPACES}"
        lines.append(("namespace-list", ", ".join(listed), shown))
    selector = selector_text(getattr(row, "namespace_selector", None))
    if selector:
        lines.append(("namespace-selector", selector, f"selector: {selector}"))
    accounts = service_accounts_text(row.service_accounts)
    if accounts:
        lines.append(("service-accounts", accounts, f"ServiceAccounts: {accounts}"))
    hosts = registry_hosts(row.registries)
    if hosts:
        many = "registry" if len(hosts) == 1 else "registries"
        lines.append(("registries", "\n".join(hosts), f"+{len(hosts)} {many}"))
    return format_html_join("", '<span class="reach-line {}" title="{}">{}</span>', lines)
