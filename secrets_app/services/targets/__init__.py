"""Where a resource's pull secret goes: namespaces (listed and selected by label), the
ServiceAccounts patched to use it, and the registries it holds credentials for."""
