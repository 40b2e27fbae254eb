"""Named users for the editorial tests (helpers to sign them in: tests/editorial_helpers.py).

alice (conftest): administrator · carol: caseworker · erik: editor of "Quellkreis Kleve" (organisation A) ·
bea: editor of "Quellstadt Essen" (organisation B) · mona: moderator of Kreis Kleve (05154).
The two organisations and their integration centres are built here (tests/factories.py), not taken from the
shipped catalogue, so that catalogue work does not change what the editorial tests see.
A test module uses them with ``pytest_plugins = ["tests.editorial_fixtures"]``.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from directory.models import Kreis, Organization, Service
from editorial.models import CASEWORKER_GROUP, EditorMembership, ModeratorRegion
from tests import factories
from tests.editorial_helpers import KLEVE, make_user


@pytest.fixture
def fast_passwords(settings):
    """Hash test passwords cheaply (``pytest.mark.usefixtures("fast_passwords")``): the default
    hasher's deliberate slowness would make the role matrix take minutes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def organization_a(db) -> Organization:
    return factories.organization(name="Quellkreis Kleve")


@pytest.fixture
def organization_b(db) -> Organization:
    return factories.organization(name="Quellstadt Essen")


@pytest.fixture
def kleve_service(organization_a) -> Service:
    """A published service of organisation A, responsible for Kreis Kleve and placed at its seat."""
    return factories.office(
        name="Kommunales Integrationszentrum Quellkreis Kleve",
        names={"en": "Integration Centre Quellkreis Kleve"},
        organization=organization_a,
        service_type="ki",
        ags=factories.KLEVE,
        areas=[KLEVE],
    )


@pytest.fixture
def essen_service(organization_b) -> Service:
    """A published service of organisation B, responsible for Essen and placed there."""
    return factories.office(
        name="Kommunales Integrationszentrum Quellstadt Essen",
        organization=organization_b,
        service_type="ki",
        ags=factories.ESSEN,
        areas=[factories.ESSEN[:5]],
    )


@pytest.fixture
def carol(db) -> User:
    user = make_user("carol")
    user.groups.add(Group.objects.get(name=CASEWORKER_GROUP))
    return user


@pytest.fixture
def dave(db) -> User:
    """Another caseworker."""
    user = make_user("dave")
    user.groups.add(Group.objects.get(name=CASEWORKER_GROUP))
    return user


@pytest.fixture
def erik(organization_a) -> User:
    user = make_user("erik")
    EditorMembership.objects.create(user=user, organization=organization_a)
    return user


@pytest.fixture
def bea(organization_b) -> User:
    user = make_user("bea")
    EditorMembership.objects.create(user=user, organization=organization_b)
    return user


@pytest.fixture
def mona(db) -> User:
    user = make_user("mona")
    ModeratorRegion.objects.create(user=user, kreis=Kreis.objects.get(ags=KLEVE))
    return user
