"""Local development and test infrastructure: Kubernetes binaries, a control plane, moto.

Nothing in here is used in production. It imports no Django, so the build can run before
the project's dependencies are even configured.
"""
