"""The referral slip: bilingual, HTML and PDF, and it stores nothing about the client."""

import io
import re
import uuid

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

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
