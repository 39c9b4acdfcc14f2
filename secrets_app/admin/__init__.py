"""The admin is the dashboard: ecrcontrol's site (site.py), and one module per kind of row it shows.

The modules register themselves when `secrets_app.apps.EcrcontrolAdminConfig.ready` imports them,
after the site exists (importing them here would register them while the site is being built).
"""

MODULES = ("clusters", "resources", "secrets")
