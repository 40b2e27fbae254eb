"""The referral slip: bilingual, HTML and PDF, and it stores nothing about the client."""

import io
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from html import escape, unescape
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import connection, connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from pypdf import PdfReader

from public import referral
from tests import factories
from tests.factories import ESSEN, KLEVE

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_services():
    """An office at a street with the hours of its place, an office at a town's seat, a project with no place."""
    ip = factories.office(
        name="Integration Point Quellstadt",
        service_type="integration-point",
        street="Berliner Platz 10",
        postcode="45127",
        ags=ESSEN,
    )
    place = ip.service_at_locations.get().location
    factories.schedule(location=place, byday="MO,WE", opens_at="08:00", closes_at="12:00")
    return [
        ip,
        factories.office(name="Quell-KI Kreis Kleve", service_type="ki", ags=KLEVE, areas=["05154"]),
        factories.service(name="Quellzeit – Wege in Arbeit", service_type="project"),
    ]


def slip_url(services, lang="ar", extra=""):
    return f"/{lang}/referral/?s={','.join(str(s.pk) for s in services)}{extra}"


def row_counts() -> dict[str, int]:
    return {model._meta.db_table: model._default_manager.count() for model in apps.get_models()}


def test_it_renders_a_slip_in_arabic_beside_german(client, three_services):
    html = client.get(slip_url(three_services)).content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "Ich spreche Arabisch. Bitte organisieren Sie eine Dolmetscherin oder einen Dolmetscher." in html
    for service in three_services:
        assert service.name["de"] in html
    assert "<svg" in html, "a QR code to the live entry"
    assert "Berliner Platz 10, 45127 Essen" in html
    assert "08:00–12:00" in html
    assert re.search(r"[\u0600-\u06FF]{4,}", html)


def test_the_pdf_holds_the_arabic_and_the_german(client, three_services):
    response = client.get(slip_url(three_services, extra="&format=pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Ich spreche Arabisch" in text
    assert "Integration Point Quellstadt" in text
    assert re.search(r"[\u0600-\u06FF]{4,}", text), "Arabic text survives into the PDF"


def test_rendering_a_slip_writes_nothing(client, three_services):
    before = row_counts()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(slip_url(three_services)).status_code == 200
        assert client.get(slip_url(three_services, extra="&format=pdf")).status_code == 200
    writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.IGNORECASE)]
    assert not writes
    assert row_counts() == before


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_pdf_of_services_only_is_rendered_once_until_the_catalogue_changes(client, three_services):
    url = slip_url(three_services, extra="&format=pdf")
    first = client.get(url)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert again.status_code == 200 and again.content == first.content
    assert not queries.captured_queries, "kept in the shared cache: not even the services are read again"
    ip = three_services[0]
    ip.name = {**ip.name, "de": "Integration Point Neustadt"}
    ip.save()
    assert "Integration Point Neustadt" in pdf_text(client.get(url).content)


def test_concurrent_requests_for_the_same_slip_render_it_once(three_services, monkeypatch, settings):
    """Six workers asked for one slip that is not kept yet: one renders it, the others wait for its PDF."""
    settings.SLIP_PDF_RATE_LIMIT_PER_MINUTE = 0
    renders = []

    def counted(request, context):
        renders.append(1)
        return real_render(request, context)

    real_render = referral.slip_pdf
    monkeypatch.setattr(referral, "slip_pdf", counted)
    url = slip_url(three_services, extra="&format=pdf")
    # The threads use this test's connection: the services exist only in its transaction. Only the one that
    # renders reads from it; the others ask the shared cache (each thread has its own Redis client).
    shared = connections["default"]
    shared.inc_thread_sharing()

    def ask(_: int) -> tuple[int, bytes]:
        connections["default"] = shared
        with translation.override("ar"):
            response = referral.referral(RequestFactory().get(url))
        return response.status_code, response.content

    try:
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(ask, range(6)))
    finally:
        shared.dec_thread_sharing()
    assert len(renders) == 1
    assert {status for status, _ in answers} == {200} and len({pdf for _, pdf in answers}) == 1
    assert "Integration Point Quellstadt" in pdf_text(answers[0][1])


def test_a_pdf_with_an_appointment_is_never_kept(client, three_services):
    url = slip_url(three_services, extra=APPOINTMENT + "&format=pdf")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert queries.captured_queries, "rendered again: what is typed for a client is not stored anywhere"


def test_a_page_slip_of_services_only_is_kept_until_the_catalogue_changes(client, three_services):
    url = slip_url(three_services)
    first = client.get(url)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert again.status_code == 200 and again.content == first.content
    assert not queries.captured_queries, "kept in the shared cache as its PDF is"
    assert "no-store" in again["Cache-Control"] and again["Referrer-Policy"] == "no-referrer"
    ip = three_services[0]
    ip.name = {**ip.name, "de": "Integration Point Neustadt"}
    ip.save()
    assert "Integration Point Neustadt" in client.get(url).content.decode()


def test_a_page_slip_with_an_appointment_is_never_kept(client, three_services):
    url = slip_url(three_services, extra=APPOINTMENT)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert queries.captured_queries, "rendered again: what is typed for a client is not stored anywhere"


def test_the_slip_names_unknown_ids_and_dedupes(client, three_services):
    ip = three_services[0]
    url = f"/de/referral/?s={ip.pk},{ip.pk},not-an-id,00000000-0000-0000-0000-000000000000"
    html = client.get(url).content.decode()
    assert html.count('<section class="slip">') == 1
    assert "not-an-id" in html and "00000000-0000-0000-0000-000000000000" in html
    assert "listed twice" in html or "zweimal" in html


def test_a_slip_holds_a_sane_maximum(client):
    ids = [factories.service(name=f"Quellangebot {n}").pk for n in range(12)] + [uuid.uuid4() for _ in range(188)]
    response = client.get(f"/de/referral/?s={','.join(str(pk) for pk in ids)}")
    assert response.status_code == 200
    assert response.content.decode().count('<section class="slip">') == 10


def test_a_slip_of_nothing_known_is_a_clear_404(client):
    response = client.get("/de/referral/?s=%3Cscript%3Ealert(1),nope")
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.content.decode()


def test_an_empty_slip_explains_how_to_add_services(client):
    response = client.get("/de/referral/")
    assert response.status_code == 200
    assert 'href="/de/search/"' in response.content.decode()


APPOINTMENT = "&date=2026-12-14&time=10:30&place=Raum+2.14%2C+Quellhaus&caseworker=Frau+Quellmann&phone=0201+88+1234"
# What the caseworker typed, as it must appear on the slip (and nowhere else).
TYPED = ["Raum 2.14, Quellhaus", "Frau Quellmann", "0201 88 1234"]


def remove_link(html: str, service) -> str:
    match = re.search(rf'href="(\?[^"]*)" data-remove="{service.pk}"', html)
    assert match, f"no remove link for {service.pk}"
    return match.group(1).replace("&amp;", "&")


def test_it_removes_one_service_with_a_plain_link_and_keeps_what_was_typed(client, three_services):
    html = client.get(slip_url(three_services, extra=APPOINTMENT)).content.decode()
    link = remove_link(html, three_services[1])
    assert str(three_services[1].pk) not in link.split("&")[0]
    html = client.get("/ar/referral/" + link).content.decode()
    assert html.count('<section class="slip">') == 2
    assert "Quell-KI Kreis Kleve" not in html
    assert "Integration Point Quellstadt" in html and "Quellzeit – Wege in Arbeit" in html
    assert all(typed in html for typed in TYPED), "the appointment stays on the slip"


def test_removing_the_last_service_leaves_an_empty_selection(client, three_services):
    html = client.get(slip_url(three_services[:1])).content.decode()
    response = client.get("/ar/referral/" + remove_link(html, three_services[0]))
    html = response.content.decode()
    assert response.status_code == 200 and '<section class="slip">' not in html
    assert '<div id="slip-selection" data-ids=""></div>' in html, "the browser's copy is emptied too"


def test_new_client_leads_to_an_empty_slip(client, three_services):
    html = client.get(slip_url(three_services, extra=APPOINTMENT)).content.decode()
    match = re.search(r'<a href="([^"]*)" data-new-client>', html)
    assert match and match.group(1) == "/ar/referral/?s="
    html = client.get(match.group(1)).content.decode()
    assert '<section class="slip">' not in html and not any(typed in html for typed in TYPED)


def test_the_appointment_and_the_caseworker_are_printed_on_the_slip_and_the_pdf(client, three_services):
    html = client.get(slip_url(three_services, extra=APPOINTMENT)).content.decode()
    slip = html.split('<dl class="appointment">')[1].split("</dl>")[0]
    assert all(typed in slip for typed in TYPED)
    assert "Montag, 14.12.2026, 10:30 Uhr" in slip, "in German for the office"
    assert "الاثنين" in slip, "and in the client's language"
    assert 'href="tel:0201881234"' in slip
    pdf = client.get(slip_url(three_services, extra=APPOINTMENT + "&format=pdf")).content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Montag, 14.12.2026, 10:30 Uhr" in text
    assert all(typed in text for typed in TYPED)


def test_typed_text_is_cleaned_escaped_and_limited(client, three_services):
    place = "<script>alert(1)</script> Raum\u202e 7\x07"
    response = client.get(
        slip_url(three_services, lang="de"),
        {"s": ",".join(str(s.pk) for s in three_services), "place": place, "caseworker": "Q" * 81, "phone": "call me"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    slip = html.split('<dl class="appointment">')[1].split("</dl>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Raum 7" in slip, "one plain line, escaped"
    assert "<script>alert" not in html and "\u202e" not in html and "\x07" not in html
    assert "Q" * 81 not in slip and "call me" not in slip, "what failed validation is not printed"
    assert "höchstens 80 Zeichen" in html, "and the form says why"
    assert "nur mit Ziffern" in html


def test_a_wrong_date_is_a_message_not_an_error(client, three_services):
    response = client.get(slip_url(three_services, lang="de", extra="&date=31.02.2026&time=25:99"))
    assert response.status_code == 200
    assert response.content.decode().count('class="error"') == 1
    assert '<dl class="appointment">' not in response.content.decode()


def test_what_is_typed_is_not_written_or_logged(client, three_services, caplog):
    before = row_counts()
    caplog.set_level(logging.DEBUG)
    with CaptureQueriesContext(connection) as queries:
        for extra in (APPOINTMENT, APPOINTMENT + "&format=pdf"):
            response = client.get(slip_url(three_services, extra=extra))
            assert response.status_code == 200
        # A slip of unknown ids is a 404, which Django logs: without path or query (directory/logs.py).
        assert client.get(f"/ar/referral/?s={uuid.uuid4()}{APPOINTMENT}").status_code == 404
    assert not [q for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.IGNORECASE)]
    assert row_counts() == before
    # What a handler writes is the message with its arguments (and the request, which the filter removes).
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, 'request', None)!r}" for r in caplog.records)
    assert "Not Found (404; path not logged)" in logged, "the capture works"
    for typed in (*TYPED, "Quellmann", "Raum+2.14", "2026-12-14", "/ar/", "referral"):
        assert typed not in logged


def test_the_slip_is_never_cached_and_sends_no_referrer(client, three_services):
    response = client.get(slip_url(three_services, extra=APPOINTMENT))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    pdf = client.get(slip_url(three_services, extra=APPOINTMENT + "&format=pdf"))
    assert "no-store" in pdf["Cache-Control"] and pdf["Referrer-Policy"] == "no-referrer"


def test_share_links_carry_the_slip_url_in_the_clients_language(client, three_services):
    html = client.get(slip_url(three_services, extra=APPOINTMENT)).content.decode()
    share_url = unescape(re.search(r'<input id="share" readonly value="([^"]*)"', html).group(1))
    assert share_url.startswith("http://testserver/ar/referral/?s=")
    assert all(str(s.pk) in share_url for s in three_services)
    assert "caseworker=Frau+Quellmann" in share_url and "date=2026-12-14" in share_url
    links = {unescape(href) for href in re.findall(r'<a href="((?:sms|mailto|https://wa\.me)[^"]*)"', html)}
    encoded = quote(share_url, safe="")
    assert {link.split("?")[0] for link in links} == {"sms:", "mailto:", "https://wa.me/"}
    for link in links:
        assert encoded in link, link
    assert "sms:?&body=" in "".join(links) and "mailto:?subject=" in "".join(links)
    assert f'data-url="{escape(share_url)}"' in html, "the Web Share button shares the same link"


@pytest.fixture
def three_long_services():
    """Three services as long as the longest in the catalogue: both languages, who can come, two places' hours."""
    description = {
        "de": "Zentrale Anlaufstelle für geflüchtete Menschen, die Unterstützung bei der Suche nach einer "
        "Ausbildung oder Arbeitsstelle brauchen. Mitarbeitende der Quellagentur und des Quelljobcenters beraten "
        "hier gemeinsam unter einem Dach. Ziel ist die berufliche Integration, vor allem über gezielte "
        "Sprachförderung und gegebenenfalls weitere Qualifizierung. Über eine Hotline stehen die Mitarbeitenden "
        "mit der Ausländerbehörde in Kontakt, denn der Aufenthaltsstatus entscheidet über die weitere Beratung.",
        "ar": "نقطة اتصال مركزية للاجئين الذين يحتاجون إلى دعم في البحث عن تدريب مهني أو عمل. يقدّم موظفو الوكالة "
        "ومركز العمل الاستشارة معًا تحت سقف واحد. الهدف هو الاندماج المهني، خاصةً من خلال دعم لغوي موجّه، وعند "
        "الحاجة تأهيل إضافي. يتواصل الموظفون مع دائرة الأجانب عبر خط ساخن، لأن وضع الإقامة يحدد الاستشارة اللاحقة.",
    }
    eligibility = {
        "de": "Asylbewerberinnen und Asylbewerber sowie geflüchtete Menschen mit hoher Bleibewahrscheinlichkeit, "
        "die in Quellstadt leben und Unterstützung bei der Suche nach Ausbildung oder Arbeit brauchen."
    }
    services = []
    for n in range(3):
        service = factories.office(
            name=f"Quellberatung Nummer {n + 1} für Arbeit und Ausbildung",
            street=f"Quellstraße {n + 1}",
            postcode="45127",
            description=description,
            eligibility_description=eligibility,
        )
        place = service.service_at_locations.get().location
        factories.schedule(location=place, byday="MO,TU,WE,TH", opens_at="08:30", closes_at="12:00")
        factories.schedule(location=place, byday="TU,TH", opens_at="14:00", closes_at="17:00")
        factories.phone(service=service, number=f"0201 123456{n}")
        services.append(service)
    return services


@pytest.mark.parametrize("lang", ["ar", "fa", "uk", "de"])
def test_three_services_print_on_one_pdf_page(client, three_long_services, lang):
    response = client.get(slip_url(three_long_services, lang=lang, extra=APPOINTMENT + "&format=pdf"))
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) == 1, pages[-1].extract_text()[:300]
    assert "Quellberatung Nummer 3" in pages[0].extract_text()


def test_who_can_come_in_german_is_marked_german_on_a_farsi_slip(client, three_long_services):
    service = three_long_services[0]
    # Latin runs inside a right-to-left page are isolated with <bdi> (directory.translation): not what this checks.
    html = re.sub(r"</?bdi>", "", client.get(slip_url([service], lang="fa")).content.decode())
    eligibility_de = service.eligibility_description["de"]
    assert "چه کسانی می‌توانند مراجعه کنند" in html, "“who can come” in Farsi"
    assert f'<p lang="de" dir="ltr" class="de">{eligibility_de}</p>' in html
    assert html.count(eligibility_de) == 1, "a German fallback is not shown twice as if it were Farsi"
    translated = factories.service(
        name="Quellkurs", eligibility_description={"de": "Alle ab 18 Jahren.", "fa": "همهٔ افراد از ۱۸ سال."}
    )
    html = re.sub(r"</?bdi>", "", client.get(slip_url([translated], lang="fa")).content.decode())
    assert '<p class="client">همهٔ افراد از ۱۸ سال.</p>' in html
    assert '<p lang="de" dir="ltr" class="de">Alle ab 18 Jahren.</p>' in html


def test_fallback_texts_inside_sentences_are_marked_german(client):
    quellkreis = factories.organization(name="Quellkreis Kleve", email="info@quellkreis.example")
    office = factories.office(
        name="Quell-Jobcenter", organization=quellkreis, application_process={"de": "Termin per Telefon."}
    )
    html = client.get(slip_url([office], lang="ar")).content.decode()
    assert '<bdi lang="de" dir="ltr">Quellkreis Kleve</bdi>' in html
    assert re.search(r'<span lang="de" dir="ltr">(<bdi>)?Termin per Telefon\.(</bdi>)?</span>', html)
