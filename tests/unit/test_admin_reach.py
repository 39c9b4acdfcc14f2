"""The dashboard's reach fields: the namespace selector typed as YAML or JSON, the ServiceAccounts and
registries one per line, each problem on its field in services.specs' words; and the pages that
show them (lists, the resource page, a viewer's read-only page, the patched ServiceAccounts)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from secrets_app import roles
from secrets_app.admin.columns import selector_text
from secrets_app.admin.forms import (
    MSG_REGISTRY_LINE,
    MSG_SELECTOR_KEY,
    MSG_SELECTOR_NOT_OBJECT,
    ClusterResourceForm,
    NamespacedResourceForm,
)
from secrets_app.choices import ResourceKind, SecretState
from secrets_app.models import ManagedSecret
from secrets_app.services import connectivity, specs

from .conftest import REGISTRIES, SELECTOR, cluster_row, namespaced_row
from .test_admin_forms import change_form, namespaced_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, monkeypatch):
    monkeypatch.setattr(connectivity, "test", lambda *args: connectivity.Connection(version="v1.36.3"))
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def cluster_data(**changes) -> dict:
    data = {k: v for k, v in namespaced_data().items() if k != "namespace"}
    return {**data, "name": "shared", "namespaces": "", **changes}


def test_a_selector_in_yaml_service_accounts_and_registries_are_written(written):
    form = ClusterResourceForm(
        data=cluster_data(
            namespace_selector="matchLabels: {team: a}\nmatchExpressions:\n"
            "- {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}",
            service_accounts="default\nbuilder, default",
            registries="123456789012 eu-west-1\n\n# the US one\n210987654321.dkr.ecr.us-east-1.amazonaws.com",
        )
    )
    assert form.is_valid(), form.errors
    ((row, _),) = written
    assert row.namespaces == [] and row.namespace_selector == SELECTOR
    assert row.service_accounts == ["default", "builder"] and row.registries == REGISTRIES


def test_a_selector_in_json_works_too_and_an_empty_one_selects_everything(written):
    import json

    form = ClusterResourceForm(data=cluster_data(namespace_selector=json.dumps(SELECTOR)))
    assert form.is_valid(), form.errors
    form = ClusterResourceForm(data=cluster_data(name="all", namespace_selector="{}"))
    assert form.is_valid(), form.errors
    assert [row.namespace_selector for row, _ in written] == [SELECTOR, {}]


def test_a_namespaced_resource_takes_service_accounts_and_registries(written):
    form = NamespacedResourceForm(
        data=namespaced_data(service_accounts="*", registries="123456789012 eu-west-1")
    )
    assert form.is_valid(), form.errors
    ((row, _),) = written
    assert row.service_accounts == ["*"] and row.registries == REGISTRIES[:1]
    assert "namespace_selector" not in form.fields


def test_neither_namespaces_nor_a_selector_is_refused_on_the_namespaces(written):
    form = ClusterResourceForm(data=cluster_data())
    assert not form.is_valid()
    assert form.errors["namespaces"] == [specs.MSG_NAMESPACES_MISSING] and not written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("matchLabels: {team: a", "This is not YAML or JSON: expected ',' or '}', but got '<stream end>'"),
        ("- team=a", MSG_SELECTOR_NOT_OBJECT),
        ("team: a", MSG_SELECTOR_KEY.format(key="team")),
    ],
)
def test_a_selector_that_does_not_parse_is_said_on_its_field(written, text, expected):
    form = ClusterResourceForm(data=cluster_data(namespaces="a", namespace_selector=text))
    assert not form.is_valid()
    ((message,),) = [form.errors["namespace_selector"]]
    assert message.startswith(expected) and not written
    assert "namespaces" not in form.errors  # not "empty": the selector did not parse, that is all


def test_a_selector_rule_broken_is_on_the_selector_in_the_webhooks_words(written):
    form = ClusterResourceForm(
        data=cluster_data(namespace_selector="matchExpressions: [{key: team, operator: Equals, values: [a]}]")
    )
    assert not form.is_valid()
    ((message,),) = [form.errors["namespace_selector"]]
    assert message.startswith("spec.namespaceSelector.matchExpressions[0].operator 'Equals'")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("registries", "123456789012", MSG_REGISTRY_LINE.format(n=1, line="123456789012")),
        (
            "registries",
            "12 eu-west-1",
            "spec.registries[0].accountId '12' is not an AWS account ID: use its 12 digits, such as "
            "123456789012.",
        ),
        (
            "registries",
            "123456789012 eu-west-1\n123456789012 eu-west-1",
            "spec.registries[1] repeats account 123456789012 in region eu-west-1: list each registry once.",
        ),
        (
            "service_accounts",
            "*\ndefault",
            "spec.serviceAccounts: '*' selects every ServiceAccount and cannot be listed with names: use "
            '["*"] alone.',
        ),
    ],
)
def test_service_account_and_registry_problems_are_on_their_fields(written, field, value, expected):
    form = NamespacedResourceForm(data=namespaced_data(**{field: value}))
    assert not form.is_valid()
    assert form.errors[field] == [expected] and not written


def test_a_change_form_shows_the_fields_as_typed_and_keeps_them_unchanged(written):
    row = cluster_row(namespace_selector=SELECTOR, service_accounts=["default"], registries=REGISTRIES)
    form = ClusterResourceForm(instance=row)
    assert (
        form.fields["registries"].prepare_value(REGISTRIES)
        == "123456789012 eu-west-1\n210987654321 us-east-1"
    )
    shown = form.fields["namespace_selector"].prepare_value(SELECTOR)
    assert shown.startswith("matchLabels: {team: a}\nmatchExpressions:")
    form = change_form(
        row,
        namespace_selector=shown,
        service_accounts="default",
        registries="123456789012 eu-west-1\n210987654321 us-east-1",
        secret_access_key="",
        shown_generation="0",
    )
    assert form.is_valid(), form.errors
    ((saved, _),) = written
    assert saved.namespace_selector == SELECTOR and saved.registries == REGISTRIES


def test_emptying_the_selector_and_the_lists_removes_them(written):
    row = cluster_row(namespace_selector=SELECTOR, service_accounts=["default"], registries=REGISTRIES)
    form = change_form(row, namespace_selector="", service_accounts="", registries="", shown_generation="0")
    assert form.is_valid(), form.errors
    ((saved, _),) = written
    assert saved.namespace_selector is None and saved.service_accounts == [] and saved.registries == []


def test_a_selector_reads_as_kubectl_writes_it():
    assert selector_text(SELECTOR) == "team=a,kubernetes.io/metadata.name notin (kube-system)"
    assert selector_text({}) == "every namespace" and selector_text(None) == ""
    exists = {
        "matchExpressions": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "DoesNotExist"}]
    }
    assert selector_text(exists) == "a,!b"


def test_the_list_and_the_page_show_the_reach_and_the_patched_service_accounts(admin_client):
    row = cluster_row(
        namespaces=["a"],
        namespace_selector={"matchLabels": {"team": "a"}},
        service_accounts=["default", "ci"],
    )
    ManagedSecret.objects.create(
        cluster=row.cluster,
        namespace="team-x",
        name="ecr",
        owner_kind=ResourceKind.CLUSTER,
        owner_name="shared",
        owner_uid=row.uid,
        state=SecretState.SYNCED,
        service_accounts=["ci", "default"],
    )
    ManagedSecret.objects.create(
        cluster=row.cluster,
        namespace="a",
        name="ecr",
        owner_kind=ResourceKind.CLUSTER,
        owner_name="shared",
        owner_uid=row.uid,
        state=SecretState.FAILED,
        service_accounts=[],
    )
    listing = admin_client.get("/admin/secrets_app/clusterpullsecret/").content.decode()
    assert "selector: team=a" in listing and "ServiceAccounts: default, ci" in listing
    assert '<td class="field-secrets_ok">1/2<span' in listing  # the listed one failed, the selected one not
    page = admin_client.get(f"/admin/secrets_app/clusterpullsecret/{row.pk}/change/").content.decode()
    assert "Namespaces selected by <code>team=a</code>" in page
    assert '<td class="service-accounts" style="white-space:normal">ci, default</td>' in page
    assert '<td class="service-accounts" style="white-space:normal">none</td>' in page
    assert 'name="namespace_selector"' in page and "matchLabels: {team: a}" in page


def test_a_viewer_sees_the_reach_in_words(client):
    row = namespaced_row(service_accounts=["*"], registries=REGISTRIES)
    viewer = User.objects.create_user("val", password="x", is_staff=True)
    roles.ensure_groups()
    viewer.groups.add(Group.objects.get(name=roles.VIEWERS))
    client.force_login(viewer)
    page = client.get(f"/admin/secrets_app/namespacedpullsecret/{row.pk}/change/").content.decode()
    assert '<div class="readonly">every ServiceAccount</div>' in page
    assert "<code>123456789012.dkr.ecr.eu-west-1.amazonaws.com</code><br><code>210987654321" in page
    shared = cluster_row(cluster=row.cluster, uid="u2", namespace_selector={})
    page = client.get(f"/admin/secrets_app/clusterpullsecret/{shared.pk}/change/").content.decode()
    assert '<div class="readonly"><code>every namespace</code></div>' in page
