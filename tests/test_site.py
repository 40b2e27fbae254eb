"""Operational endpoints and the editors' admin."""

import pytest
from django.forms import modelform_factory

from directory.models import Organization
from editorial.models import StaffAction, StaffActionKind
from tests import factories
from tests.editorial_helpers import sign_in

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
    sign_in(client, alice)  # signed in with the second factor, as the admin requires
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
    service = factories.office(name="Quell-KI", service_type="ki", areas=["05154"])
    page = client.get(f"/admin/directory/service/{service.pk}/change/")
    assert page.status_code == 200
    for inline in ("service_areas", "schedules", "phones", "languages"):
        assert inline in page.content.decode()
    location = service.service_at_locations.get().location
    page = client.get(f"/admin/directory/location/{location.pk}/change/").content.decode()
    assert "vendor/ol/ol.js" in page, "the map widget for placing a location"
    assert "cdn.jsdelivr" not in page
    assert client.get(f"/admin/directory/service/{service.pk}/history/").status_code == 200


def test_an_editor_edits_each_language_of_a_name_in_its_own_field(client, alice):
    sign_in(client, alice)  # signed in with the second factor, as the admin requires
    organization = Organization.objects.create(name={"de": "Alt"})
    page = client.get(f"/admin/directory/organization/{organization.pk}/change/").content.decode()
    assert 'name="name_de"' in page and 'name="name_ar"' in page and 'dir="rtl"' in page

    form_class = modelform_factory(Organization, fields=["name", "description"])
    form = form_class({"name_de": "Neu", "name_ar": "جديد", "name_en": ""}, instance=organization)
    assert form.is_valid(), form.errors
    form.save()
    organization.refresh_from_db()
    assert organization.name == {"de": "Neu", "ar": "جديد"}

    without_german = form_class({"name_en": "Only English"}, instance=organization)
    assert not without_german.is_valid()
    assert "German version is required" in str(without_german.errors["name"])


def test_the_admin_confirms_a_record_as_still_correct_and_logs_it(client, alice):
    sign_in(client, alice)
    service = factories.service(name="Quell-KI", service_type="ki")
    response = client.post(
        "/admin/directory/service/", {"action": "confirm_still_correct", "_selected_action": [str(service.pk)]}
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.is_verified and service.verified_by == alice
    assert StaffAction.objects.filter(user=alice, action=StaffActionKind.CONFIRMED).exists()
