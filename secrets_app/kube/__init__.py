"""The only package that talks to the Kubernetes API (through the official `kubernetes` client).

Everything above it works with plain dicts and the exceptions defined in `errors`.
"""
