"""spec.namespaceSelector: a metav1.LabelSelector, checked and matched as the API server does
(k8s.io/apimachinery's LabelSelectorAsSelector): every matchLabels pair and every expression must
hold; `{}` matches every namespace."""

from __future__ import annotations

import re

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
FIELD = "spec.namespaceSelector"

# A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.
_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", re.ASCII)
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII)
_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", re.ASCII)

MSG_NOT_OBJECT = (
    f"{FIELD} must be an object with matchLabels and/or matchExpressions (or {{}} for every namespace)."
)
MSG_BAD_KEY = (
    "{where} {value!r} is not a valid label key: an optional DNS prefix and '/', then at most 63 "
    "letters, digits, '-', '_' and '.', starting and ending with a letter or digit "
    "(e.g. team or example.com/team)."
)
MSG_BAD_VALUE = (
    "{where} {value!r} is not a valid label value: at most 63 letters, digits, '-', '_' and '.', "
    "starting and ending with a letter or digit."
)
MSG_BAD_OPERATOR = "{where}.operator {value!r} is not one of In, NotIn, Exists, DoesNotExist."
MSG_VALUES_REQUIRED = "{where}.values is empty: operator {op} needs at least one value."
MSG_VALUES_FORBIDDEN = "{where}.values must be empty for operator {op}: remove the values."


def _key_problem(where: str, key) -> str:
    if isinstance(key, str) and len(key) <= 317:
        prefix, _, name = key.rpartition("/")
        if _NAME.fullmatch(name) and (not prefix or (len(prefix) <= 253 and _PREFIX.fullmatch(prefix))):
            return ""
    return MSG_BAD_KEY.format(where=where, value=key)


def _value_problem(where: str, value) -> str:
    if isinstance(value, str) and _VALUE.fullmatch(value):
        return ""
    return MSG_BAD_VALUE.format(where=where, value=value)


def problems(selector) -> list[str]:
    """Every problem with a namespaceSelector, each naming the field and what to change."""
    if not isinstance(selector, dict):
        return [MSG_NOT_OBJECT]
    found = []
    labels = selector.get("matchLabels") or {}
    if not isinstance(labels, dict):
        return [MSG_NOT_OBJECT]
    for key, value in labels.items():
        found += [_key_problem(f"{FIELD}.matchLabels key", key)]
        found += [_value_problem(f"{FIELD}.matchLabels[{key!r}]", value)]
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        return [MSG_NOT_OBJECT]
    for i, expression in enumerate(expressions):
        where = f"{FIELD}.matchExpressions[{i}]"
        if not isinstance(expression, dict):
            found.append(f"{where} must be an object with key, operator and values.")
            continue
        op, values = expression.get("operator"), expression.get("values") or []
        found.append(_key_problem(f"{where}.key", expression.get("key")))
        if op not in OPERATORS:
            found.append(MSG_BAD_OPERATOR.format(where=where, value=op))
        elif op in ("In", "NotIn") and not values:
            found.append(MSG_VALUES_REQUIRED.format(where=where, op=op))
        elif op in ("Exists", "DoesNotExist") and values:
            found.append(MSG_VALUES_FORBIDDEN.format(where=where, op=op))
        if not isinstance(values, list):
            found.append(f"{where}.values must be a list of label values.")
            continue
        found += [_value_problem(f"{where}.values[{j}]", value) for j, value in enumerate(values)]
    return [problem for problem in found if problem]


def matches(selector: dict, labels: dict[str, str]) -> bool:
    """Whether a namespace with `labels` is selected (`selector` has no `problems`)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def describe(selector: dict) -> str:
    """As kubectl prints a selector: `team=a,env in (dev,prod),!legacy`; "(all namespaces)" for {}."""
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        listed = ",".join(values)
        shown = {"In": f"{key} in ({listed})", "NotIn": f"{key} notin ({listed})", "Exists": key}
        parts.append(shown.get(op, f"!{key}"))
    return ",".join(parts) or "(all namespaces)"
