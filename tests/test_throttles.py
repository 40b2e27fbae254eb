"""Throttles in the shared cache and the one client address they (and every stored hash) start from."""

from __future__ import annotations

import ipaddress
import math
import re

import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from directory import throttle
from directory.models import ProblemReport
from directory.services import client_address
from public import limits
from tests import factories
from tests.factories import KLEVE

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48")]


def address(settings, remote: str, forwarded: str | None = None, proxies=PROXIES) -> str:
    settings.WEGWEISER_TRUSTED_PROXIES = proxies
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/")
    request.META.update(extra)
    return client_address(request)


def test_forwarded_for_is_read_only_from_a_trusted_proxy(settings):
    assert address(settings, "203.0.113.5", "198.51.100.1") == "203.0.113.5", "a client cannot claim an address"
    assert address(settings, "10.0.0.2", "198.51.100.1", proxies=[]) == "10.0.0.2", "no proxies named: the peer"
    assert address(settings, "10.0.0.2", "198.51.100.1") == "198.51.100.1"
    assert address(settings, "10.0.0.2") == "10.0.0.2", "a proxy's own request"


def test_the_client_is_the_rightmost_address_that_is_no_trusted_proxy(settings):
    # The client wrote "1.2.3.4" itself; our proxies appended what they saw, from left to right.
    assert address(settings, "10.0.0.2", "1.2.3.4, 198.51.100.1, 10.1.1.1") == "198.51.100.1"
    assert address(settings, "2001:db8:ffff::1", "2001:db8:1::7") == "2001:db8:1::7"
    assert address(settings, "10.0.0.2", "10.0.0.9, 10.0.0.8") == "10.0.0.9", "all proxies: the farthest one"
    assert address(settings, "10.0.0.2", "198.51.100.1, not-an-address") == "10.0.0.2", "garbage is not a client"
    assert address(settings, "10.0.0.2", " , ") == "10.0.0.2"


@pytest.mark.django_db
def test_the_api_counts_each_client_behind_the_proxy_on_its_own(client, settings):
    settings.HSDS_RATE_LIMIT_PER_MINUTE = 2
    settings.WEGWEISER_TRUSTED_PROXIES = PROXIES

    def get(forwarded: str) -> int:
        return client.get("/api/hsds/taxonomies", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert [get("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    refused = client.get("/api/hsds/taxonomies", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert refused.json()["retry_after"] == int(refused["Retry-After"]) >= 1, "the body says what the header says"
    assert get("198.51.100.2") == 200, "another client behind the same proxy"
    assert get("1.1.1.1, 198.51.100.1") == 429, "a made-up address in front does not start a new count"


def seconds_shown(response, pattern: str) -> int:
    """The number a 429 page tells the visitor to wait, found by ``pattern`` in its text."""
    match = re.search(pattern, response.content.decode())
    assert match, response.content.decode()
    return int(match.group(1))


@pytest.mark.parametrize(
    ("lang", "seconds", "text"),
    [
        ("en", 1, "Please try again in 1 second."),
        ("en", 90, "Please try again in 90 seconds."),
        ("en", 91, "Please try again in 2 minutes."),
        ("de", 3600, "Bitte versuchen Sie es in 60 Minuten noch einmal."),
        ("ru", 21, "Пожалуйста, попробуйте ещё раз через 21 секунду."),
        ("ru", 23, "Пожалуйста, попробуйте ещё раз через 23 секунды."),
        ("ru", 11, "Пожалуйста, попробуйте ещё раз через 11 секунд."),
        ("ru", 300, "Пожалуйста, попробуйте ещё раз через 5 минут."),
        ("uk", 42, "Будь ласка, спробуйте ще раз через 42 секунди."),
        ("uk", 15, "Будь ласка, спробуйте ще раз через 15 секунд."),
        ("uk", 61, "Будь ласка, спробуйте ще раз через 61 секунду."),
        ("ar", 2, "يُرجى المحاولة مرة أخرى بعد 2 ثانيتين."),
        ("ar", 7, "يُرجى المحاولة مرة أخرى بعد 7 ثوانٍ."),
        ("ar", 45, "يُرجى المحاولة مرة أخرى بعد 45 ثانية."),
        ("ar", 180, "يُرجى المحاولة مرة أخرى بعد 3 دقائق."),
        ("fa", 30, "لطفاً 30 ثانیهٔ دیگر دوباره امتحان کنید."),
        ("tr", 120, "Lütfen 2 dakika sonra tekrar deneyin."),
    ],
)
def test_the_wait_is_told_in_each_languages_own_plural(lang, seconds, text):
    with translation.override(lang):
        assert throttle.try_again_in(seconds) == text


def test_a_fixed_window_limit_says_how_long_to_wait():
    assert throttle.wait_for("t", "a", limit=2, now=6_000_030.0) is None
    assert throttle.wait_for("t", "a", limit=2, now=6_000_031.0) is None
    assert throttle.wait_for("t", "a", limit=2, now=6_000_045.0) == 15
    assert throttle.wait_for("t", "a", limit=2, now=6_000_060.0) is None, "the next minute starts afresh"
    assert throttle.wait_for("t", "a", limit=0, now=6_000_061.0) is None, "0: no limit"


@pytest.mark.django_db
def test_the_search_has_its_own_limit_and_says_so_in_the_visitors_language(client, settings):
    settings.SEARCH_RATE_LIMIT_PER_MINUTE = 2
    assert client.get("/en/search/?q=Beratung").status_code == 200
    assert client.get("/en/search/?q=Beratung").status_code == 200, "from the page cache: counted all the same"
    refused = client.get("/en/search/?q=Beratung")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60 and refused["Cache-Control"] == "no-store"
    assert seconds_shown(refused, r"Please try again in (\d+) seconds?\.") == int(refused["Retry-After"])
    german = client.get("/de/search/")
    assert german.status_code == 429
    told = seconds_shown(german, r"Bitte versuchen Sie es in (\d+) Sekunden? noch einmal\.")
    assert told == int(german["Retry-After"])
    assert client.get("/en/search/", REMOTE_ADDR="198.51.100.3").status_code == 200, "other clients are not held"
    assert client.get("/en/").status_code == 200, "other pages have no such limit"


@pytest.mark.django_db
def test_the_pdf_slip_has_its_own_limit_the_html_slip_none(client, settings):
    settings.SLIP_PDF_RATE_LIMIT_PER_MINUTE = 1
    service = factories.office(name="Limit-KI", service_type="ki", ags=KLEVE)
    # The one PDF of this minute (made without WeasyPrint's second, as the client's count is all that matters).
    limits.wait_for(RequestFactory().get("/", REMOTE_ADDR="127.0.0.1"), "slip-pdf", 1)
    refused = client.get(f"/ru/referral/?s={service.pk}&format=pdf")
    assert refused.status_code == 429 and refused["Content-Type"].startswith("text/html")
    assert seconds_shown(refused, r"попробуйте ещё раз через (\d+) секунд[уы]?\.") == int(refused["Retry-After"])
    assert client.get(f"/de/referral/?s={service.pk}").status_code == 200


@pytest.mark.django_db
def test_the_report_form_limit_comes_from_the_settings(client, settings):
    settings.REPORT_RATE_LIMIT_PER_HOUR = 2
    service = factories.office(name="Report-KI", service_type="ki", ags=KLEVE)
    url = f"/de/services/{service.pk}/report/"
    assert [client.post(url, {"text": f"Fehler Nummer {n}"}).status_code for n in range(2)] == [302, 302]
    refused = client.post(url, {"text": "Noch ein Fehler"})
    # The count lives an hour from the first report: what is left of it, told in whole minutes.
    assert refused.status_code == 429 and 3590 <= int(refused["Retry-After"]) <= 3600
    minutes = seconds_shown(refused, r"Bitte versuchen Sie es in (\d+) Minuten noch einmal\.")
    assert minutes == math.ceil(int(refused["Retry-After"]) / 60)
    assert ProblemReport.objects.count() == 2
    assert Client().post(url, {"text": "Von woanders"}, REMOTE_ADDR="198.51.100.4").status_code == 302


def _allowed(hits: int) -> int:
    """In a forked worker process: how many of ``hits`` requests one client got through."""
    return sum(throttle.wait_for("workers", "one-client", limit=20, now=6_000_010.0) is None for _ in range(hits))


def test_one_limit_holds_across_worker_processes():
    """Three processes (as gunicorn's workers) share one count in Redis: 3 × 15 requests, 20 let through."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(3) as pool:
        allowed = pool.map(_allowed, [15, 15, 15])
    assert sum(allowed) == 20, allowed
