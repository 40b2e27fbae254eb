"""Arabic and Farsi pages with German names in them: every Latin run isolated, German marked as German, lists
joined the language's way, filters named, numbers written one way; and the contact paths a phone can use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from directory.models import Service, ServiceArea, international_number
from directory.translation import for_page, isolate_latin, join_list, latin_runs, translate
from tests import factories
from tests.factories import ESSEN

pytestmark = pytest.mark.django_db

RTL = ["ar", "fa"]
LATIN = re.compile(r"[A-Za-zÀ-ɏ]")
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
# Elements whose text no reader sees in the page's flow: the tab title, scripts, the QR code, select options
# (the browser lays out an option's text on its own; it cannot hold an isolating element).
UNSEEN = {"title", "script", "style", "svg", "option"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --- The rules ---------------------------------------------------------------------------------------------


def runs(text: str) -> list[str]:
    return [text[start:end] for start, end in latin_runs(text)]


def test_it_keeps_a_legal_reference_whole_with_its_brackets():
    assert runs("الحماية المؤقتة (§ 24 AufenthG)") == ["(§ 24 AufenthG)"]
    assert runs("للحاصلين على الحماية (§ 24 AufenthG).") == ["(§ 24 AufenthG)"], "the sentence's dot stays outside"


def test_it_keeps_the_dot_of_an_abbreviation_with_the_name():
    assert runs("اتحاد (Essener Verbund der Immigrantenvereine e. V.) في إيسن") == [
        "(Essener Verbund der Immigrantenvereine e. V.)"
    ]
    assert runs("Quellhilfe e. V.") == ["Quellhilfe e. V."]


def test_it_leaves_separators_between_names_to_the_sentence():
    text = "المركز (Kommunales Integrationszentrum) – Stadt Solingen"
    assert runs(text) == ["(Kommunales Integrationszentrum)", "Stadt Solingen"]
    assert runs("ورقة الإحالة · Laufzettel") == ["Laufzettel"]
    # … but not one inside brackets: the bracketed words are one name.
    assert runs("مرشدو الترحيب (Willkommenslotsen – IHK/HWK)") == ["(Willkommenslotsen – IHK/HWK)"]


def test_it_isolates_no_bare_numbers_and_no_torn_bracket():
    assert runs("من سن 12 إلى 27 عامًا، 08:00–12:00") == []
    assert runs("(Kommunales Integrationszentrum") == ["Kommunales Integrationszentrum"]


def test_it_escapes_what_it_isolates():
    html = isolate_latin('مركز <script>alert("x")</script> & Co')
    assert "<script>" not in html
    assert '<bdi dir="ltr">script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</bdi>' in html


def test_it_marks_a_fallback_with_its_language_on_every_page():
    name = translate({"de": "Quellhilfe e. V."}, "ar")
    with translation.override("ar"):
        assert for_page(name) == '<span lang="de" dir="ltr">Quellhilfe e. V.</span>'
    with translation.override("en"):
        assert for_page(translate({"de": "Quellhilfe"}, "en")) == '<span lang="de" dir="ltr">Quellhilfe</span>'
    with translation.override("de"):
        assert for_page(translate({"de": "Quellhilfe & Co"}, "de")) == "Quellhilfe &amp; Co"


def test_it_joins_lists_the_way_each_language_does():
    assert join_list(["العمل", "التدريب المهني"], "ar") == "العمل، التدريب المهني"
    assert join_list(["کار", "آموزش"], "fa") == "کار، آموزش"
    assert join_list(["Arbeit", "Ausbildung"], "de") == "Arbeit, Ausbildung"


@pytest.mark.parametrize(("lang", "expected"), [("ar", "1.3"), ("fa", "1.3"), ("de", "1,3"), ("en", "1.3")])
def test_it_writes_decimals_one_way_per_locale(lang, expected):
    with translation.override(lang):
        assert Template("{{ km|floatformat:1 }}").render(Context({"km": 1.34})) == expected


@pytest.mark.parametrize(
    ("written", "dialled"),
    [
        ("0212 290 26 01", "+492122902601"),
        ("0212 290-3800", "+492122903800"),
        ("+49 (0) 201 88-0", "+49201880"),
        ("0049 201 5", "+492015"),
        ("+31 20 123", "+3120123"),
        ("88 12 34", "881234"),  # no area code: not guessed
    ],
)
def test_it_dials_german_numbers_in_the_international_form(written, dialled):
    assert international_number(written) == dialled


# --- The pages ---------------------------------------------------------------------------------------------


@dataclass
class TextNode:
    text: str
    tags: list[str]
    lang: str
    dir: str  # the nearest dir attribute ("" if none above the html element's)


class Texts(HTMLParser):
    """Every visible text node with the language and direction the nearest marked element gives it."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.nodes: list[TextNode] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not data.strip() or any(tag in UNSEEN for tag, _ in self.stack):
            return
        lang = next((a["lang"] for _, a in reversed(self.stack) if a.get("lang")), "")
        direction = next((a["dir"] for _, a in reversed(self.stack) if a.get("dir")), "")
        self.nodes.append(TextNode(data.strip(), [t for t, _ in self.stack], lang or "", direction or ""))


def text_nodes(html: str) -> list[TextNode]:
    parser = Texts()
    parser.feed(html)
    return parser.nodes


def unisolated_latin(html: str) -> list[str]:
    """Latin text on a right-to-left page that no element sets left to right."""
    return [node.text for node in text_nodes(html) if LATIN.search(node.text) and node.dir != "ltr"]


def visible(html: str) -> str:
    return " ".join(node.text for node in text_nodes(html))


@pytest.fixture
def german_only() -> Service:
    """A counselling service known only in German, whose names carry "e. V." and "(§ 24 AufenthG)"."""
    owner = factories.organization(name="Quellhilfe für Zugewanderte e. V.")
    service = factories.office(
        name="Quellberatung für Geflüchtete (§ 24 AufenthG)",
        organization=owner,
        service_type="mbe",
        needs=["work", "training"],
        terms=[("residence-status", "schutz-24"), ("residence-status", "duldung")],
        street="Quellweg 3",
        postcode="45127",
        eligibility_description={"de": "Für Menschen mit Schutz nach § 24 AufenthG."},
        email="rat@quellhilfe.example",
    )
    ServiceArea.objects.create(service=service, ags=ESSEN, name="Stadt Essen")
    factories.phone(service=service, number="0201 88-0")
    factories.language(service=service, code="ar")
    return service


@pytest.mark.parametrize("lang", RTL)
def test_search_chips_name_every_filter_in_the_page_language(client: Client, lang, german_only):
    html = client.get(
        f"/{lang}/search/?q=Quellberatung&plz=45127&need=work&eligibility=schutz-24&language=ar&free=1"
    ).content.decode()
    chips = re.search(r'<ul class="chips">(.*?)</ul>', html, re.S)
    assert chips is not None
    chip_text = visible(chips.group(1))
    for code in ("work", "schutz-24", ": ar", "free", ": 1"):
        assert code not in chip_text, (code, chip_text)
    with translation.override(lang):
        assert translation.gettext("Free of charge") in chip_text
    assert "(§ 24 AufenthG)" in chip_text
    assert unisolated_latin(html) == []


@pytest.mark.parametrize("lang", RTL)
def test_the_search_results_isolate_german_names(client: Client, lang, german_only):
    html = client.get(f"/{lang}/search/?q=Quellberatung&need=work").content.decode()
    assert str(german_only.pk) in html
    assert unisolated_latin(html) == []


@pytest.mark.parametrize("lang", RTL)
def test_the_responsible_page_isolates_german_names(client: Client, lang, german_only):
    html = client.get(f"/{lang}/responsible/?ags={ESSEN}").content.decode()
    assert str(german_only.pk) in html
    assert unisolated_latin(html) == []
    reason = next(n for n in text_nodes(html) if n.text == "Stadt Essen" and "li" in n.tags and "h3" not in n.tags)
    assert (reason.lang, reason.dir) == ("de", "ltr"), "the area of 'responsible for' is marked German"


@pytest.mark.parametrize("lang", RTL)
def test_the_service_page_marks_german_and_joins_lists(client: Client, lang, german_only):
    html = client.get(f"/{lang}/services/{german_only.pk}/").content.decode()
    assert unisolated_latin(html) == []
    nodes = text_nodes(html)
    for german in ("Quellberatung für Geflüchtete (§ 24 AufenthG)", "Für Menschen mit Schutz nach § 24 AufenthG."):
        node = next(n for n in nodes if n.text == german)
        assert (node.lang, node.dir) == ("de", "ltr"), german
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html))
    with translation.override(lang):
        help_with = visible(facts[translation.gettext("Help with")])
        status = visible(facts[translation.gettext("Residence status")])
        languages = visible(facts[translation.gettext("Languages spoken")])
    assert "، " in help_with and ", " not in help_with
    assert "، " in status and ", " not in status
    assert languages in {"العربيّة", "عربی"}, "a language by its name, not its code"


@pytest.mark.parametrize("lang", RTL)
def test_the_slip_keeps_german_in_the_german_column(client: Client, lang, german_only):
    html = client.get(f"/{lang}/referral/?s={german_only.pk}").content.decode()
    assert unisolated_latin(html) == []
    arabic_in_german = [n.text for n in text_nodes(html) if n.lang == "de" and ARABIC_SCRIPT.search(n.text)]
    assert arabic_in_german == []
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert heading is not None and ' · <span lang="de" dir="ltr" class="de">Laufzettel</span>' in heading.group(1)


@pytest.mark.parametrize("lang", RTL)
def test_the_other_public_pages_isolate_latin_runs_too(client: Client, lang, german_only):
    for path in (
        f"/{lang}/",
        f"/{lang}/map/?need=training",
        f"/{lang}/organizations/{german_only.organization_id}/",
        f"/{lang}/services/{german_only.pk}/report/",
        f"/{lang}/privacy/",
    ):
        html = client.get(path).content.decode()
        assert unisolated_latin(html) == [], path


# --- Contact -----------------------------------------------------------------------------------------------


def test_the_call_button_dials_the_international_form_and_shows_the_number_as_written(client: Client, german_only):
    html = client.get(f"/de/services/{german_only.pk}/").content.decode()
    assert '<a href="tel:+49201880">☎ <bdi dir="ltr">0201 88-0</bdi></a>' in html
    assert 'href="mailto:rat@quellhilfe.example"' in html


def test_the_card_names_the_service_type_once(client: Client):
    factories.office(
        name="Jobcenter Quellstadt", service_type="jobcenter", organization=factories.organization(name="Quellkreis")
    )
    other = factories.office(
        name="Quellberatung Süd", service_type="mbe", organization=factories.organization(name="Quellkreis Süd")
    )
    html = client.get("/de/search/?q=Quell").content.decode()
    cards = re.findall(r'<li class="card">(.*?)</li>\s*(?=<li class="card">|</ul>)', html, re.S)
    jobcenter = next(c for c in cards if "Jobcenter Quellstadt" in c)
    assert visible(jobcenter).count("Jobcenter") == 1
    counselling = next(c for c in cards if str(other.pk) in c)
    assert "Migrationsberatung" in visible(counselling), "a type the name does not say is named"


def test_directions_lead_to_the_street_or_an_exact_point_never_to_the_middle_of_the_town(client: Client):
    by_street = factories.office(
        name="Quellamt Straße", street="Quellweg 3", postcode="45127", point_accuracy="postcode"
    )
    exact = factories.office(name="Quellamt Punkt")
    town_only = factories.office(name="Quellamt Stadt", point_accuracy="municipality")
    html = client.get(f"/de/services/{by_street.pk}/").content.decode()
    assert "openstreetmap.org/search?query=Quellweg%203%2C%2045127%20Essen" in html
    assert "openstreetmap.org/directions?route=" in client.get(f"/de/services/{exact.pk}/").content.decode()
    assert "openstreetmap.org" not in client.get(f"/de/services/{town_only.pk}/").content.decode()


def test_the_vcard_holds_every_known_contact_path(client: Client, german_only):
    german_only.url = "https://quellhilfe.example/beratung"
    german_only.save()
    place = german_only.service_at_locations.get().location
    factories.schedule(location=place, byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="12:00")
    factories.phone(service=german_only, number="0201 88-1", type="fax")
    html = client.get(f"/de/services/{german_only.pk}/").content.decode()
    assert f'href="/de/services/{german_only.pk}/vcard/"' in html
    card = client.get(f"/de/services/{german_only.pk}/vcard/").content.decode()
    unfolded = card.replace("\r\n ", "")
    assert "TEL;TYPE=WORK,VOICE:+49201880" in unfolded
    assert "TEL;TYPE=WORK,FAX:+49201881" in unfolded
    assert "EMAIL;TYPE=INTERNET,WORK:rat@quellhilfe.example" in unfolded
    assert "URL:https://quellhilfe.example/beratung" in unfolded
    assert "ADR;TYPE=WORK:;;Quellweg 3;Essen;;45127;DE" in unfolded
    assert "ORG:Quellhilfe für Zugewanderte e. V." in unfolded
    assert "NOTE:Mo–Fr 9:00–12:00" in unfolded
    assert all(len(line.encode()) <= 75 for line in card.split("\r\n")), "folded as RFC 2426 asks"


def test_the_vcard_is_offered_only_when_it_holds_a_way_to_reach_the_office(client: Client):
    silent = factories.office(name="Quellamt ohne Kontakt")
    html = client.get(f"/de/services/{silent.pk}/").content.decode()
    assert "/vcard/" not in html
    assert client.get(f"/de/services/{silent.pk}/vcard/").status_code == 404
