"""Text that holds one version per UI language and falls back to German.

Content is stored as a JSON object ``{"de": "...", "en": "...", ...}``. Reading it in a language
returns a :class:`Translated` that says which language the text is really in, so a page can show
"only available in German" where it fell back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import escape, format_html
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _

from directory.validation import check_text

LANGUAGE_CODES: tuple[str, ...] = ("de", "en", "ar", "fa", "uk", "ru", "tr")
FALLBACK_LANGUAGE = "de"
# The languages a German text may be translated into (export columns, spreadsheet columns name_en …).
NON_GERMAN_LANGUAGES: tuple[str, ...] = tuple(code for code in LANGUAGE_CODES if code != FALLBACK_LANGUAGE)
RTL_LANGUAGES = frozenset({"ar", "fa"})
# How each language joins the items of a list: Arabic and Farsi use the Arabic comma.
LIST_SEPARATORS = {"ar": "، ", "fa": "، "}
# Characters of right-to-left scripts (Hebrew to Arabic Extended, presentation forms) and the joiners Farsi
# writes between them: what is not one of these, on one line, may be a left-to-right run.
_RTL_TEXT = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\u200c\u200d\u200f"
_NOT_RTL = re.compile(f"[^{_RTL_TEXT}\n]+")
_LATIN_LETTER = re.compile(r"[A-Za-zÀ-ɏ§]")
# Where a run starts and ends: letters or digits, "§" before them, brackets and the dot of "e. V." with them.
_RUN_CORE = re.compile(r"[A-Za-zÀ-ɏ0-9§][^\n]*[A-Za-zÀ-ɏ0-9]|[A-Za-zÀ-ɏ0-9§]")
_OPENING = "([„“«\"'"
_CLOSING = ")]“”»\"'"
_PAIR = {"(": ")", "[": "]", ")": "(", "]": "["}
# Separators between two names ("Kommunales Integrationszentrum – Stadt Solingen") belong to the sentence,
# not to either name: a run is cut there, so that the separator follows the page's direction.
_SEPARATOR = re.compile(r"\s+[–—·|]\s+")


@dataclass(frozen=True)
class Translated:
    """Text read in one language: which language it really is in, and whether that is a fallback.

    Templates show it through :func:`for_page` (the ``for_page`` filter), which marks a fallback with its
    language; ``str()`` gives the bare text, for titles and attributes.
    """

    text: str
    language: str
    is_fallback: bool

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


# Languages newcomers speak that Django has no name for (its list covers the UI languages of software).
OTHER_LANGUAGE_NAMES = {
    "ku": _("Kurdish"),
    "prs": _("Dari"),
    "ps": _("Pashto"),
    "ti": _("Tigrinya"),
    "so": _("Somali"),
}


def language_name(code: str) -> str:
    """The name of a language (ISO 639 code) in the active UI language: "الفارسيّة" for "fa" on an Arabic page."""
    if code in OTHER_LANGUAGE_NAMES:
        return str(OTHER_LANGUAGE_NAMES[code])
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


def active_language() -> str:
    return (get_language() or FALLBACK_LANGUAGE).split("-")[0]


def list_separator(language: str | None = None) -> str:
    return LIST_SEPARATORS.get((language or active_language()).split("-")[0], ", ")


def join_list(items: Iterable[object], language: str | None = None) -> str:
    """The items as one list in the language's way ("العمل، التدريب المهني", "Arbeit, Ausbildung")."""
    return list_separator(language).join(str(item) for item in items)


def latin_runs(text: str) -> list[tuple[int, int]]:
    """Where runs of Latin script stand in right-to-left text, as (start, end) offsets.

    A run holds its own punctuation: "(§ 24 AufenthG)" with both brackets and the "§", "e. V." with its last
    dot; otherwise the bidi algorithm hands them to the Arabic around and they land on the wrong side
    ("(24 AufenthG §)", ".Essener Verbund … e. V"). Separators between two names are left outside. A run
    of digits alone (a time, an age) is no run: digits order themselves.
    """
    runs = []
    for span in _NOT_RTL.finditer(text):
        for start, end in _name_pieces(span.group()):
            piece = span.group()[start:end]
            core = _RUN_CORE.search(piece)
            if core is None or not _LATIN_LETTER.search(core.group()):
                continue
            first, last = core.start(), core.end()
            while first > 0 and piece[first - 1] in _OPENING:
                first -= 1
            # Closing brackets and quotes join the run, and a dot right after a letter ("e. V."); a dot after a
            # bracket ends the surrounding sentence.
            while last < len(piece) and (piece[last] in _CLOSING or (piece[last] == "." and piece[last - 1].isalpha())):
                last += 1
            run = piece[first:last]
            # A bracket belongs to the run only with its partner.
            while run[:1] in ("(", "[") and run.count(run[0]) > run.count(_PAIR[run[0]]):
                first, run = first + 1, run[1:]
            while run[-1:] in (")", "]") and run.count(run[-1]) > run.count(_PAIR[run[-1]]):
                last, run = last - 1, run[:-1]
            runs.append((span.start() + start + first, span.start() + start + last))
    return runs


def _name_pieces(span: str) -> list[tuple[int, int]]:
    """The span cut at separators that stand outside brackets, as (start, end) offsets."""
    pieces = []
    start = 0
    for separator in _SEPARATOR.finditer(span):
        before = span[start : separator.start()]
        if before.count("(") == before.count(")") and before.count("[") == before.count("]"):
            pieces.append((start, separator.start()))
            start = separator.end()
    pieces.append((start, len(span)))
    return pieces


def isolate_latin(text: str) -> SafeString:
    """Escaped text with each Latin run in ``<bdi dir="ltr">``: for names and references inside Arabic or Farsi."""
    parts: list[str] = []
    position = 0
    for start, end in latin_runs(text):
        parts.append(escape(text[position:start]))
        parts.append(format_html('<bdi dir="ltr">{}</bdi>', text[start:end]))
        position = end
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above


def in_language(text: str, language: str) -> SafeString:
    """Text in ``language`` on a page in another one, marked so (screen readers switch voice, bidi keeps it whole)."""
    direction = "rtl" if language in RTL_LANGUAGES else "ltr"
    return format_html('<span lang="{}" dir="{}">{}</span>', language, direction, text)


def for_page(value: object, language: str | None = None) -> SafeString:
    """Any text as a page in ``language`` (default: the active one) shows it: the one rule for mixed scripts.

    A :class:`Translated` that fell back (or was asked for in another language) is marked with its own
    ``lang`` and ``dir``; on a right-to-left page, Latin runs in other text are isolated; markup already
    made safe is left as it is.
    """
    language = (language or active_language()).split("-")[0]
    if isinstance(value, SafeData):
        return value  # type: ignore[return-value]
    if isinstance(value, Translated):
        if value.text and value.language != language:
            return in_language(value.text, value.language)
        value = value.text
    text = "" if value is None else str(value)
    if language in RTL_LANGUAGES:
        return isolate_latin(text)
    return escape(text)


def translate(value: dict[str, str] | None, language: str | None = None) -> Translated:
    """The text in ``language`` (default: the active one), else German, else any version."""
    language = (language or get_language() or FALLBACK_LANGUAGE).split("-")[0]
    value = value or {}
    if value.get(language):
        return Translated(value[language], language, False)
    if value.get(FALLBACK_LANGUAGE):
        return Translated(value[FALLBACK_LANGUAGE], FALLBACK_LANGUAGE, language != FALLBACK_LANGUAGE)
    for code in LANGUAGE_CODES:
        if value.get(code):
            return Translated(value[code], code, True)
    return Translated("", language, False)


def validate_translations(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Translated text must be an object of language code → text.")
    unknown = sorted(set(value) - set(LANGUAGE_CODES))
    if unknown:
        raise ValidationError(
            "Unknown language code(s): %(codes)s; allowed are %(allowed)s.",
            params={"codes": ", ".join(unknown), "allowed": ", ".join(LANGUAGE_CODES)},
        )
    for code, text in value.items():
        if not isinstance(text, str):
            raise ValidationError("The %(code)s text must be a string.", params={"code": code})
        check_text(text)


class TranslationsWidget(forms.MultiWidget):
    template_name = "directory/widgets/translations.html"

    class Media:
        css = {"all": ("directory/widgets.css",)}

    def __init__(self, textarea: bool = False) -> None:
        widget: type[forms.Widget] = forms.Textarea if textarea else forms.TextInput
        attrs = {"rows": 3, "cols": 60} if textarea else {"size": 60}
        super().__init__(
            widgets={
                code: widget(attrs={**attrs, "lang": code, "dir": "rtl" if code in RTL_LANGUAGES else "ltr"})
                for code in LANGUAGE_CODES
            }
        )

    def decompress(self, value: Any) -> list[str]:
        value = value or {}
        if isinstance(value, str):  # a bound form re-rendering its raw JSON
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        return [value.get(code, "") for code in LANGUAGE_CODES]


class TranslationsFormField(forms.MultiValueField):
    """One input per language in the editors' forms; empty versions are dropped."""

    def __init__(self, *, textarea: bool = False, require_german: bool = False, **kwargs: Any) -> None:
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.pop("max_length", None)
        fields = tuple(forms.CharField(required=False, strip=True) for _ in LANGUAGE_CODES)
        self.require_german = require_german
        super().__init__(
            fields=fields, widget=TranslationsWidget(textarea=textarea), require_all_fields=False, **kwargs
        )

    def compress(self, data_list: list[str]) -> dict[str, str]:
        result = {code: text for code, text in zip(LANGUAGE_CODES, data_list or [], strict=False) if text}
        if self.require_german and not result.get(FALLBACK_LANGUAGE):
            raise ValidationError("The German version is required: it is what other languages fall back to.")
        return result


class TranslatedField(models.JSONField):
    """A JSON object of language code → text; see :func:`translate`."""

    def __init__(self, *args: Any, textarea: bool = False, require_german: bool = False, **kwargs: Any) -> None:
        self.textarea = textarea
        self.require_german = require_german
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", not require_german)
        super().__init__(*args, **kwargs)
        self.validators.append(validate_translations)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.textarea:
            kwargs["textarea"] = True
        if self.require_german:
            kwargs["require_german"] = True
        return name, path, args, kwargs

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return TranslationsFormField(
            textarea=self.textarea,
            require_german=self.require_german,
            required=False,
            label=kwargs.get("label", self.verbose_name.capitalize() if self.verbose_name else None),
            help_text=self.help_text,
        )
