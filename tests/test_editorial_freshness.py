"""Freshness: "still correct" in one click, per field group too, and the dashboard of what is stale,
incomplete or reported — in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from directory.models import Phone, Schedule, Service, ServiceAtLocation, Source, VerificationState
from directory.services import report_problem
from editorial.models import FieldGroup, FieldGroupVerification
from editorial.services import field_group_verifications
from tests import factories
from tests.editorial_helpers import KLEVE, make_trusted, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
# The named users and services (alice comes from conftest).
pytest_plugins = ["tests.editorial_fixtures"]


@pytest.fixture
def recorded(kleve_service) -> Service:
    """The Kleve service with a fact in each field group: a phone, opening hours, a language."""
    factories.phone(service=kleve_service, number="02821 594-0")
    factories.schedule(service=kleve_service)
    factories.language(service=kleve_service, code="ar")
    return kleve_service


def test_confirming_a_service_sets_its_dates_and_those_of_every_field_group(client, erik, recorded):
    kleve_service = recorded
    make_trusted(erik)
    sign_in(client, erik)
    before = timezone.now()
    response = client.post(f"/manage/services/{kleve_service.pk}/confirm/", {"next": "/manage/freshness/"})
    assert response.status_code == 302 and response.url == "/manage/freshness/"
    kleve_service.refresh_from_db()
    assert kleve_service.verification_state == VerificationState.VERIFIED
    assert kleve_service.last_verified_at >= before and kleve_service.verified_by == erik
    assert kleve_service.history.latest().history_change_reason == "confirmed still correct"
    groups = field_group_verifications(kleve_service)
    assert set(groups) == set(FieldGroup.values)
    assert groups["contact"].verified_at == kleve_service.last_verified_at and groups["contact"].verified_by == erik


def test_confirming_one_field_group_leaves_the_rest_alone(client, erik, recorded):
    kleve_service = recorded
    make_trusted(erik)
    sign_in(client, erik)
    assert client.post(f"/manage/services/{kleve_service.pk}/confirm/", {"group": "contact"}).status_code == 302
    kleve_service.refresh_from_db()
    assert kleve_service.last_verified_at is None, "the whole entry was not confirmed"
    confirmed = field_group_verifications(kleve_service)
    assert list(confirmed) == ["contact"]
    verified_at, verified_by = confirmed["contact"]
    assert verified_by == erik and timezone.now() - verified_at < timedelta(minutes=1)

    later = client.post(f"/manage/services/{kleve_service.pk}/confirm/", {"group": "contact"})
    assert later.status_code == 302 and FieldGroupVerification.objects.count() == 1, "one row per group, updated"
    assert client.post(f"/manage/services/{kleve_service.pk}/confirm/", {"group": "colour"}).status_code == 400


def test_the_public_page_can_say_when_the_phone_number_was_confirmed(erik, recorded):
    kleve_service = recorded
    FieldGroupVerification.objects.create(
        service=kleve_service,
        group="contact",
        # Noon UTC: the page shows the date in Europe/Berlin, where late evening UTC is already the next day.
        verified_at=timezone.now().replace(year=2026, month=3, day=2, hour=12),
        verified_by=erik,
    )
    template = Template(
        "{% load editorial_tags %}{% field_group_verifications service as confirmed %}"
        "{% if confirmed.contact %}phone confirmed on {{ confirmed.contact.verified_at|date:'Y-m-d' }}{% endif %}"
        "{% if not confirmed.hours %}, hours not yet{% endif %}"
    )
    assert template.render(Context({"service": kleve_service})) == "phone confirmed on 2026-03-02, hours not yet"


def test_the_dashboard_lists_what_is_stale_incomplete_or_reported_and_links_to_the_fix(client, mona, kleve_service):
    for n in range(4):
        factories.office(
            name=f"Quellangebot Kleve {n}", organization=kleve_service.organization, ags=factories.KLEVE, areas=[KLEVE]
        )
    others = Service.objects.filter(organization=kleve_service.organization).exclude(pk=kleve_service.pk)
    # Every other Kleve service: verified recently and complete.
    others.update(
        verification_state="verified", last_verified_at=timezone.now() - timedelta(days=30), url="https://x.de"
    )
    for service in others:
        Schedule.objects.create(service=service, byday="MO", opens_at="09:00", closes_at="12:00")
        service.languages.create(code="de")
    # The service under test: confirmed long ago, without any way to reach it (whatever the shipped data gives).
    Service.objects.filter(pk=kleve_service.pk).update(
        verification_state="verified", last_verified_at=timezone.now() - timedelta(days=400), url="", email=""
    )
    kleve_service.phones.all().delete()
    kleve_service.schedules.all().delete()
    kleve_service.languages.all().delete()
    ServiceAtLocation.objects.filter(service=kleve_service).exclude(location__url="").delete()
    # Every page the shipped facts come from: read today, so no fact is old.
    Source.objects.exclude(read_on=None).update(date=None, read_on=timezone.localdate())
    report = report_problem(service=kleve_service, text="Die Zeiten stimmen nicht.", contact="", client_ip="192.0.2.1")

    sign_in(client, mona)
    response = client.get("/manage/freshness/")
    assert response.status_code == 200
    board = response.context["board"]
    rows = {row.name: row for row in response.context["rows"]}
    ki = rows["Kommunales Integrationszentrum Quellkreis Kleve"]
    assert ki.stale and ki.no_contact and ki.no_hours and ki.no_language and ki.open_reports == 1
    assert ki.kreise == ["05154"]
    assert not any(name in rows for name in others.values_list("name__de", flat=True)), "nothing to fix there"
    assert not any("Essen" in name for name in rows), "only the moderator's region"
    html = response.content.decode()
    assert f"/manage/services/{kleve_service.pk}/edit/" in html and f"/manage/reports/{report.pk}/" in html
    kleve = next(t for t in board.by_kreis if t.key == "05154")
    assert kleve.stale >= 1 and kleve.incomplete >= 1 and kleve.open_reports == 1
    organisation = next(t for t in board.by_organization if t.label == "Quellkreis Kleve")
    assert organisation.services == 5 and organisation.stale == 1

    # Filters: per Kreis, per organisation, per kind of problem.
    # In Essen the Kleve moderator sees only what also covers Kleve (a chamber's or an Agentur's district).
    assert all("05154" in row.kreise for row in client.get("/manage/freshness/?kreis=05113").context["rows"])
    stale = client.get(f"/manage/freshness/?organization={kleve_service.organization_id}&problem=stale")
    assert [row.name for row in stale.context["rows"]] == ["Kommunales Integrationszentrum Quellkreis Kleve"]

    # Fixed: a phone and hours and a language, and confirmed.
    Phone.objects.create(service=kleve_service, number="02821 594-0")
    Schedule.objects.create(service=kleve_service, byday="TU", opens_at="09:00", closes_at="12:00")
    kleve_service.languages.create(code="ar")
    client.post(f"/manage/services/{kleve_service.pk}/confirm/")
    client.post(f"/manage/reports/{report.pk}/", {"status": "done", "note": "korrigiert"})
    rows = {row.name for row in client.get("/manage/freshness/").context["rows"]}
    assert "Kommunales Integrationszentrum Quellkreis Kleve" not in rows


def test_a_place_counts_for_contact_hours_and_language(erik, kleve_service):
    from editorial.freshness import freshness_rows

    location = kleve_service.service_at_locations.first().location
    Phone.objects.create(location=location, number="02821 594-0")
    Schedule.objects.create(location=location, byday="MO", opens_at="08:00", closes_at="16:00")
    location.languages.create(code="nl")
    row = next(r for r in freshness_rows(Service.objects.filter(pk=kleve_service.pk)))
    assert not row.no_contact and not row.no_hours and not row.no_language


def test_an_editor_sees_only_their_organisations_services_and_no_report_links(client, erik, kleve_service):
    report = report_problem(service=kleve_service, text="Die Zeiten stimmen nicht.", contact="", client_ip="192.0.2.1")
    sign_in(client, erik)
    response = client.get("/manage/freshness/")
    assert {row.organization for row in response.context["rows"]} == {"Quellkreis Kleve"}
    assert f"/manage/reports/{report.pk}/" not in response.content.decode()


def test_the_dashboard_takes_the_same_few_queries_for_five_services_or_all(
    client, django_assert_num_queries, mona, alice, kleve_service
):
    for n in range(4):
        factories.office(
            name=f"Quellangebot Kleve {n}", organization=kleve_service.organization, ags=factories.KLEVE, areas=[KLEVE]
        )
    for service in Service.objects.filter(organization=kleve_service.organization):
        report_problem(service=service, text="Bitte prüfen.", contact="", client_ip="192.0.2.9")
    for user in (mona, alice):  # the moderator's region of five services, and the administrator's whole catalogue
        sign_in(client, user)
        client.get("/manage/")  # the session's first request loads the user's roles once; count from the second
        # who is signed in (session, user, second factor, memberships, groups, moderator regions), then the
        # services with their problems (one query), the Kreise of their service areas, the Kreis names
        with django_assert_num_queries(6 + 3):
            assert client.get("/manage/freshness/").status_code == 200
