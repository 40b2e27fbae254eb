"""Fixtures: the test database holds the real NRW geography and catalogue from data/, loaded once."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_data", verbosity=0)


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Tests need not run collectstatic first: serve static files without the hashed manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def alice(db) -> User:
    """An administrator."""
    return User.objects.create_superuser("alice", "alice@example.org", "correct horse battery staple")
