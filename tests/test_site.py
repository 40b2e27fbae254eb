"""Operational endpoints and the editors' admin."""

import pytest

from directory.models import Location, Organization, Service

pytestmark = pytest.mark.django_db


def test_healthz_answers_json_with_the_database_state(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["gemeinden"] == 396
    assert body["database"]["services"] > 212


def test_root_redirects_by_accept_language(client):
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="ar,en;q=0.5").url == "/ar/"
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="xx").url == "/de/"


def test_the_admin_lists_and_edits_every_kind_of_record(client, alice):
    client.force_login(alice)
    for path in (
        "service",
        "organization",
        "location",
        "program",
        "taxonomy",
        "taxonomyterm",
        "source",
        "kreis",
        "gemeinde",
        "postcode",
        "serviceatlocation",
    ):
        assert client.get(f"/admin/directory/{path}/").status_code == 200, path
    service = Service.objects.filter(service_type__code="ki").first()
    page = client.get(f"/admin/directory/service/{service.pk}/change/")
    assert page.status_code == 200
    for inline in ("service_areas", "schedules", "phones", "languages"):
        assert inline in page.content.decode()
    location = Location.objects.first()
    assert client.get(f"/admin/directory/location/{location.pk}/change/").status_code == 200
    assert client.get(f"/admin/directory/service/{service.pk}/history/").status_code == 200


def test_an_editor_saves_a_translated_name_in_the_admin(client, alice):
    client.force_login(alice)
    organization = Organization.objects.create(name={"de": "Alt"})
    page = client.get(f"/admin/directory/organization/{organization.pk}/change/")
    assert 'name="name_0"' in page.content.decode() and 'name="name_2"' in page.content.decode()
