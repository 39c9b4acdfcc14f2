"""Figures for the chart on the real node (`make bench`): image size and build time, node start,
`helm install --wait` to Ready, pod stop after SIGTERM. Printed, never asserted."""

from __future__ import annotations

import time

import pytest

from .conftest import installed

pytestmark = [pytest.mark.bench, pytest.mark.timeout(1200)]


def test_bench_install_to_ready(node, product_image, local_ecr):
    print(f"\n[bench] image {product_image}: {node.images.size(product_image) / 1e6:.0f} MB")
    print(f"[bench] image timings (s): { {k: round(v, 1) for k, v in node.images.timings.items()} }")
    print(f"[bench] node timings (s): { {k: round(v, 1) for k, v in node.timings.items()} }")
    with installed(node, local_ecr.url, "ecrbench", "ecrcontrol-bench") as release:
        print(f"[bench] helm install --wait (install to Ready): {release.install_seconds:.1f}s")
        pod = release.kubectl(
            "get", "pods", "-n", release.namespace, "-l", "app.kubernetes.io/instance=ecrbench", "-o", "name"
        ).stdout.split()[0]
        started = time.monotonic()
        release.kubectl("delete", pod, "-n", release.namespace, "--wait=true")
        print(f"[bench] pod stopped {time.monotonic() - started:.1f}s after SIGTERM")
