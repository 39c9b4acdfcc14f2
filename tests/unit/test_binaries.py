"""The binary build derives its replace lines from the go.mod the proxy serves."""

from pathlib import Path

from devstack import binaries

GOMOD = """module k8s.io/kubernetes

go 1.26.0

require (
	k8s.io/api v0.0.0
	github.com/spf13/cobra v1.10.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
)

replace go.etcd.io/etcd/api/v3 => ../api
replace example.com/fork => example.com/other v1.2.3
"""


def test_turns_each_local_replace_into_the_published_version():
    assert binaries.published_replaces(GOMOD, "v0.36.3") == [
        "replace k8s.io/api => k8s.io/api v0.36.3",
        "replace k8s.io/client-go => k8s.io/client-go v0.36.3",
        "replace go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v0.36.3",
    ]


def test_kubebuilder_assets_win_when_they_hold_every_binary(tmp_path: Path, monkeypatch):
    for name in binaries.ALL_BINARIES:
        (tmp_path / name).write_text("")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    assert binaries.ensure_binaries() == tmp_path


def test_incomplete_kubebuilder_assets_are_ignored(tmp_path: Path, monkeypatch):
    (tmp_path / "kube-apiserver").write_text("")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    assert binaries.assets_from_env() is None


def test_kubernetes_version_is_stamped_into_the_binaries():
    flags = binaries.PRODUCTS[0].ldflags
    assert "-X k8s.io/component-base/version.gitVersion=v1.36.3" in flags
    assert "-X k8s.io/client-go/pkg/version.gitMinor=36" in flags
