"""Who may do what, over HTTPS against the real web role: anonymous (401 with WWW-Authenticate), a
user in no group (403), a viewer (reads only), an operator (reads and writes), and session
authentication for a browser logged in to the admin (CSRF enforced on writes)."""

from __future__ import annotations

import re

from ..helpers import CANARY_SECRET
from .conftest import Api

URL = "/api/v1/awsecrimagepullsecrets/"
CLUSTER_URL = "/api/v1/clusterawsecrimagepullsecrets/"


def body(namespace: str, name: str) -> dict:
    access = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": CANARY_SECRET, "region": "eu-west-1"}
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"awsAccess": access, "secretName": name},
    }


def test_the_permission_matrix(api_as, namespace, monkeypatch):
    operator = api_as("operator")
    created = operator.post(URL, json=body(namespace, "mine"))
    assert created.status_code == 201, created.text
    detail = f"{URL}{created.json()['id']}/"
    reads = [URL, detail, CLUSTER_URL, "/api/v1/secrets/", "/api/v1/clusters/", "/api/v1/summary/"]
    writes = [
        ("post", URL, body(namespace, "other")),
        ("patch", detail, {"spec": {"secretName": "mine"}}),
        ("post", f"{detail}refresh/", None),
        ("delete", detail, None),
    ]
    anonymous, nobody, viewer = api_as(None), api_as("none"), api_as("viewer")
    for url in reads:
        response = anonymous.get(url)
        assert (response.status_code, response.headers.get("WWW-Authenticate")) == (401, "Token"), url
        assert nobody.get(url).status_code == 403, url
        assert viewer.get(url).status_code == 200, url
        assert operator.get(url).status_code == 200, url
    for method, url, data in writes:
        assert anonymous.request(method, url, json=data).status_code == 401, (method, url)
        assert nobody.request(method, url, json=data).status_code == 403, (method, url)
        assert viewer.request(method, url, json=data).status_code == 403, (method, url)
    assert operator.patch(detail, json={"spec": {"secretName": "mine"}}).status_code == 200
    assert operator.post(f"{detail}refresh/").status_code == 202
    assert operator.post(URL, json=body(namespace, "other")).status_code == 201
    assert operator.delete(detail).status_code == 204
    bad_token = Api(operator.base_url, operator.verify, "0" * 40)
    assert bad_token.get(URL).status_code == 401


def test_a_browser_logged_in_to_the_admin_uses_its_session_with_csrf_on_writes(stack, namespace):
    from django.contrib.auth.models import Group, User

    from secrets_app import roles

    web = stack["web"]
    user = User.objects.create_user("olga", password="olga-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.OPERATORS))
    browser = Api(web.url, str(web.ca_file))
    login = browser.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    referer = {"Referer": f"{web.url}/admin/login/"}
    logged_in = browser.post(
        "/admin/login/",
        data={
            "username": "olga",
            "password": "olga-password-1",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        },
        headers=referer,
    )
    assert logged_in.status_code == 200 and "Log out" in logged_in.text
    assert browser.get(URL).status_code == 200
    refused = browser.post(URL, json=body(namespace, "by-session"), headers=referer)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    csrf = {"X-CSRFToken": browser.cookies["csrftoken"], **referer}
    assert browser.post(URL, json=body(namespace, "by-session"), headers=csrf).status_code == 201
    docs = browser.get("/api/docs/")
    assert docs.status_code == 200
    for asset in re.findall(r'src="([^"]+\.js)"', docs.text):
        assert asset.startswith("/static/"), asset  # served by ecrcontrol itself, no CDN
        assert browser.get(asset).status_code == 200, asset
