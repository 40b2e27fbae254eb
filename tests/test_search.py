"""Search: German full text with typo tolerance, filters from the search form, nearest first."""

from urllib.parse import urlencode

import pytest
from django.contrib.admin import site
from django.core.exceptions import ValidationError
from django.http import QueryDict

from directory.filters import languages_named, yes_no
from directory.models import (
    Accessibility,
    AttendingType,
    Attribute,
    CostOption,
    Language,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    TaxonomyTerm,
)
from directory.models.catalogue import search_forms_of_terms
from directory.places import resolve_place
from directory.services import refresh_search_text, refresh_term_search_text
from public.search import SearchParams, parse_search_params, search_services, suggestions
from tests import factories
from tests.factories import ESSEN, KLEVE

PADERBORN = "05774032"

pytestmark = pytest.mark.django_db


# Beyond any test catalogue: what the filters find, not where a page cuts the list (test_the_list_is_cut_…).
EVERYTHING = 100_000


def search(query: str = "", *, point=None) -> list[Service]:
    params, errors = parse_search_params(QueryDict(query))
    assert not errors, errors
    return list(search_services(params, point=point, limit=EVERYTHING))


def names(services: list[Service]) -> list[str]:
    return [s.name["de"] for s in services]


def test_it_fills_the_search_text_of_every_service_when_loading():
    # (That every shipped service has one: tests/test_catalogue_data.py.)
    service = factories.service(
        name="Quellpunkt Ankerstadt",
        names={"en": "Source Point Ankerstadt"},
        organization=factories.organization(name="Quellträger Ankerstadt", names={"en": "Source Trust"}),
        service_type="integration-point",
        needs=["work"],
        description={"de": "Hilfe", "ar": "مساعدة في العمل", "uk": "Допомога з роботою"},
    )
    service.refresh_from_db()
    for text in (*service.name.values(), *service.organization.name.values()):
        assert text in service.search_text
    assert service.description["ar"] in service.search_text and service.description["uk"] in service.search_text
    # Its type's and terms' words are the terms' own, kept once on each term: found by term id, not copied in.
    assert "Arbeit" not in service.search_text and "integration-point" not in service.search_text
    work = TaxonomyTerm.objects.get(code="work")
    assert "Arbeit" in work.search_text and "work" in work.search_text  # the need term: name and code
    assert service in search(q("Arbeit")) and service in search(q("integration-point"))


@pytest.fixture
def integration_points():
    """An office whose whole name is the query, beside offices that share only some of its words."""
    return [
        factories.office(name="Integration Point Quellstadt", needs=["work"]),
        factories.office(name="Integration Point Ankerdorf", needs=["work"]),
        factories.office(name="Beratung zur Integration in Quellstadt"),
    ]


def test_it_finds_a_service_by_name_first(integration_points):
    found = search("q=Integration Point Quellstadt")
    assert names(found)[0] == "Integration Point Quellstadt"
    assert found[0].relevance > found[-1].relevance or len(found) == 1


def test_typos_still_find_it(integration_points):
    assert names(search("q=Integrazion Point Quellstadt"))[0] == "Integration Point Quellstadt"
    assert names(search("q=Integratoin Point Quellstadt"))[0] == "Integration Point Quellstadt"


def test_german_stemming_finds_other_forms_of_a_word():
    factories.service(name="Beratung für Quellstädter")
    with_beratung = set(
        Service.objects.published().filter(search_text__contains="Beratung").values_list("id", flat=True)
    )
    found = {s.id for s in search("q=Beratungen")}
    assert with_beratung and with_beratung <= found


def test_stemming_finds_what_trigrams_alone_would_not(organization):
    service = Service.objects.create(organization=organization, name={"de": "Treffpunkt für jedes Kind"})
    assert refresh_search_text([service.id]) == 1
    # "Kinder" shares too few trigrams with "Kind" for a typo; the German stemmer knows it is the same word.
    assert service in search("q=Kinder")
    assert service not in search("q=Erwachsene")


def test_websearch_syntax_excludes_words(integration_points):
    assert "Integration Point Quellstadt" in names(search("q=Integration Point"))
    without = names(search("q=Integration Point -Quellstadt"))
    assert "Integration Point Quellstadt" not in without and "Integration Point Ankerdorf" in without


def test_nothing_matches_nonsense():
    assert search("q=xyzzyqwrt") == []


def test_it_filters_by_need():
    work = factories.service(name="Quellarbeit", needs=["work", "counselling"])
    family = factories.service(name="Quellfamilie", needs=["family"])
    found = search("need=work")
    expected = Service.objects.published().with_term("need", "work")
    assert {s.id for s in found} == set(expected.values_list("id", flat=True))
    assert work in found and family not in found


def test_an_unknown_need_is_reported_and_the_results_are_not_filtered():
    params, errors = parse_search_params(QueryDict("need=flying&q=Jobcenter"))
    assert params.need is None and params.q == "Jobcenter"
    assert "need" in errors and "flying" in errors["need"]
    assert search_services(params, point=None, limit=EVERYTHING).count() == len(search("q=Jobcenter"))


def test_it_filters_by_eligibility_target_group_and_age(organization):
    for_duldung = factories.service(name="Quelle A", terms=[("residence-status", "duldung")])
    # Like a Jobcenter: restricted to statuses that allow work, Duldung not among them.
    not_for_duldung = factories.service(
        name="Quelle B", terms=[("residence-status", "aufenthaltserlaubnis"), ("residence-status", "eu-citizen")]
    )
    for_everyone = factories.service(name="Quelle C")
    found = {s.id for s in search("eligibility=duldung")}
    tagged = Service.objects.published().with_term("residence-status", "duldung")
    restricted = Service.objects.published().filter(attributes__taxonomy_term__taxonomy__key="residence-status")
    unrestricted = Service.objects.published().exclude(pk__in=restricted)
    # Tagged with the status, or open to every status; a service tagged with other statuses only is left out.
    assert found == set(tagged.values_list("id", flat=True)) | set(unrestricted.values_list("id", flat=True))
    assert for_duldung.id in found and for_everyone.id in found and not_for_duldung.id not in found
    for_refugees = factories.service(name="Quelle D", terms=[("target-group", "refugees")])
    for_employers = factories.service(name="Quelle E", terms=[("target-group", "employers")])
    assert for_refugees in search("target_group=refugees") and for_employers not in search("target_group=refugees")
    youth = Service.objects.create(organization=organization, name={"de": "JMD Test"}, minimum_age=12, maximum_age=27)
    assert youth in search("age=20") and youth not in search("age=40")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("age=abc", "age"),
        ("age=121", "age"),
        ("age=-1", "age"),
        ("page=0", "page"),
        ("page=10001", "page"),
        ("page=1e3", "page"),
        ("language=english", "language"),
        ("free=maybe", "free"),
        ("eligibility=<script>", "eligibility"),
        ("target_group=nobody", "target_group"),
        ("q=" + "a" * 300, "q"),
    ],
)
def test_bad_values_are_dropped_with_an_error_never_raised(query, field):
    params, errors = parse_search_params(QueryDict(query))
    assert set(errors) == {field}
    assert params.page >= 1 and params.age is None
    assert len(params.q) <= 200
    search_services(params, point=None).count()


def test_errors_do_not_echo_control_or_bidi_characters():
    params, errors = parse_search_params(
        QueryDict("language=\u202eevil&need=\u202eflying&target_group=\u202erefugees&page=\u202e2x&eligibility=\x00")
    )
    assert set(errors) == {"language", "need", "page"}
    assert params.target_group == "refugees", "stripped, the rest is a good code"
    assert not any(ch in message for message in errors.values() for ch in "\u202e\x00")


def test_it_reads_every_parameter():
    params, errors = parse_search_params(
        QueryDict(
            "q=+Beratung\u202e+&need=work&language=AR&open_now=1&free=on&walk_in=true&barrier_free=yes"
            "&eligibility=duldung&target_group=refugees&age=19&page=3"
        )
    )
    assert not errors
    assert params == SearchParams(
        q="Beratung",
        need="work",
        language="ar",
        open_now=True,
        free=True,
        walk_in=True,
        barrier_free=True,
        eligibility="duldung",
        age=19,
        page=3,
        target_group="refugees",
    )
    assert parse_search_params(QueryDict(""))[0].is_empty


def test_the_results_are_one_query(django_assert_num_queries):
    params, _ = parse_search_params(
        QueryDict("q=Beratung&need=work&language=de&free=1&walk_in=1&barrier_free=1&age=30")
    )
    point = resolve_place(plz="45127").point
    search_forms_of_terms()  # the terms' search words are read once per catalogue version, not per search
    # The typed words in the dictionary, the terms the text says (both by index, so the services' query holds
    # them as constants), whether the text matches only a few services (by index), then the services, filtered,
    # ranked and placed, in one SELECT.
    with django_assert_num_queries(4):
        list(search_services(params, point=point)[:20])


def test_nearest_first_with_distances_in_metres():
    built = [
        factories.office(name="Quellamt Kleve", ags=KLEVE),
        factories.service(name="Quellamt am Telefon"),
        factories.office(name="Quellamt Essen", ags=ESSEN),
        factories.office(name="Quellamt Essen-Nord", ags=ESSEN, point=resolve_place(plz="45127").point),
    ]
    essen = resolve_place(plz="45127").point
    found = list(Service.objects.filter(pk__in=[s.pk for s in built]).published().near(essen))
    distances = [s.distance_m for s in found if s.distance_m is not None]
    assert distances == sorted(distances)
    assert names(found) == ["Quellamt Essen-Nord", "Quellamt Essen", "Quellamt Kleve", "Quellamt am Telefon"]
    assert found[-1].distance_m is None, "services with no place come last"
    assert found[0].distance_m == 0 and found[1].distance_m < 10_000
    assert 70_000 < found[2].distance_m < 80_000


def test_a_place_orders_the_search_by_distance():
    for name, ags in [("Essen", ESSEN), ("Paderborn", PADERBORN), ("Kleve", KLEVE)]:
        factories.office(name=f"Quellbehörde {name}", ags=ags, point_accuracy="municipality")
    kleve = resolve_place(ags=KLEVE).point
    found = search("q=Quellbehörde", point=kleve)
    assert names(found) == ["Quellbehörde Kleve", "Quellbehörde Essen", "Quellbehörde Paderborn"]
    assert found[0].distance_m == 0  # an office known only by its town is placed where a search for the town is
    distances = [s.distance_m for s in found]
    assert distances == sorted(distances)
    assert distances[-1] > 100_000


def test_only_published_services_are_found(organization):
    closed = Service.objects.create(
        organization=organization, name={"de": "Geschlossene Beratung"}, status=ServiceStatus.DEFUNCT
    )
    refresh_search_text([closed.id])
    assert closed not in search("q=Geschlossene Beratung")


@pytest.fixture
def organization():
    return Organization.objects.create(name={"de": "Testträger e. V."})


@pytest.fixture
def service_with_a_place(organization):
    service = Service.objects.create(organization=organization, name={"de": "Testangebot"})
    location = Location.objects.create(
        organization=organization,
        name={"de": "Testort"},
        point=resolve_place(plz="45127").point,
        point_accuracy="exact",
    )
    ServiceAtLocation.objects.create(service=service, location=location)
    return service, location


def test_it_filters_by_a_language_spoken_at_the_service_or_its_place(service_with_a_place):
    service, location = service_with_a_place
    assert service not in search("language=ar")
    Language.objects.create(location=location, code="ar")
    assert service in search("language=ar")
    Language.objects.create(service=service, code="fa")
    assert service in search("language=fa") and service not in search("language=tr")


def test_it_filters_free_services_by_a_zero_cost_option(service_with_a_place):
    service, _ = service_with_a_place
    service.fees_description = {"de": "kostenlos"}  # free text is not read
    service.save()
    assert service not in search("free=1")
    CostOption.objects.create(service=service, amount=10)
    assert service not in search("free=1")
    CostOption.objects.create(service=service, amount=0, option="ohne Einkommen")
    assert service in search("free=1")


@pytest.mark.parametrize("where", ["service", "location", "service_at_location"])
def test_it_filters_walk_in_services_wherever_the_walk_in_hours_are(service_with_a_place, where):
    service, location = service_with_a_place
    owner = {"service": service, "location": location, "service_at_location": service.service_at_locations.get()}
    slot = {"byday": "MO", "opens_at": "09:00", "closes_at": "12:00"}
    Schedule.objects.create(**{where: owner[where]}, attending_type=AttendingType.APPOINTMENT, **slot)
    assert service not in search("walk_in=1")
    Schedule.objects.create(**{where: owner[where]}, attending_type=AttendingType.WALK_IN, **slot)
    assert service in search("walk_in=1")


def test_it_filters_barrier_free_places(service_with_a_place):
    service, location = service_with_a_place
    assert service not in search("barrier_free=1")
    Accessibility.objects.create(location=location, details="stufenloser Eingang")
    assert service in search("barrier_free=1")


def test_a_new_attribute_is_found_by_its_terms_words_without_rewriting_the_service(service_with_a_place):
    service, _ = service_with_a_place
    refresh_search_text([service.id])
    assert service not in search("q=Einbürgerung")
    Attribute.objects.create(service=service, taxonomy_term=TaxonomyTerm.objects.get(code="naturalisation"))
    assert service in search("q=Einbürgerung")
    assert refresh_search_text([service.id]) == 0, "the service's own search text does not hold its terms' words"


@pytest.mark.parametrize(
    ("word", "answer"),
    [
        *[("1", True), ("true", True), ("yes", True), ("on", True), ("ja", True), (" ON ", True)],
        *[("", False), ("0", False), ("false", False), ("no", False), ("off", False), ("nein", False)],
        *[("maybe", None), ("2", None), ("onn", None)],
    ],
)
def test_it_reads_yes_and_no_as_the_api_does(word, answer):
    assert yes_no(word) is answer
    params, errors = parse_search_params(QueryDict(urlencode({"free": word})))
    assert (errors == {}) is (answer is not None)
    assert params.free is bool(answer)


def test_off_is_no_filter(service_with_a_place):
    service, _ = service_with_a_place
    assert service not in search("free=on")
    assert search("free=off&walk_in=off&barrier_free=nein") == search("")


# --- In the newcomer's own words -------------------------------------------------------------------------

SOLINGEN, REMSCHEID = "05122000", "05120000"


def q(text: str, **more: str) -> str:
    return urlencode({"q": text, **more})


@pytest.fixture
def own_words():
    """Offices tagged with the terms whose search words people type (the terms are reference data)."""
    return {
        "course": factories.office(name="Quellkurse Ankerstadt", needs=["language"]),
        "permit": factories.office(name="Quellamt Ankerstadt", service_type="auslaenderbehoerde", needs=["residence"]),
        "advice": factories.office(name="Quellrat Ankerstadt", needs=["counselling"]),
        "other": factories.office(name="Quellkasse Ankerstadt", needs=["family"]),
    }


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("Sprachkurs", "course"),
        ("Deutschkurs", "course"),
        ("دورة لغة ألمانية", "course"),
        ("تعلم الألمانية", "course"),
        ("курси німецької", "course"),
        ("перекладач", "course"),
        ("посвідка", "permit"),
        ("Aufenthaltstitel", "permit"),
        ("psychosozial", "advice"),
    ],
)
def test_everyday_words_in_every_language_find_the_services_of_their_term(own_words, query, wanted):
    found = search(q(query))
    assert own_words[wanted] in found, query
    assert own_words["other"] not in found


def test_a_term_word_in_ukrainian_finds_the_service_and_its_own_name_narrows_it(own_words):
    found = search(q("курси"))
    assert own_words["course"] in found and own_words["other"] not in found
    assert all(s.full_match for s in found), "found in the term's words: a full match, not a partial one"
    # Every word is needed, each found in the service's own words or in its terms' words.
    assert search(q("Quellkurse курси")) == [own_words["course"]]
    assert own_words["course"] not in search(q("Quellkurse Aufenthaltstitel")), "its name, another term's word"
    assert own_words["permit"] not in search(q("Quellamt посвідка -Ankerstadt")), "an excluded name's word"
    assert own_words["course"] not in search(q("Quellkurse -курси")), "an excluded term's word"
    assert search(q('"Quellamt Ankerstadt" Aufenthaltstitel')) == [own_words["permit"]]
    either = search(q("Quellkurse or посвідка"))
    assert own_words["course"] in either and own_words["permit"] in either and own_words["other"] not in either
    assert own_words["course"] in search(q("Quellkurse Sprachkurz")), "a typo in a term's word"


def test_a_terms_edited_search_words_find_its_services_without_rewriting_them(own_words):
    term = TaxonomyTerm.objects.get(code="family")
    service = own_words["other"]
    assert service not in search(q("Quellfürsorge"))
    before = Service.objects.filter(pk=service.pk).values_list("search_text", "updated_at").get()
    term.search_words = {**term.search_words, "de": [*term.search_words.get("de", []), "Quellfürsorge"]}
    term.save()
    assert refresh_term_search_text() == 1
    assert service in search(q("Quellfürsorge")) and own_words["course"] not in search(q("Quellfürsorge"))
    assert service in search(q("Quellfürsorgee")), "the new word is in the typo dictionary too"
    assert Service.objects.filter(pk=service.pk).values_list("search_text", "updated_at").get() == before
    assert refresh_term_search_text() == 0, "a term whose text is right is not written again"


def test_a_sentence_finds_the_services_of_the_phrase_it_contains_when_nothing_matches_it_whole(own_words):
    sentence = "шукаю курси німецької для жінок"
    found = search(q(sentence))
    assert own_words["course"] in found and not next(s for s in found if s == own_words["course"]).full_match
    assert own_words["other"] not in found
    assert own_words["course"] not in search(q("шукаю курси німецької -Quellkurse")), "an excluded word excludes"

    # Once a service matches every word, the phrase alone no longer widens the results.
    complete = factories.office(name="Frauenkurse Ankerstadt", description={"uk": "Шукаю курси німецької для жінок?"})
    found = search(q(sentence))
    assert complete in found and own_words["course"] not in found
    assert all(s.full_match for s in found)


def test_the_terms_a_text_says_follow_an_edit_of_their_search_words():
    """The terms' search words are kept per catalogue version: an edited term is read afresh."""
    term = factories.term("need", "family")
    assert term not in TaxonomyTerm.objects.saying("ich suche eine Kinderquelle")
    term.search_words = {"de": ["Kinderquelle"], "ar": ["ينبوع الأطفال"]}
    term.save()
    assert term in TaxonomyTerm.objects.saying("Ich suche eine KINDERQUELLE!")
    assert term in TaxonomyTerm.objects.saying("أبحث عن ينبوع الأطفال")
    assert term not in TaxonomyTerm.objects.saying("Kinderquellen"), "whole words only"


def test_an_editors_search_words_reach_the_search_text():
    term = factories.term("need", "family")
    term.search_words = {"de": ["Kinderquelle"], "ar": ["ينبوع الأطفال"]}
    term.save()
    service = factories.service(name="Quellfamilie", needs=["family"])  # builds its search text
    assert service in search(q("Kinderquelle")) and service in search(q("أبحث عن ينبوع الأطفال"))
    assert service in search(q("Kinderquele")), "typos in search words are forgiven like typos in names"


@pytest.mark.parametrize(
    ("query", "code"),
    [("Farsi", "fa"), ("Dari", "fa"), ("Persisch", "fa"), ("فارسی", "fa"), ("Ukrainisch", "uk"), ("українська", "uk")],
)
def test_a_language_named_in_the_query_finds_the_services_that_speak_it(query, code):
    speaking = factories.office(name="Quellsprechstunde")
    factories.language(service=speaking, code=code)
    silent = factories.office(name="Quellschweigen")
    found = search(q(query))
    assert speaking in found and silent not in found


def test_a_named_language_narrows_what_the_other_words_find(own_words):
    factories.language(service=own_words["advice"], code="fa")
    other_advice = factories.office(name="Quellrat Nebenan", needs=["counselling"])
    found = search(q("Beratung auf Farsi"))
    assert own_words["advice"] in found and other_advice not in found


def test_languages_named_keeps_the_other_words():
    assert languages_named("Beratung auf Farsi") == (["fa"], "beratung")
    assert languages_named("консультація українською") == (["uk"], "консультація")
    assert languages_named("Deutsch lernen") == ([], "Deutsch lernen"), "German means the course, not a filter"


# --- Responsible first -----------------------------------------------------------------------------------


@pytest.fixture
def jobcenters():
    """The Jobcenter responsible for Solingen sits farther away than another city's."""
    return {
        "responsible": factories.office(
            name="Quell-Jobcenter Klingenstadt", needs=["work"], ags=REMSCHEID, areas=[SOLINGEN]
        ),
        "nearer": factories.office(
            name="Quell-Jobcenter Nachbarstadt", needs=["work"], ags=SOLINGEN, areas=[REMSCHEID]
        ),
    }


def test_with_a_place_the_responsible_services_come_first(jobcenters):
    place = resolve_place(q="Solingen")
    params, _ = parse_search_params(QueryDict("need=work"))
    found = [s for s in search_services(params, point=place.point, ags=place.ags) if s in jobcenters.values()]
    assert found == [jobcenters["responsible"], jobcenters["nearer"]]
    assert found[0].responsible and not found[1].responsible
    assert found[0].distance_m > found[1].distance_m, "responsible beats nearer"


def test_responsible_first_is_still_one_query(django_assert_num_queries, jobcenters):
    place = resolve_place(q="Solingen")
    params, _ = parse_search_params(QueryDict("q=Jobcenter&need=work&free=1"))
    search_forms_of_terms()
    # As above (the dictionary, the terms the text says, how many it matches); who may be responsible is a
    # subquery of the one SELECT.
    with django_assert_num_queries(4):
        list(search_services(params, point=place.point, ags=place.ags)[:20])


def test_a_text_few_services_match_finds_them_however_far_and_however_many_are_nearer():
    """With a place, a text that matches few services ranks those few, nearest first, instead of walking the
    places nearest first until enough match (a text matching nothing walked every place of the country)."""
    here = resolve_place(plz="45127")
    for n in range(4):
        factories.office(name=f"Nahbüro {n}", ags="05113000", point=here.point)
    far = factories.office(name="Fernquellbüro Kleve", ags=KLEVE)
    params, _ = parse_search_params(QueryDict("q=Fernquellbüro"))
    assert list(search_services(params, point=here.point, limit=2)) == [far]
    nothing, _ = parse_search_params(QueryDict("q=Xylofrunkquatsch"))
    assert list(search_services(nothing, point=here.point, limit=2)) == []


@pytest.mark.parametrize(("accuracy", "shown"), [("exact", True), ("postcode", False), ("municipality", False)])
def test_a_distance_is_shown_only_from_an_exact_point(accuracy, shown):
    office = factories.office(name="Quellpunkt", ags=KLEVE, point_accuracy=accuracy)
    from django.utils import timezone

    from public.display import make_card, services_for_display

    found = services_for_display(Service.objects.filter(pk=office.pk).near(resolve_place(plz="45127").point))
    card = make_card(found.get(), timezone.now())
    assert (card.distance_km is not None) is shown


# --- What the filters can promise ------------------------------------------------------------------------


def test_facts_stated_counts_the_services_that_record_each_fact(service_with_a_place):
    service, location = service_with_a_place
    scope = Service.objects.filter(pk=service.pk)
    assert scope.facts_stated(["ar"]) == {
        "free": 0, "walk_in": 0, "barrier_free": 0, "hours": 0, "eligibility": 0, "language_ar": 0,
    }  # fmt: skip
    CostOption.objects.create(service=service, amount=0)
    factories.schedule(location=location)
    Accessibility.objects.create(location=location, details="Rampe")
    Language.objects.create(location=location, code="ar")
    factories.attribute(service, "residence-status", "duldung")
    refresh_search_text([service.pk])  # as every writer does after such writes: the counts read stored facts
    assert scope.facts_stated(["ar", "uk"]) == {
        "free": 1, "walk_in": 1, "barrier_free": 1, "hours": 1, "eligibility": 1, "language_ar": 1, "language_uk": 0,
    }  # fmt: skip
    factories.language(service=service, code="uk")
    assert scope.facts_stated(["uk"])["language_uk"] == 1  # the service's own languages count as its places' do
    assert Service.objects.none().facts_stated(["ar"]) == dict.fromkeys(
        ["free", "walk_in", "barrier_free", "hours", "eligibility", "language_ar"], 0
    )  # nothing found: nothing states anything (no query)


def test_it_keeps_the_stored_facts_when_the_admin_removes_a_place(rf, service_with_a_place):
    service, location = service_with_a_place
    factories.language(location=location, code="ar")
    scope = Service.objects.filter(pk=service.pk)
    assert scope.facts_stated(["ar"])["language_ar"] == 1
    site.get_model_admin(ServiceAtLocation).delete_model(rf.post("/admin/"), service.service_at_locations.get())
    assert scope.facts_stated(["ar"])["language_ar"] == 0  # the place's language is no longer the service's


def test_eligibility_narrows_only_the_services_that_state_it():
    for_duldung = factories.office(name="Quellhilfe Duldung", terms=[("residence-status", "duldung")])
    for_24 = factories.office(name="Quellhilfe Schutz", terms=[("residence-status", "schutz-24")])
    silent = factories.office(name="Quellhilfe Offen")
    found = search("eligibility=schutz-24")
    assert for_24 in found and silent in found and for_duldung not in found


# --- When nothing is found -------------------------------------------------------------------------------


def test_suggestions_name_the_need_categories_and_a_spelling():
    factories.office(name="Quellsprachkurse", needs=["language"])
    assert search(q("Sprachkurz Xylofonklang")) == []
    found = suggestions("Sprachkurz Xylofonklang")
    assert "sprachkurs" in found.spelling.split()
    assert [code for code, _name in found.needs] == ["language"]
    assert [code for code, _name in suggestions("Beratung").needs] == ["counselling"]
    assert not suggestions("Xylofonklang")


# --- The search page -------------------------------------------------------------------------------------


def test_the_page_marks_the_responsible_services_and_lists_them_first(client, jobcenters):
    html = client.get("/de/search/?need=work&plz=Solingen").content.decode()
    responsible, nearer = (html.index(f"/de/services/{jobcenters[k].pk}/") for k in ("responsible", "nearer"))
    assert responsible < nearer
    card = html[responsible : html.index("</li>", html.index('class="actions"', responsible))]
    assert "Zuständig für Sie" in card
    responsible_for_work = Service.objects.published().responsible_for(SOLINGEN).with_term("need", "work")
    assert html.count("Zuständig für Sie") == responsible_for_work.count()  # the responsible page's rule
    assert "zuerst die für Solingen zuständigen Stellen" in html
    uk = client.get("/uk/search/?need=work&plz=Солінген").content.decode()
    assert "Ваша установа за місцем проживання" in uk


def test_a_filter_nothing_is_recorded_for_says_so_instead_of_nothing_found(client):
    # Kreis Kleve: neither these tests nor the shipped catalogue record a walk-in slot there.
    office = factories.office(name="Quelltreff Kleve", ags=KLEVE, areas=["05154"])
    html = client.get("/de/search/?q=Quelltreff&plz=Kleve&walk_in=1").content.decode()
    assert "0 Ergebnisse" in html
    assert "Hier hat noch kein Angebot offene Sprechzeiten ohne Termin eingetragen" in html
    assert "Nichts gefunden" not in html
    assert 'name="walk_in" value="1" checked' in html

    factories.schedule(service=office)
    html = client.get("/de/search/?q=Quelltreff&plz=Kleve&walk_in=1").content.decode()
    assert "1 Ergebnis" in html and "Hier hat noch kein Angebot" not in html
    walk_in = html[html.index('name="walk_in"') :]
    assert walk_in[: walk_in.index("</label>")].endswith('<span class="stated">(1)</span>')


def test_an_unstated_filter_is_offered_as_no_information_yet(client):
    html = client.get("/ar/search/?plz=Kleve").content.decode()
    free = html[html.index('name="free"') :]
    free = free[: free.index("</label>")]
    assert "لا توجد معلومات بعد" in free and "disabled" in free


def test_a_language_named_in_the_search_says_it_filters_and_why_nothing_is_found(client):
    html = client.get("/de/search/?" + q("Beratung auf Paschtu")).content.decode()
    assert "Ihre Suche nennt eine Sprache" in html
    assert "Hier hat noch kein Angebot eingetragen, dass diese Sprache gesprochen wird" in html


def test_nothing_found_suggests_needs_a_spelling_and_who_is_responsible(client):
    factories.office(name="Quellsprachkurse", needs=["language"])
    html = client.get("/uk/search/?" + q("Sprachkurz Xylofonklang", plz="Kleve")).content.decode()
    assert "Можливо, це допоможе" in html
    assert "need=language" in html and "q=sprachkurs%20" in html
    assert f'href="/uk/responsible/?ags={KLEVE}"' in html
    assert "Хто відповідає за Kleve?" in html


def test_search_words_are_edited_in_the_admin_one_per_line():
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    term = factories.term("need", "family")
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True)
    form_class = admin.site._registry[TaxonomyTerm].get_form(request, term)
    shown = str(form_class(instance=term)["search_words"])
    assert shown.count("<textarea") == 7 and "Familie" in shown
    field = form_class.base_fields["search_words"]
    assert field.clean(["Kinderquelle\n Familienhilfe \n", "", "عائلة", "", "", "", ""]) == {
        "de": ["Kinderquelle", "Familienhilfe"],
        "ar": ["عائلة"],
    }
    term.search_words = {"de": "nicht als Liste"}
    with pytest.raises(ValidationError):
        term.full_clean()
