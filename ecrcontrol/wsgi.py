"""WSGI entry point for the web role (gunicorn serves it over TLS)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecrcontrol.settings")

application = get_wsgi_application()
