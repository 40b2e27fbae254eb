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
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
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
    # Static files are served by WhiteNoise from STATIC_ROOT with hashed names, as in production: collected into
    # a folder of this run's own, as the other test process's WhiteNoise reads the shared one meanwhile.
    static_root = tempfile.mkdtemp(prefix="wegweiser-static-")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_STATIC_ROOT": static_root,
        "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{database}",
        "DJANGO_DEBUG": "0",
        # One browser asks for many pages in a minute; the per-client limits are tested in tests/test_throttles.py.
        "WEGWEISER_SEARCH_RATE_LIMIT_PER_MINUTE": "0",
        "WEGWEISER_SLIP_PDF_RATE_LIMIT_PER_MINUTE": "0",
    }
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=settings.BASE_DIR, env=env, check=True
    )
    server = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    # A minute: on a machine busy with other test runs, starting Django alone took more than the 20 s once given.
    started_by = time.monotonic() + 60
    while time.monotonic() < started_by:
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
    shutil.rmtree(static_root, ignore_errors=True)


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
        f"/{lang}/privacy/",
    ]


def axe_violations(page) -> list[dict]:
    # Evaluated through the DevTools protocol: a <script> tag with axe's text would be inline, which the site's
    # Content-Security-Policy rightly refuses.
    page.evaluate(AXE.read_text())
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


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_right_to_left_service_page_and_slip_have_no_serious_violations(site_url, page, lang, office_with_hours):
    for path in (f"/{lang}/services/{office_with_hours.pk}/", f"/{lang}/referral/?s={office_with_hours.pk}"):
        page.goto(site_url + path)
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        violations = axe_violations(page)
        assert not violations, (
            path,
            json.dumps([(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in violations]),
        )
    # "ورقة الإحالة · Laufzettel": the separator sits between the two, not at the far left of the German word.
    arabic, dot, german = page.evaluate(
        """() => {
        const h1 = document.querySelector("h1"), text = h1.firstChild, at = text.textContent.indexOf("·");
        const box = (start, end) => { const r = document.createRange(); r.setStart(text, start); r.setEnd(text, end);
                                      return r.getBoundingClientRect(); };
        const de = h1.querySelector("[lang=de]").getBoundingClientRect();
        return [box(0, at - 1), box(at, at + 1), de].map(r => [r.left, r.right]);
    }"""
    )
    assert german[1] <= dot[0] and dot[1] <= arabic[0], (arabic, dot, german)


def test_the_map_has_no_serious_violations_once_opened(site_url, page):
    for lang in ("de", "ar"):
        page.goto(f"{site_url}/{lang}/map/")
        toggle = page.locator("button[data-map-toggle]")
        toggle.wait_for(state="visible")
        toggle.click()
        page.wait_for_selector(".leaflet-container path", timeout=15000)
        assert not axe_violations(page), lang


CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_no_page_breaks_the_content_security_policy(site_url, browser, office_with_hours, slip_services):
    """Every script and style comes from a static file: the map (Leaflet, clusters, tiles off), the search, the
    start page's location button, a service's small map and the slip raise no violation."""
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(CSP_LISTENER)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    def visit(path: str, open_map: str = "") -> None:
        response = page.goto(site_url + path)
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        if open_map:
            toggle = page.locator("button[data-map-toggle]")
            toggle.wait_for(state="visible")
            toggle.click()
            page.wait_for_selector(open_map, timeout=15000)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__cspViolations") == [], path

    visit("/de/map/", open_map=".leaflet-container path")
    visit("/ar/search/?q=Beratung&plz=45127")
    visit("/de/")
    assert page.locator("#locate").is_visible(), "the location button's script ran"
    visit(f"/de/services/{office_with_hours.pk}/", open_map=".leaflet-marker-icon")
    visit(slip_path("de", slip_services))
    assert not [line for line in console if "Content Security Policy" in line], console
    context.close()


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
    # Its own name: a word as common as "Beratung" finds more services than the search ranks (200), and whether
    # this office is among them would depend on what other tests left in the database.
    page.goto(f"{site_url}/en/search/?q=Beratung+Quellstadt")
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


@pytest.fixture(scope="module")
def slip_services(django_db_blocker) -> Iterator[list[Service]]:
    """Two offices for the referral slip, committed so that the server process sees them (removed afterwards)."""
    with django_db_blocker.unblock():
        services = [
            factories.office(
                name=name,
                street="Quellweg 1",
                postcode="45127",
                eligibility_description={"de": "Alle, die in Quellstadt wohnen."},
            )
            for name in ("Quellberatung Slip Eins", "Quellberatung Slip Zwei")
        ]
    yield services
    with django_db_blocker.unblock():
        for service in services:
            location = service.service_at_locations.get().location
            organization = service.organization
            service.delete()
            location.delete()
            organization.delete()


SLIP_APPOINTMENT = "&date=2026-12-14&time=10:30&place=Raum+2.14&caseworker=Frau+Quellmann&phone=0201+88+1234"


def slip_path(lang: str, services: list[Service], extra: str = "") -> str:
    return f"/{lang}/referral/?s={','.join(str(s.pk) for s in services)}{extra}"


def test_the_slip_selection_lives_in_the_tab_and_new_client_empties_it(site_url, browser, slip_services):
    first, second = slip_services
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site_url}/de/")
    page.evaluate("localStorage.setItem('wegweiser-referral', 'left-from-an-earlier-client')")
    page.goto(site_url + slip_path("de", slip_services))
    assert page.evaluate("localStorage.getItem('wegweiser-referral')") is None, "the old key is removed"
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.getItem('wegweiser-referral')") == f"{first.pk},{second.pk}"
    # Remove one: the page and the tab's copy both drop it.
    page.click(f"a[data-remove='{first.pk}']")
    page.wait_for_load_state()
    assert page.locator("section.slip").count() == 1
    assert page.evaluate("sessionStorage.getItem('wegweiser-referral')") == str(second.pk)
    # "Add to referral" on another page keeps what this tab chose.
    page.goto(f"{site_url}/de/services/{first.pk}/")
    href = page.get_attribute(f"a[data-add-referral='{first.pk}']", "href")
    assert href.endswith(f"?s={second.pk},{first.pk}")
    # New client: an empty slip and nothing kept.
    page.goto(site_url + slip_path("de", slip_services))
    page.click("a[data-new-client]")
    page.wait_for_load_state()
    assert page.locator("section.slip").count() == 0
    assert page.evaluate("sessionStorage.getItem('wegweiser-referral')") is None
    page.goto(f"{site_url}/de/services/{first.pk}/")
    assert page.get_attribute(f"a[data-add-referral='{first.pk}']", "href").endswith(f"?s={first.pk}")
    assert page.evaluate("localStorage.length") == 0, "nothing outlives the browser session"
    context.close()


def test_the_slip_removes_a_service_without_javascript(site_url, browser, slip_services):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + slip_path("de", slip_services, SLIP_APPOINTMENT))
    page.click(f"a[data-remove='{slip_services[0].pk}']")
    page.wait_for_load_state()
    assert page.locator("section.slip").count() == 1
    assert "Quellberatung Slip Eins" not in page.locator("main").inner_text()
    assert "Frau Quellmann" in page.locator("dl.appointment").inner_text(), "what was typed stays"
    # The appointment form works without JavaScript too.
    page.fill("#id_place", "Raum 3.01")
    page.click("form.slip-form button[type=submit]")
    page.wait_for_load_state()
    assert "Raum 3.01" in page.locator("dl.appointment").inner_text()
    context.close()


def test_the_slip_shares_its_link_from_the_phone(site_url, browser, slip_services):
    context = browser.new_context()
    # The Web Share API as a phone has it: record what would be handed to the share sheet.
    context.add_init_script("navigator.share = (data) => { window.shared = data; return Promise.resolve(); };")
    page = context.new_page()
    page.goto(site_url + slip_path("ar", slip_services, SLIP_APPOINTMENT))
    link = page.input_value("#share")
    assert link.startswith(f"{site_url}/ar/referral/?s=") and "caseworker=Frau+Quellmann" in link
    page.click("#share-native")
    assert page.evaluate("window.shared.url") == link
    for selector in ("a[href^='sms:?&body=']", "a[href^='mailto:?subject=']", "a[href^='https://wa.me/?text=']"):
        href = page.get_attribute(selector, "href")
        assert urllib.parse.quote(link, safe="") in href, selector
    context.close()


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_the_slip_has_no_serious_accessibility_violations(site_url, page, lang, slip_services):
    page.goto(site_url + slip_path(lang, slip_services, SLIP_APPOINTMENT))
    violations = axe_violations(page)
    assert not violations, json.dumps([(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in violations])


@pytest.mark.parametrize("lang", ["de", "fa"])
def test_the_slip_fits_a_390_px_phone(site_url, browser, lang, slip_services):
    """The client opens the shared link on a phone: long German compounds wrap, the QR code stays on the page."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    names = ["Kommunales Integrationsmanagement Quellstadt", "Ausländerbehördenzweigstellenverwaltung Quellkreis"]
    page.goto(site_url + slip_path(lang, slip_services, SLIP_APPOINTMENT))
    rename = "names => document.querySelectorAll('.slip h2').forEach((h, i) => h.textContent = names[i % 2])"
    page.evaluate(rename, names)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


# --- The staff area on a phone ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def staff(django_db_blocker) -> Iterator[dict]:
    """An untrusted editor (lena) with a long-named service, her waiting change and an unmet search, and an
    administrator (ines) with an authenticator app — committed so that the server process sees them."""
    from django.contrib.auth.models import User

    from directory.models import Kreis, UnmetSearch
    from editorial.models import ChangeRequest, EditorMembership, StaffAction
    from tests.editorial_helpers import PASSWORD, totp_device

    with django_db_blocker.unblock():
        service = factories.office(
            name="Kommunales Integrationszentrum Quellkreis mit einem sehr langen Namen ohne Umbruchmöglichkeit",
            service_type="ki",
            street="Nassauerallee 15-23",
            postcode="47533",
            ags=factories.KLEVE,
            areas=[factories.KLEVE[:5]],
            email="integrationszentrum-quellkreis@beispiel-kreisverwaltung.example.org",
            url="https://www.beispiel-kreisverwaltung.example.org/integration/kommunales-integrationszentrum",
        )
        factories.phone(service=service, number="02821 594-0")
        lena = User.objects.create_user("lena", "lena@example.org", PASSWORD)
        EditorMembership.objects.create(user=lena, organization=service.organization)
        ines = User.objects.create_superuser("ines", "ines@example.org", PASSWORD)
        totp_device(ines)
        change = ChangeRequest.objects.create(
            service=service,
            proposed={"email": "neue-adresse-des-integrationszentrums@beispiel-kreisverwaltung.example.org"},
            base={"email": service.email},
            author=lena,
        )
        unmet = UnmetSearch.objects.create(
            query="курси німецької мови для дорослих у вечірній час",
            language="uk",
            kreis=Kreis.objects.get(ags=factories.KLEVE[:5]),
            day=dt.date.today(),
        )
    yield {"service": service, "lena": lena, "ines": ines, "change": change}
    with django_db_blocker.unblock():
        location = service.service_at_locations.get().location
        organization = service.organization
        unmet.delete()
        service.delete()
        location.delete()
        organization.delete()
        StaffAction.objects.filter(username__in=["lena", "ines"]).delete()
        lena.delete()
        ines.delete()


def sign_in_in_browser(page, site_url: str, username: str, token: str | None = None) -> None:
    from tests.editorial_helpers import PASSWORD

    page.goto(f"{site_url}/accounts/login/?next=/manage/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    if token is not None:
        page.fill("#id_token", token)
        page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{site_url}/manage/")


def test_staff_pages_fit_a_390_px_phone(site_url, page, staff):
    """The dashboard, the edit form, review and lists: no sideways scrolling on a small phone."""
    from tests.editorial_helpers import totp_device, totp_token

    service, change = staff["service"].pk, staff["change"].pk
    too_wide = {}

    def check(paths: list[str]) -> None:
        for path in paths:
            response = page.goto(f"{site_url}{path}")
            assert response is not None and response.status == 200, path
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                too_wide[path] = width

    sign_in_in_browser(page, site_url, "lena")
    check(
        [
            "/manage/",
            f"/manage/services/{service}/",
            f"/manage/services/{service}/edit/",
            "/manage/services/",
            "/manage/changes/?status=all",
            f"/manage/changes/{change}/",
            "/manage/freshness/",
            "/manage/unmet/",
        ]
    )
    page.context.clear_cookies()
    sign_in_in_browser(page, site_url, "ines", totp_token(totp_device(staff["ines"])))
    check(
        [
            "/manage/",
            f"/manage/changes/{change}/",
            "/manage/reports/?status=all",
            "/manage/actions/",
            "/manage/unmet/",
            f"/manage/services/{service}/history/",
        ]
    )
    assert too_wide == {}
