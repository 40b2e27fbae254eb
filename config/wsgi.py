"""WSGI entry point for gunicorn: ``gunicorn config.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# This process serves requests: its statements get DATABASE_STATEMENT_TIMEOUT (config/settings.py), which
# manage.py's long commands do not.
os.environ.setdefault("WEGWEISER_SERVING", "1")

application = get_wsgi_application()
