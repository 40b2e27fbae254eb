"""The filters a visitor of the site and a client of the API choose services by: one meaning for both.

Each filter is a :class:`~directory.models.ServiceQuerySet` method; :class:`ServiceFilters` holds the
checked values and applies them, so the search page and ``/api/hsds/services`` cannot drift apart. How a
bad value is answered stays with the caller: the site drops it and says why, the API answers 400.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.models import TERM_FILTERS, ServiceQuerySet, TaxonomyTerm, search_form

# The words a yes/no value may take, as people write them in a link, a form (checkboxes send "on") or a
# spreadsheet cell (a cross, "j" for ja): one list for the site, the API and the spreadsheet import.
YES = frozenset({"1", "true", "yes", "y", "on", "ja", "j", "x"})
NO = frozenset({"", "0", "false", "no", "n", "off", "nein"})
# The yes/no filters, in the order the search form shows them.
YES_NO_FILTERS = ("free", "walk_in", "barrier_free")
MAX_AGE = 120


def yes_no(raw: str) -> bool | None:
    """``raw`` read as yes or no (case and surrounding spaces ignored; empty is no), None if it is neither."""
    word = raw.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def unknown_terms(given: dict[str, str]) -> list[str]:
    """The parameters of ``given`` (term filter → code) whose code is no term of its taxonomy: one query."""
    if not given:
        return []
    known = set(
        TaxonomyTerm.objects.filter(
            taxonomy__key__in=[TERM_FILTERS[name] for name in given], code__in=given.values()
        ).values_list("taxonomy__key", "code")
    )
    return [name for name, code in given.items() if (TERM_FILTERS[name], code) not in known]


@dataclass
class ServiceFilters:
    """What services must offer, every value already checked; None or False means "no matter"."""

    need: str | None = None
    target_group: str | None = None
    eligibility: str | None = None
    language: str | None = None
    age: int | None = None
    free: bool = False
    walk_in: bool = False
    barrier_free: bool = False
    jobcenter_form: str | None = None

    def apply(self, services: ServiceQuerySet) -> ServiceQuerySet:
        """``services`` narrowed by every filter that is set (each an EXISTS condition or a column test)."""
        for name in TERM_FILTERS:
            code = getattr(self, name)
            if code:
                services = services.with_filter_term(name, code)
        if self.age is not None:
            services = services.for_age(self.age)
        if self.jobcenter_form:
            services = services.run_as(self.jobcenter_form)
        if self.language:
            services = services.speaking(self.language)
        if self.free:
            services = services.free()
        if self.walk_in:
            services = services.walk_in()
        if self.barrier_free:
            services = services.barrier_free()
        return services


# Names of the languages people ask for, as they type them in the seven UI languages (lower case, with the
# case forms a sentence needs: "українською", "на русском"), and the ISO 639-1 code services record.
# Dari is recorded as Persian (fa, the macrolanguage it belongs to). German is left out on purpose: nearly
# every office speaks it, and "Deutsch" in a query means learning it (a need term's search word).
LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "ar": (
        "arabisch",
        "arabic",
        "عربي",
        "عربى",
        "العربية",
        "العربيه",
        "عربية",
        "بالعربي",
        "عربی",
        "арабська",
        "арабською",
        "арабский",
        "арабском",
        "арабська мова",
        "arapça",
        "arapca",
    ),
    "fa": (
        "farsi",
        "persisch",
        "persian",
        "dari",
        "فارسی",
        "فارسي",
        "دری",
        "دري",
        "الفارسية",
        "фарсі",
        "фарси",
        "перська",
        "перською",
        "персидский",
        "дарі",
        "дари",
        "farsça",
        "farsca",
    ),
    "uk": (
        "ukrainisch",
        "ukrainian",
        "українська",
        "українською",
        "українська мова",
        "украинский",
        "украинском",
        "الأوكرانية",
        "اوکراینی",
        "ukraynaca",
    ),
    "ru": (
        "russisch",
        "russian",
        "русский",
        "русском",
        "по-русски",
        "російська",
        "російською",
        "الروسية",
        "روسی",
        "rusça",
        "rusca",
    ),
    "tr": ("türkisch", "turkish", "türkçe", "turkce", "турецька", "турецькою", "турецкий", "التركية", "ترکی"),
    "en": (
        "englisch",
        "english",
        "англійська",
        "англійською",
        "английский",
        "английском",
        "الإنجليزية",
        "الانجليزية",
        "انگلیسی",
        "ingilizce",
    ),
    "fr": (
        "französisch",
        "french",
        "français",
        "francais",
        "французька",
        "французский",
        "الفرنسية",
        "فرانسوی",
        "fransızca",
    ),
    "ku": (
        "kurdisch",
        "kurdish",
        "kurmanci",
        "kurmancî",
        "sorani",
        "kurdî",
        "کوردی",
        "كردي",
        "الكردية",
        "کردی",
        "курдська",
        "курдский",
        "kürtçe",
    ),
    "ps": ("paschtu", "pashto", "pashtu", "پښتو", "پشتو", "البشتو", "пушту"),
    "ti": ("tigrinya", "tigrinisch", "ትግርኛ", "التغرينية"),
    "so": ("somali", "somalisch", "الصومالية"),
    "pl": ("polnisch", "polish", "polski", "польська", "польский"),
    "ro": ("rumänisch", "romanian", "română", "румунська", "румынский"),
    "es": ("spanisch", "spanish", "español", "الإسبانية"),
}
_NAMED_LANGUAGE = {search_form(name): code for code, names in LANGUAGE_NAMES.items() for name in names}
# Words that only connect a language name to the sentence ("auf Farsi", "на русском", "in English", "به فارسی").
_LANGUAGE_CONNECTORS = frozenset(
    {
        "auf",
        "in",
        "sprache",
        "language",
        "speaking",
        "spoken",
        "на",
        "по",
        "мова",
        "мовою",
        "язык",
        "языке",
        "اللغة",
        "باللغة",
        "لغة",
        "به",
        "زبان",
        "dil",
        "dilinde",
        "dilde",
    }
)


def languages_named(text: str) -> tuple[list[str], str]:
    """The language codes a query names ("Beratung auf Farsi" → fa) and the query without those words.

    The site's search takes a named language as the language filter, so a newcomer who types the
    language they speak finds the services that speak it instead of texts that mention it.
    """
    words = search_form(text).split()
    codes: list[str] = []
    kept: list[str] = []
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if i + 1 < len(words) and pair in _NAMED_LANGUAGE:
            code, width = _NAMED_LANGUAGE[pair], 2
        elif words[i] in _NAMED_LANGUAGE:
            code, width = _NAMED_LANGUAGE[words[i]], 1
        else:
            kept.append(words[i])
            i += 1
            continue
        if code not in codes:
            codes.append(code)
        if kept and kept[-1] in _LANGUAGE_CONNECTORS:
            kept.pop()
        i += width
        if i < len(words) and words[i] in _LANGUAGE_CONNECTORS:
            i += 1
    if not codes:
        return [], text
    return codes, " ".join(kept)
