"""The UI translations: every string translated in all seven languages, placeholders kept, pages without English."""

import ast
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django.utils.translation import trans_real

from directory.models import Service

LOCALE = Path(settings.BASE_DIR) / "directory" / "locale"
LANGUAGES = [code for code, _name in settings.LANGUAGES]
# The languages a newcomer reads instead of German or English: no English may be left on their pages.
NEWCOMER_LANGUAGES = ["ar", "fa", "uk", "ru", "tr"]
NPLURALS = {"de": 2, "en": 2, "ar": 6, "fa": 2, "uk": 3, "ru": 3, "tr": 2}
# Python-format placeholders (%(name)s, %(n)d) and str.format ones ({name}).
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\w*\}")


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (header first): a small reader for what makemessages writes."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        references: list[str] = []
        current = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#:"):
                references += [ref.rsplit(":", 1)[0] for ref in line[2:].split()]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[current] += ast.literal_eval(line)
            else:
                current, _, quoted = line.partition(" ")
                fields[current] = ast.literal_eval(quoted)
        if "msgid" not in fields:  # only obsolete (#~) entries
            continue
        msgstr = [fields[key] for key in sorted(fields, key=_form_index) if key.startswith("msgstr")]
        entries.append(Entry(fields["msgid"], fields.get("msgid_plural"), msgstr, flags, references))
    return entries


def _form_index(key: str) -> int:
    match = re.search(r"\[(\d+)\]", key)
    return int(match.group(1)) if match else 0


def catalogue(lang: str) -> list[Entry]:
    return read_po(LOCALE / lang / "LC_MESSAGES" / "django.po")


def header(lang: str) -> dict[str, str]:
    first = catalogue(lang)[0]
    assert first.msgid == ""
    return dict(line.split(": ", 1) for line in first.msgstr[0].splitlines() if ": " in line)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="session", autouse=True)
def compiled_messages():
    """The .mo files are not in git: compile them when missing or older than their .po file."""
    stale = [
        po
        for po in LOCALE.glob("*/LC_MESSAGES/django.po")
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command("compilemessages", locale=LANGUAGES, verbosity=0, ignore_patterns=[".venv", "node_modules"])
        # Catalogues loaded before the compilation would otherwise stay cached for the whole session.
        trans_real._translations = {}
        trans_real._default = None
        trans_real._active = trans_real.Local()


# --- The catalogues ----------------------------------------------------------------------------------------


def test_it_has_a_catalogue_for_every_language():
    assert sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/django.po")) == sorted(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_it_declares_language_charset_and_plural_forms(lang):
    fields = header(lang)
    assert fields["Language"] == lang
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert re.match(rf"nplurals={NPLURALS[lang]}; plural=", fields["Plural-Forms"])
    assert "fuzzy" not in catalogue(lang)[0].flags


@pytest.mark.parametrize("lang", LANGUAGES)
def test_it_translates_every_msgid(lang):
    entries = catalogue(lang)[1:]
    assert entries
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    empty = [e.msgid for e in entries if not e.msgstr or not all(s.strip() for s in e.msgstr)]
    assert fuzzy == []
    assert empty == []
    wrong_forms = [e.msgid for e in entries if e.msgid_plural is not None and len(e.msgstr) != NPLURALS[lang]]
    assert wrong_forms == []


def test_it_has_the_same_msgids_in_every_language():
    german = {(e.msgid, e.msgid_plural) for e in catalogue("de")}
    for lang in LANGUAGES:
        assert {(e.msgid, e.msgid_plural) for e in catalogue(lang)} == german, lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_it_keeps_every_placeholder(lang):
    broken = []
    for entry in catalogue(lang)[1:]:
        for index, msgstr in enumerate(entry.msgstr):
            source = entry.msgid if entry.msgid_plural is None or index == 0 else entry.msgid_plural
            if placeholders(msgstr) != placeholders(source):
                broken.append((entry.msgid, msgstr))
    assert broken == []


def test_it_translates_newcomer_languages_rather_than_copying_english():
    for lang in NEWCOMER_LANGUAGES:
        copied = [e.msgid for e in catalogue(lang)[1:] if e.msgstr == [e.msgid]]
        assert copied == [], lang


# --- The compiled catalogues in use ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("de", "Wo wohnen Sie?"),
        ("en", "Where do you live?"),
        ("ar", "أين مكان سكنك؟"),
        ("fa", "کجا زندگی می‌کنید؟"),
        ("uk", "Де ви живете?"),
        ("ru", "Где вы живёте?"),
        ("tr", "Nerede yaşıyorsunuz?"),
    ],
)
def test_it_uses_the_compiled_catalogue(lang, expected):
    with translation.override(lang):
        assert translation.gettext("Where do you live?") == expected
        assert translation.gettext("Postcode or town") != "Postcode or town" or lang == "en"


@pytest.mark.parametrize(
    ("lang", "counts"),
    [
        ("de", {1: "1 Ergebnis", 2: "2 Ergebnisse"}),
        ("ru", {1: "1 результат", 3: "3 результата", 5: "5 результатов", 11: "11 результатов", 21: "21 результат"}),
        ("uk", {1: "1 результат", 2: "2 результати", 12: "12 результатів", 22: "22 результати"}),
        ("ar", {0: "0 نتيجة", 3: "3 نتائج", 11: "11 نتيجة", 100: "100 نتيجة"}),
        ("tr", {1: "1 sonuç", 7: "7 sonuç"}),
        ("fa", {1: "1 نتیجه", 7: "7 نتیجه"}),
    ],
)
def test_it_chooses_the_plural_form_of_each_language(lang, counts):
    with translation.override(lang):
        for n, text in counts.items():
            assert translation.ngettext("%(counter)s result", "%(counter)s results", n) % {"counter": n} == text


# --- The pages ---------------------------------------------------------------------------------------------


class VisibleText(HTMLParser):
    """The text a visitor meets: text outside scripts, and the attributes read out or shown."""

    ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "content", "value"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        for name, value in attrs:
            if value and (name in self.ATTRIBUTES or (name.startswith("data-") and not value.startswith(("/", "{")))):
                self.parts.append(value.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_parts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


def untranslated(html: str, lang: str, templates: set[str]) -> list[str]:
    """Msgids of the page's templates that appear in English on the page.

    One-word msgids ("Map", "Age") count only as a whole text or attribute: as part of a sentence they may
    be German content (service names and descriptions are not UI).
    """
    parts = visible_parts(html)
    text = "\n".join(parts)
    found = []
    for entry in catalogue(lang)[1:]:
        if not templates & {Path(ref).name for ref in entry.references} or entry.msgstr[0] == entry.msgid:
            continue
        for source in filter(None, [entry.msgid, entry.msgid_plural]):
            pattern = r".+?".join(re.escape(piece) for piece in PLACEHOLDER.split(source))
            if " " not in source.strip():
                hit = any(re.fullmatch(pattern, part) for part in parts)
            else:
                hit = re.search(rf"(?<!\w){pattern}(?!\w)", text) is not None
            if hit:
                found.append(source)
    return found


def translated(lang: str, msgid: str) -> str:
    with translation.override(lang):
        return translation.gettext(msgid)


BASE = {"base.html"}
# A card's words (public/display.py; the .po files name the card's former template until makemessages runs).
CARD = {"display.py", "_card.html"}


@pytest.mark.django_db
@pytest.mark.parametrize("lang", NEWCOMER_LANGUAGES)
def test_it_shows_the_start_page_without_english(client: Client, lang):
    html = client.get(f"/{lang}/").content.decode()
    assert untranslated(html, lang, BASE | {"start.html"}) == []
    assert "Where do you live?" not in html
    assert translated(lang, "Where do you live?") in html
    assert "What do you need help with?" not in html
    assert translated(lang, "What do you need help with?") in html


@pytest.mark.django_db
@pytest.mark.parametrize("lang", NEWCOMER_LANGUAGES)
def test_it_shows_the_responsible_page_without_english(client: Client, lang):
    html = client.get(f"/{lang}/responsible/?plz=45127").content.decode()
    assert untranslated(html, lang, BASE | CARD | {"responsible.html", "views.py"}) == []
    assert translated(lang, "Responsible for %(place)s") % {"place": "45127 Essen"} in html


@pytest.mark.django_db
@pytest.mark.parametrize("lang", NEWCOMER_LANGUAGES)
def test_it_shows_the_search_page_without_english(client: Client, lang):
    html = client.get(f"/{lang}/search/?q=Beratung").content.decode()
    assert untranslated(html, lang, BASE | CARD | {"search.html", "views.py"}) == []
    assert translated(lang, "What are you looking for?") in html


@pytest.mark.django_db
@pytest.mark.parametrize("lang", NEWCOMER_LANGUAGES)
def test_it_shows_the_service_page_without_english(client: Client, lang):
    service = Service.objects.filter(status="active").order_by("pk").first()
    assert service is not None
    html = client.get(f"/{lang}/services/{service.pk}/").content.decode()
    assert untranslated(html, lang, BASE | {"service.html", "_map_button.html", "views.py"}) == []
    assert translated(lang, "Places and opening hours") in html
