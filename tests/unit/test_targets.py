"""Where a pull secret goes: namespace selectors (as the API server matches them), the
ServiceAccounts' JSON patches, and spec.registries' checks."""

from __future__ import annotations

import pytest

from secrets_app.kube.kinds import CLUSTER, NAMESPACED
from secrets_app.services import specs
from secrets_app.services.targets import namespaces, registries, selector, service_accounts


def ns(name: str, phase: str = "Active", **labels) -> dict:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}},
        "status": {"phase": phase},
    }


@pytest.mark.parametrize(
    ("chosen", "labels", "expected"),
    [
        ({}, {}, True),
        ({"matchLabels": {"team": "a"}}, {"team": "a"}, True),
        ({"matchLabels": {"team": "a"}}, {"team": "b"}, False),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev", "qa"]}]},
            {"env": "qa"},
            True,
        ),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}, {}, False),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, {}, True),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            {"env": "prod"},
            False,
        ),
        ({"matchExpressions": [{"key": "pull", "operator": "Exists"}]}, {"pull": ""}, True),
        ({"matchExpressions": [{"key": "pull", "operator": "DoesNotExist"}]}, {"pull": "x"}, False),
        (
            {"matchLabels": {"team": "a"}, "matchExpressions": [{"key": "env", "operator": "Exists"}]},
            {"team": "a"},
            False,
        ),
    ],
)
def test_selectors_match_as_the_api_server_matches_them(chosen, labels, expected):
    assert selector.problems(chosen) == []
    assert selector.matches(chosen, labels) is expected


def test_selector_problems_name_the_field_and_the_fix():
    chosen = {
        "matchLabels": {"bad key!": "x"},
        "matchExpressions": [
            {"key": "env", "operator": "Within", "values": ["a"]},
            {"key": "env", "operator": "In"},
            {"key": "env", "operator": "Exists", "values": ["a"]},
        ],
    }
    assert selector.problems(chosen) == [
        selector.MSG_BAD_KEY.format(where="spec.namespaceSelector.matchLabels key", value="bad key!"),
        "spec.namespaceSelector.matchExpressions[0].operator 'Within' is not one of In, NotIn, Exists, "
        "DoesNotExist.",
        "spec.namespaceSelector.matchExpressions[1].values is empty: operator In needs at least one value.",
        "spec.namespaceSelector.matchExpressions[2].values must be empty for operator Exists: "
        "remove the values.",
    ]
    assert selector.problems("team=a") == [selector.MSG_NOT_OBJECT]


def test_targets_are_the_listed_then_the_selected_active_namespaces():
    body = {
        "metadata": {"name": "r"},
        "spec": {
            "namespaces": ["listed", "b"],
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["skip"]}
                ]
            },
        },
    }
    cluster = [ns("b"), ns("a"), ns("skip"), ns("gone", phase="Terminating")]
    assert namespaces.targets(CLUSTER, body, lambda: cluster) == ["listed", "b", "a"]

    def never():
        raise AssertionError("no selector: the namespaces are not read")

    del body["spec"]["namespaceSelector"]
    assert namespaces.targets(CLUSTER, body, never) == ["listed", "b"]


def test_a_selector_alone_is_a_valid_target_and_neither_is_not():
    body = {"metadata": {"name": "r"}, "spec": {"secretName": "s", "namespaceSelector": {}}}
    assert specs.MSG_NAMESPACES_MISSING not in specs.problems(CLUSTER, body)
    del body["spec"]["namespaceSelector"]
    assert specs.MSG_NAMESPACES_MISSING in specs.problems(CLUSTER, body)
    # A namespaced resource's selector is not its to have (the CRD prunes it): it is ignored.
    namespaced = {"metadata": {"name": "r", "namespace": "a"}, "spec": {"namespaceSelector": {"x": 1}}}
    assert specs.namespace_selector(NAMESPACED, namespaced) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["default", "builder"], []),
        (["*"], []),
        (["*", "default"], [service_accounts.MSG_STAR_MIXED]),
        (["default", "default"], [service_accounts.MSG_REPEATED.format(name="default")]),
        (
            ["Default"],
            [
                "spec.serviceAccounts: 'Default' is not a valid Kubernetes name: use at most 253 "
                "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit "
                "(e.g. ecr-pull)."
            ],
        ),
        ("default", [service_accounts.MSG_NOT_LIST]),
    ],
)
def test_service_account_lists(value, expected):
    assert service_accounts.problems({"serviceAccounts": value}) == expected


def account(pull_secrets, version="7") -> dict:
    body = {"metadata": {"name": "default", "namespace": "a", "resourceVersion": version}}
    if pull_secrets is not None:
        body["imagePullSecrets"] = pull_secrets
    return body


def test_the_entry_is_added_at_the_end_and_removed_alone_each_pinned_to_the_list_as_read():
    others = [{"name": "theirs"}, {"name": "ecr-pull"}, {"name": "last"}]
    assert service_accounts.operations(account([{"name": "theirs"}]), "ecr-pull", add=True) == [
        {"op": "test", "path": "/imagePullSecrets", "value": [{"name": "theirs"}]},
        {"op": "add", "path": "/imagePullSecrets/-", "value": {"name": "ecr-pull"}},
    ]
    assert service_accounts.operations(account(others), "ecr-pull", add=False) == [
        {"op": "test", "path": "/imagePullSecrets", "value": others},
        {"op": "remove", "path": "/imagePullSecrets/1"},
    ]
    # No list yet: JSON patch cannot test for an absent member, so the object's version is pinned.
    assert service_accounts.operations(account(None), "ecr-pull", add=True) == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
        {"op": "add", "path": "/imagePullSecrets", "value": [{"name": "ecr-pull"}]},
    ]


def test_registries_are_checked_for_shape_count_and_repeats():
    good = {"registries": [{"accountId": "123456789012", "region": "eu-west-1"}]}
    assert registries.problems(good) == []
    assert [r.host for r in registries.parse(good)] == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    bad = {
        "registries": [
            {"accountId": "1234", "region": "eu-west-1"},
            {"accountId": "123456789012", "region": "Mars"},
            {"accountId": "123456789012", "region": "Mars"},
        ]
    }
    assert registries.problems(bad) == [
        registries.MSG_BAD_ACCOUNT.format(i=0, value="1234"),
        registries.MSG_BAD_REGION.format(i=1, value="Mars"),
        registries.MSG_BAD_REGION.format(i=2, value="Mars"),
        registries.MSG_REPEATED.format(i=2, account="123456789012", region="Mars"),
    ]
    many = {"registries": [{"accountId": f"{i:012d}", "region": "eu-west-1"} for i in range(21)]}
    assert registries.problems(many) == [registries.MSG_TOO_MANY.format(n=21)]
