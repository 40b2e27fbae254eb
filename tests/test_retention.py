"""Personal data kept no longer than the privacy page says (issue 12.8): prune_personal_data."""

from datetime import date, timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from directory.models import ProblemReport, UnmetSearch
from directory.services import report_problem
from tests import factories

pytestmark = pytest.mark.django_db


def reported(service, *, days_ago: int) -> ProblemReport:
    report = report_problem(
        service=service, text="Die Nummer stimmt nicht", contact="a@example.org", client_ip="192.0.2.1"
    )
    ProblemReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return report


def test_contact_and_hash_go_after_the_retention_days_the_text_stays(settings):
    settings.REPORT_CONTACT_DAYS = 90
    service = factories.office(name="Quell-KI", service_type="ki", areas=["05154"])
    old, recent = reported(service, days_ago=91), reported(service, days_ago=89)
    call_command("prune_personal_data", verbosity=0)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.contact, old.client_hash, old.text) == ("", "", "Die Nummer stimmt nicht")
    assert recent.contact == "a@example.org" and len(recent.client_hash) == 64


def test_expired_sessions_and_old_unmet_searches_go(settings):
    expired, alive = SessionStore(), SessionStore()
    for store in (expired, alive):
        store["x"] = 1
        store.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - timedelta(minutes=1))
    today = timezone.localdate()
    UnmetSearch.objects.create(query="gebärdensprache", language="de", day=date(today.year - 2, 1, 1))
    UnmetSearch.objects.create(query="gebärdensprache", language="de", day=today)
    call_command("prune_personal_data", verbosity=0)
    # Only these two: sessions committed by the browser tests' live server may be in the database too.
    kept = set(
        Session.objects.filter(session_key__in=[expired.session_key, alive.session_key]).values_list("pk", flat=True)
    )
    assert kept == {alive.session_key}
    assert list(UnmetSearch.objects.filter(query="gebärdensprache").values_list("day", flat=True)) == [today]


def test_the_privacy_page_states_the_configured_periods_in_each_language(client, settings):
    settings.REPORT_CONTACT_DAYS = 77
    for language in ("de", "en", "ar", "fa", "uk", "ru", "tr"):
        page = client.get(f"/{language}/privacy/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "77" in text and "13" in text, language
    start = client.get("/fa/").content.decode()
    assert 'href="/fa/privacy/"' in start, "linked from every page's footer"
    assert "حریم خصوصی" in client.get("/fa/privacy/").content.decode()
