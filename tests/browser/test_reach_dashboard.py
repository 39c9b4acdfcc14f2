"""The reach fields in the dashboard, in headless Chromium against the real stack (issue 21): a
namespace selector typed as YAML, the default ServiceAccount and another registry added in the
form; the selected namespace's Secret and the patched ServiceAccount show on the page; a registry
line that does not parse is said on its field and nothing is written."""

from __future__ import annotations

from kubernetes import client

from tests.integration.helpers import (
    create_cluster_resource,
    create_namespace,
    docker_config,
    get_cluster_resource_or_none,
    is_ready,
    read_secret,
    unique,
    wait_for,
)

READY_TIMEOUT = 90


def test_a_selector_service_accounts_and_a_registry_added_in_the_form(stack, open_session, kube_api):
    name, listed, selected = unique("reach"), unique("ns"), unique("ns")
    for ns in (listed, selected):
        create_namespace(kube_api, ns)
    client.CoreV1Api(kube_api).patch_namespace(selected, {"metadata": {"labels": {"reach-ui": name}}})
    create_cluster_resource(kube_api, name, [listed], secret_name="ecr-reach")
    wait_for(lambda: is_ready(get_cluster_resource_or_none(kube_api, name) or {}), timeout=READY_TIMEOUT)
    from secrets_app.models import ClusterPullSecret

    row = wait_for(lambda: ClusterPullSecret.objects.filter(name=name).first(), timeout=30)
    session = open_session()
    page = session.page
    url = f"/admin/secrets_app/clusterpullsecret/{row.pk}/change/"
    session.go(url)
    page.fill("#id_namespace_selector", f"matchLabels: {{reach-ui: {name}}}")
    page.fill("#id_service_accounts", "default")
    page.fill("#id_registries", "210987654321\n")
    session.submit("input[name=_save]")
    errors = page.inner_text(".field-registries ul.errorlist")
    assert "Line 1 ('210987654321'): give an account ID and a region" in errors
    assert page.input_value("#id_namespace_selector") == f"matchLabels: {{reach-ui: {name}}}"  # kept
    assert "namespaceSelector" not in get_cluster_resource_or_none(kube_api, name)["spec"]

    page.fill("#id_registries", "210987654321 eu-west-1")
    session.submit("input[name=_save]")
    cell = page.locator(f'#managed-secrets tr[data-namespace="{selected}"] td.service-accounts')
    cell.filter(has_text="default").wait_for(timeout=READY_TIMEOUT * 1000)
    spec = get_cluster_resource_or_none(kube_api, name)["spec"]
    assert spec["namespaceSelector"] == {"matchLabels": {"reach-ui": name}}
    assert spec["serviceAccounts"] == ["default"] and spec["namespaces"] == [listed]
    assert (
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
        in docker_config(read_secret(kube_api, selected, "ecr-reach"))["auths"]
    )
    assert f"Namespaces selected by reach-ui={name}" in page.inner_text("#status-module")
    session.shot("reach-form")

    session.go("/admin/secrets_app/clusterpullsecret/")
    listing = page.inner_text(f'#result_list tr:has-text("{name}")')
    assert f"selector: reach-ui={name}" in listing and "ServiceAccounts: default" in listing
    assert "+1 registry" in listing
    session.shot("list-reach")
    assert session.fits_width(), "horizontal scroll at 1366 px"
