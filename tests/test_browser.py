"""The public pages in real headless Chromium: accessibility (axe-core), keyboard, touch targets, no-JS, print.

The site runs in a subprocess against the test database (which holds the loaded data), so the browser sees
exactly what a visitor would. Chromium is Debian's; nothing is downloaded.
"""

import datetime as dt
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from pypdf import PdfReader

from directory.models import Service
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# Playwright's sync API runs an event loop in this thread; Django then refuses database access from it
# unless told that this (test-only, single-threaded) use is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def site_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock():
        database = connection.settings_dict["NAME"]
    # Static files are served by WhiteNoise from STATIC_ROOT with hashed names, as in production.
    call_command("collectstatic", interactive=False, verbosity=0)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{database}", "DJANGO_DEBUG": "0"}
    server = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)  # noqa: S310 - local test server
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        raise RuntimeError(f"test server did not start: {server.stderr.read().decode() if server.stderr else ''}")
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (make test installs it)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a small phone
    yield context.new_page()
    context.close()


def pages(lang: str, service: Service) -> list[str]:
    return [
        f"/{lang}/",
        f"/{lang}/responsible/?plz=47533",
        f"/{lang}/search/?q=Beratung&plz=45127",
        f"/{lang}/services/{service.pk}/",
        f"/{lang}/map/",
    ]


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: tags})", tags)
    return [v for v in result["violations"] if v["impact"] in {"serious", "critical"}]


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_pages_have_no_serious_accessibility_violations(site_url, page, lang, office_with_hours):
    for path in pages(lang, office_with_hours):
        page.goto(site_url + path)
        violations = axe_violations(page)
        assert not violations, (
            path,
            json.dumps([(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in violations]),
        )


def test_the_map_has_no_serious_violations_once_opened(site_url, page):
    for lang in ("de", "ar"):
        page.goto(f"{site_url}/{lang}/map/")
        toggle = page.locator("button[data-map-toggle]")
        toggle.wait_for(state="visible")
        toggle.click()
        page.wait_for_selector(".leaflet-container path", timeout=15000)
        assert not axe_violations(page), lang


def test_arabic_pages_are_right_to_left(site_url, page):
    page.goto(f"{site_url}/ar/responsible/?plz=45127")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    header = page.locator("header.top").bounding_box()
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] + brand["width"] > header["width"] / 2, "the brand sits on the right in RTL"


def test_keyboard_focus_is_visible(site_url, page):
    page.goto(f"{site_url}/de/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(3):
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in {"none", ""}, page.evaluate("document.activeElement.outerHTML")


def test_touch_targets_are_at_least_44_px(site_url, page, office_with_hours):
    for path in pages("de", office_with_hours)[:4]:
        page.goto(site_url + path)
        small = page.evaluate(
            "() => [...document.querySelectorAll('button, input, select, .langs a, .actions a, .needs a, .chips a, "
            ".pager a, .brand')].filter(e => e.offsetParent !== null && e.type !== 'hidden' && e.type !== 'checkbox')"
            ".map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height]).filter(([, h]) => h < 44)"
        )
        assert not small, (path, small)


def test_everything_works_without_javascript(site_url, browser, office_with_hours):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site_url}/en/")
    page.fill("#q", "Kleve")
    page.click("form:has(#q) button[type=submit]")
    page.wait_for_load_state()
    assert "/en/responsible/" in page.url
    assert page.locator("h2").count() >= 4
    page.goto(f"{site_url}/en/search/?q=Beratung")
    page.check("input[name=walk_in]")  # offered: the office with hours records a walk-in slot
    page.click("form[role=search] button[type=submit]")
    assert "walk_in=1" in page.url
    context.close()


@pytest.fixture(scope="module")
def office_with_hours(django_db_blocker) -> Iterator[Service]:
    """An office at a street with walk-in and appointment hours at its place, committed so that the server
    process sees it (and removed afterwards)."""
    with django_db_blocker.unblock():
        service = factories.office(
            name="Integration Point Quellstadt",
            service_type="integration-point",
            needs=["work"],
            description={"de": "Beratung zu Arbeit und Ausbildung.", "ar": "استشارات حول العمل والتدريب."},
            street="Berliner Platz 10",
            postcode="45127",
            ags=factories.ESSEN,
        )
        location = service.service_at_locations.get().location
        factories.schedule(location=location, opens_at=dt.time(8), closes_at=dt.time(12))
        factories.schedule(
            location=location,
            byday="TU,TH",
            opens_at=dt.time(14),
            closes_at=dt.time(17, 30),
            attending_type="appointment",
        )
        factories.phone(service=service, number="0201 1234567")
    yield service
    with django_db_blocker.unblock():
        organization = service.organization
        service.delete()
        location.delete()
        organization.delete()


@pytest.fixture(scope="module")
def language_course_in_kleve(django_db_blocker) -> Iterator[Service]:
    """A German course responsible for the town of Kleve, committed so that the server process sees it."""
    with django_db_blocker.unblock():
        service = factories.office(
            name="Quellkurse Kleve", needs=["language"], ags=factories.KLEVE, areas=[factories.KLEVE]
        )
        location = service.service_at_locations.get().location
    yield service
    with django_db_blocker.unblock():
        organization = service.organization
        service.delete()
        location.delete()
        organization.delete()


@pytest.mark.parametrize(
    ("lang", "words", "place", "mark"),
    [
        ("ar", "دورة لغة ألمانية", "كليفه", "الجهة المختصة بمكان سكنك"),
        ("uk", "курси німецької", "Клеве", "Ваша установа за місцем проживання"),
    ],
)
def test_a_newcomer_finds_a_course_typing_in_their_own_language_and_script(
    site_url, page, language_course_in_kleve, lang, words, place, mark
):
    page.goto(f"{site_url}/{lang}/search/")
    page.fill("#f-q", words)
    page.fill("#f-plz", place)
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    card = page.locator(".card", has_text="Quellkurse Kleve")
    assert card.count() == 1, page.content()
    assert mark in card.inner_text()
    assert mark in page.locator(".card").first.inner_text(), "responsible first"
    assert not axe_violations(page)


def test_a_service_page_prints_on_one_a4_page(site_url, browser, office_with_hours):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site_url}/de/services/{office_with_hours.pk}/")
    page.emulate_media(media="print")
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    assert "Integration Point Quellstadt" in text and "Berliner Platz" in text
    assert "08:00–12:00" in text and "14:00–17:30" in text
    context.close()


def test_the_start_page_offers_my_location_where_geolocation_exists(site_url, browser):
    context = browser.new_context(geolocation={"latitude": 51.789, "longitude": 6.1386}, permissions=["geolocation"])
    page = context.new_page()
    page.goto(f"{site_url}/de/")
    page.click("#locate")
    page.wait_for_url("**/responsible/?lat=*")
    assert "Kleve" in page.content()
    context.close()
