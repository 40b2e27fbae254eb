"""Problem reports: what a visitor says is wrong, stored as typed, limited per client, without their IP."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.models import ProblemReport, ProblemReportStatus, Service
from directory.services import client_hash, report_problem, report_wait
from tests import factories

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"


@pytest.fixture
def service() -> Service:
    return factories.office(name="Quellberatung Essen")


def test_it_stores_a_report_as_typed_with_a_hash_instead_of_the_ip(service, alice):
    text = '<script>alert("x")</script> Die Telefonnummer & die Adresse <b>stimmen nicht</b>.'
    report = report_problem(
        service=service, text=f"  {text}\n", contact=" ich@example.org ", client_ip=IP, reporter=alice
    )
    report.refresh_from_db()
    assert report.text == text, "stored verbatim (trimmed); escaping is the template's job"
    assert report.contact == "ich@example.org"
    assert report.status == ProblemReportStatus.OPEN and report.reporter == alice
    assert report.client_hash == client_hash(IP) and len(report.client_hash) == 64
    assert IP not in report.client_hash and report.client_hash != client_hash("203.0.113.8")
    assert service.problem_reports.get() == report


def test_an_anonymous_visitor_is_no_reporter(service):
    from django.contrib.auth.models import AnonymousUser

    report = report_problem(
        service=service, text="Die Zeiten sind falsch.", contact="", client_ip=IP, reporter=AnonymousUser()
    )
    assert report.reporter is None


@pytest.mark.parametrize("text", ["", "    ", "kurz", "x" * 2001, "\x00\x00\x00\x00\x00 ab"])
def test_it_refuses_a_report_too_short_or_too_long(service, text):
    with pytest.raises(ValidationError) as error:
        report_problem(service=service, text=text, contact="", client_ip=IP)
    assert "text" in error.value.message_dict
    assert not ProblemReport.objects.exists()


def test_it_refuses_a_contact_over_200_characters(service):
    with pytest.raises(ValidationError, match="contact"):
        report_problem(service=service, text="Die Adresse ist veraltet.", contact="x" * 201, client_ip=IP)


def test_it_keeps_nul_characters_out_of_the_database(service):
    report = report_problem(service=service, text="Falsche\x00 Nummer", contact="", client_ip=IP)
    assert report.text == "Falsche Nummer"


def test_the_database_rejects_2001_characters_whatever_the_code_does(service):
    ProblemReport.objects.create(service=service, text="x" * 2000, client_hash=client_hash(IP))
    with pytest.raises(IntegrityError), transaction.atomic():
        ProblemReport.objects.create(service=service, text="x" * 2001, client_hash=client_hash(IP))
    with pytest.raises(IntegrityError), transaction.atomic():
        ProblemReport.objects.create(service=service, text="Stimmt nicht.", client_hash="203.0.113.7")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProblemReport.objects.create(service=service, text="Stimmt nicht.", client_hash=client_hash(IP), status="lost")


def test_it_limits_a_client_to_five_reports_an_hour(service):
    for n in range(5):
        assert report_wait(IP) is None
        report_problem(service=service, text=f"Fehler Nummer {n}", contact="", client_ip=IP)
    # The counter lives an hour from the first report: the wait is what is left of that hour.
    assert 3590 <= report_wait(IP) <= 3600
    assert report_wait("203.0.113.8") is None, "other clients are not affected"
    assert report_wait(IP, limit=6) is None
    # Once the window is over (Redis expires the counter an hour after the first report), the client may report again.
    cache.clear()
    assert report_wait(IP) is None


def test_without_the_shared_cache_it_counts_the_stored_reports(service, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}
    for n in range(5):
        assert report_wait(IP) is None
        report_problem(service=service, text=f"Fehler Nummer {n}", contact="", client_ip=IP)
    oldest = ProblemReport.objects.order_by("created_at").first()
    ProblemReport.objects.filter(pk=oldest.pk).update(created_at=timezone.now() - dt.timedelta(minutes=50))
    wait = report_wait(IP)
    assert wait is not None, "the throttle does not open up while Redis is down"
    assert 595 <= wait <= 600, "until the oldest of the five is an hour old"
    ProblemReport.objects.update(created_at=timezone.now() - dt.timedelta(hours=1, minutes=1))
    assert report_wait(IP) is None


def test_ipv6_clients_are_counted_per_64_network():
    assert client_hash("2001:db8:1:2:aaaa::1") == client_hash("2001:db8:1:2:bbbb::2")
    assert client_hash("2001:db8:1:3::1") != client_hash("2001:db8:1:2::1")
    assert len(client_hash("not an address")) == 64
