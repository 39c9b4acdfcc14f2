"""The admin is the dashboard: ecrcontrol's site, and one module per kind of row it shows."""

from . import clusters, resources, secrets

__all__ = ["clusters", "resources", "secrets"]
