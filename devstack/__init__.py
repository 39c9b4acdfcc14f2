"""ecrcontrol's development stack: everything `make run`, `make cluster`, the tests and the benches
stand up around the product, and nothing the product needs.

The Kubernetes binaries' build (binaries), a control plane (controlplane), the local ECR and STS
(ecr, moto), a real node with containerd and a kubelet (node, images), PostgreSQL and Redis
servers (datastores), cert-manager (certmanager, go/), and the web role started as a child
(webserver). It is a Django app only for its management commands (`runlocal`, `localcluster`),
installed where it is importable (a checkout), never in the image. It may import the product;
the product never imports it. Its modules import no Django at import time, so the build can run
before the project's dependencies are configured.
"""
