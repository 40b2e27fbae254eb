"""What people looked for and did not find: counted per normalised words, page language, Kreis and day — nothing
about who searched — shown to the moderators and editors of that Kreis, and deleted after 13 months."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import models

from directory.models import Kreis, UnmetSearch
from directory.places import resolve_place
from directory.services import count_unmet_search, normalised_query, prune_unmet_searches, unmet_search_cutoff
from tests import factories
from tests.editorial_helpers import KLEVE, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
pytest_plugins = ["tests.editorial_fixtures"]

NOTHING = "Zzqxv   BLORFKURS"


def test_the_table_holds_no_client_data():
    """Its columns, all of them: words, language, Kreis, day, a count — no address, cookie, account or time of day."""
    columns = {field.column: type(field) for field in UnmetSearch._meta.concrete_fields}
    assert columns == {
        "id": models.BigAutoField,
        "query": models.CharField,
        "language": models.CharField,
        "kreis_id": models.ForeignKey,
        "day": models.DateField,
        "count": models.PositiveIntegerField,
    }
    assert not any(isinstance(f, models.DateTimeField) for f in UnmetSearch._meta.concrete_fields), "no time of day"


def test_a_search_that_finds_nothing_is_counted_per_words_language_kreis_and_day(client):
    assert client.get("/de/search/", {"q": NOTHING, "plz": "47533"}).status_code == 200
    assert client.get("/de/search/", {"q": " zzqxv blorfkurs ", "plz": "47533"}).status_code == 200
    client.get("/ar/search/", {"q": NOTHING, "plz": "47533"})
    client.get("/de/search/", {"q": NOTHING})
    # (Only these words: the browser tests' server commits its own searches to the same database.)
    mine = UnmetSearch.objects.filter(query="zzqxv blorfkurs")
    rows = {(r.query, r.language, r.kreis_id): r.count for r in mine}
    assert rows == {
        ("zzqxv blorfkurs", "de", KLEVE): 2,
        ("zzqxv blorfkurs", "ar", KLEVE): 1,
        ("zzqxv blorfkurs", "de", None): 1,
    }
    assert set(mine.values_list("day", flat=True)) == {dt.date.today()}


def test_a_search_that_finds_something_or_has_no_words_is_not_counted(client):
    factories.office(name="Quellberatung Blorfkurs", ags=factories.KLEVE)
    before = UnmetSearch.objects.count()
    client.get("/de/search/", {"q": "blorfkurs"})
    client.get("/de/search/", {"plz": "47533"})
    assert UnmetSearch.objects.count() == before


def test_the_words_are_normalised_and_cut():
    assert normalised_query("  Deutsch\tKURS \n für  Frauen ") == "deutsch kurs für frauen"
    assert normalised_query("Straße") == "strasse"
    assert normalised_query("x" * 300) == "x" * 100
    assert normalised_query("\u202e \x00 ") == ""
    count_unmet_search(text="   ", language="de", place=None)
    count_unmet_search(text="Sprachkurs", language="xx", place=resolve_place(plz="99999"))
    assert list(UnmetSearch.objects.filter(query="sprachkurs").values_list("language", "kreis_id")) == [("", None)]
    assert not UnmetSearch.objects.filter(query="").exists()


def test_moderators_and_editors_see_the_unmet_needs_of_their_kreise(client, mona, erik, bea, alice, organization_b):
    factories.office(name="Quellstadt Essen Beratung", organization=organization_b, ags=factories.ESSEN)
    factories.office(
        name="Quellkreis Kleve Beratung", organization=erik.editor_memberships.get().organization, ags=factories.KLEVE
    )
    today = dt.date.today()
    essen = Kreis.objects.get(ags=factories.ESSEN[:5])
    kleve = Kreis.objects.get(ags=KLEVE)
    for day, kreis, count in ((today, kleve, 3), (today - dt.timedelta(days=100), kleve, 4), (today, essen, 5)):
        UnmetSearch.objects.create(query="курси німецької", language="uk", kreis=kreis, day=day, count=count)
    UnmetSearch.objects.create(query="dari", language="fa", kreis=None, day=today, count=2)

    def seen(user) -> str:
        sign_in(client, user)
        response = client.get("/manage/unmet/")
        assert response.status_code == 200
        return response.content.decode()

    for user in (mona, erik):
        page = seen(user)
        assert "курси німецької" in page and "Kleve" in page and ">3<" in page and ">7<" in page
        assert "Essen" not in page and "dari" not in page
    page = seen(bea)
    assert "Essen" in page and ">5<" in page and "Kleve" not in page
    page = seen(alice)
    assert "dari" in page and "Kleve" in page and "Essen" in page


def test_counts_older_than_13_months_are_deleted():
    today = dt.date(2026, 12, 2)
    assert unmet_search_cutoff(today) == dt.date(2025, 11, 2)
    assert unmet_search_cutoff(dt.date(2026, 3, 31)) == dt.date(2025, 2, 28)
    for day in (dt.date(2025, 11, 1), dt.date(2025, 11, 2), today):
        UnmetSearch.objects.create(query="dolmetscher", language="de", day=day)
    assert prune_unmet_searches(today=today) >= 1
    kept = UnmetSearch.objects.filter(query="dolmetscher").values_list("day", flat=True)
    assert sorted(kept) == [dt.date(2025, 11, 2), today]
    UnmetSearch.objects.create(query="alt", language="de", day=dt.date.today() - dt.timedelta(days=400))
    call_command("prune_unmet_searches", verbosity=0)
    assert not UnmetSearch.objects.filter(query="alt").exists()
