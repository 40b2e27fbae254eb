"""Private notes and reports: stored as typed, shown escaped, refused when huge, and a note is its author's alone."""

from __future__ import annotations

import pytest

from directory.models import ProblemReport
from editorial.models import PrivateNote
from tests.editorial_helpers import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
# The named users and services (alice comes from conftest).
pytest_plugins = ["tests.editorial_fixtures"]

HTML = '<script>alert("x")</script> Frau <b>Yılmaz</b> & Team: nur dienstags'
ONE_MEGABYTE = "x" * (1024 * 1024)


def test_a_note_with_html_is_stored_as_typed_and_shown_escaped(client, carol, kleve_service):
    sign_in(client, carol)
    response = client.post(f"/manage/notes/service/{kleve_service.pk}/", {"text": f"  {HTML}\n"})
    assert response.status_code == 302
    note = PrivateNote.objects.get(author=carol)
    assert note.text == HTML
    for url in (f"/manage/notes/service/{kleve_service.pk}/", f"/manage/notes/{note.pk}/", "/manage/notes/"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<b>Yılmaz</b>" not in html, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html, url


def test_a_one_megabyte_note_is_refused(client, carol, kleve_service):
    sign_in(client, carol)
    response = client.post(f"/manage/notes/service/{kleve_service.pk}/", {"text": ONE_MEGABYTE})
    assert response.status_code == 400
    assert "text" in response.context["form"].errors
    assert not PrivateNote.objects.exists()
    assert client.post(f"/manage/notes/service/{kleve_service.pk}/", {"text": "   "}).status_code == 400
    assert not PrivateNote.objects.exists()


@pytest.mark.parametrize("signed_in", [False, True], ids=["public", "caseworker"])
def test_a_one_megabyte_report_is_refused(client, carol, kleve_service, signed_in):
    if signed_in:
        sign_in(client, carol)
    response = client.post(f"/de/services/{kleve_service.pk}/report/", {"text": ONE_MEGABYTE, "contact": ""})
    assert response.status_code == 400
    assert not ProblemReport.objects.exists()


def test_a_report_with_html_is_shown_escaped_to_the_moderator(client, mona, kleve_service):
    client.post(f"/de/services/{kleve_service.pk}/report/", {"text": HTML, "contact": "<i>ich</i>"})
    report = ProblemReport.objects.get()
    assert report.text == HTML
    sign_in(client, mona)
    for url in ("/manage/reports/", f"/manage/reports/{report.pk}/"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "&lt;script&gt;" in html, url
    assert "<i>ich</i>" not in client.get(f"/manage/reports/{report.pk}/").content.decode()


def test_private_notes_are_invisible_to_everyone_else(client, carol, dave, alice, kleve_service):
    note = PrivateNote.objects.create(author=carol, service=kleve_service, text="Frau K. kennt sich aus")
    for other in (dave, alice):
        sign_in(client, other)
        assert client.get(f"/manage/notes/{note.pk}/").status_code == 404
        assert client.post(f"/manage/notes/{note.pk}/delete/").status_code == 404
        assert "Frau K." not in client.get(f"/manage/notes/service/{kleve_service.pk}/").content.decode()
        assert "Frau K." not in client.get("/manage/notes/").content.decode()
    assert PrivateNote.objects.filter(pk=note.pk).exists()

    sign_in(client, carol)
    assert "Frau K. kennt sich aus" in client.get(f"/manage/notes/{note.pk}/").content.decode()
    assert client.get("/manage/notes/not-a-uuid/").status_code == 404
    assert client.post(f"/manage/notes/{note.pk}/delete/").status_code == 302
    assert not PrivateNote.objects.exists()
