"""The one write pipeline of exchange/: its readers stand side by side, and it has one rule for "unchanged"."""

import pytest

from directory import models as m
from directory.translation import TranslatedField
from exchange.pipeline import LOAD_REASON, LoadReport, Outcome, Where, Writer, same_value
from tests.test_architecture import graph

READERS = ("exchange.loaders", "exchange.spreadsheet", "exchange.package")


def test_it_lets_the_readers_import_the_pipeline_and_never_each_other_or_the_entry_point():
    imports = graph()
    for reader in READERS:
        targets = {target for target, _runs in imports[reader]}
        assert "exchange.pipeline" in targets, reader
        assert not targets & {*READERS, "exchange.imports"}, f"{reader} imports {targets & {*READERS}}"


def test_it_takes_an_empty_translation_for_no_translation():
    text = TranslatedField()
    assert same_value(text, {"de": "Beratung", "en": ""}, {"de": "Beratung"})
    assert not same_value(text, {"de": "Beratung", "en": "Advice"}, {"de": "Beratung"})
    assert not same_value(None, {"de": "Beratung", "en": ""}, {"de": "Beratung"}), "only translated text"


@pytest.mark.django_db
def test_it_writes_nothing_where_only_an_empty_translation_differs():
    service = m.Service.objects.filter(name__has_key="en").first()
    assert service is not None
    name = dict(service.name)
    m.Service.objects.filter(pk=service.pk).update(name={**name, "en": ""})
    service.refresh_from_db()
    assert service.name["en"] == ""
    versions = service.history.count()
    report = LoadReport()
    writer = Writer(LOAD_REASON, report, keep_edited=True)
    without_english = {code: text for code, text in name.items() if code != "en"}
    _, outcome, changed = writer.upsert(m.Service, service, service.pk, {"name": without_english}, where=Where())
    assert (outcome, changed) == (Outcome.UNCHANGED, [])
    assert report.counts == {"Service unchanged": 1}
    assert service.history.count() == versions
