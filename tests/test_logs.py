"""Nothing about a client in any log line (issue 12.8): no path or query of a request, one line per throttled
client and minute, no WeasyPrint chatter."""

import logging
import uuid

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


def test_slips_with_unknown_ids_log_nothing_of_the_request(client, caplog):
    unknown = [str(uuid.uuid4()) for _ in range(3)]
    caplog.set_level(logging.DEBUG)
    for language in ("ar", "fa", "uk"):
        response = client.get(f"/{language}/referral/?s={','.join(unknown)}&caseworker=Frau+Quell&phone=0201999")
        assert response.status_code == 404
    assert client.get(f"/tr/services/{unknown[0]}/").status_code == 404
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "Not Found" in logged, "the 404s are still logged, without their path"
    for detail in ("referral", "/ar/", "/fa/", "/uk/", "/tr/", "Quell", "0201999", *unknown):
        assert detail not in logged, detail
    assert all(getattr(r, "request", None) is None for r in caplog.records if r.name == "django.request")


def test_a_throttled_client_is_logged_once_a_minute_not_per_request(settings, caplog):
    settings.HSDS_RATE_LIMIT_PER_MINUTE = 2
    client = Client()
    caplog.set_level(logging.DEBUG)
    statuses = [client.get("/api/hsds/taxonomies").status_code for _ in range(6)]
    assert statuses.count(429) == 4
    throttled = [r for r in caplog.records if "throttled" in r.getMessage()]
    assert len(throttled) == 1
    assert not [r for r in caplog.records if r.name == "django.request"], "no line per 429"
    # Another client is logged on its own.
    Client(REMOTE_ADDR="192.0.2.7").get("/api/hsds/taxonomies")
    for _ in range(3):
        Client(REMOTE_ADDR="192.0.2.7").get("/api/hsds/taxonomies")
    assert len([r for r in caplog.records if "throttled" in r.getMessage()]) == 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "192.0.2.7" not in logged and "127.0.0.1" not in logged


def test_a_pdf_slip_logs_no_weasyprint_chatter(client, caplog):
    service = factories.office(name="Quell-KI", service_type="ki", areas=["05154"])
    caplog.set_level(logging.DEBUG)
    response = client.get(f"/ar/referral/?s={service.pk}&format=pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert not [r for r in caplog.records if r.name.startswith(("weasyprint", "fontTools"))]
