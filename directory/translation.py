"""Text that holds one version per UI language and falls back to German.

Content is stored as a JSON object ``{"de": "...", "en": "...", ...}``. Reading it in a language
returns a :class:`Translated` that says which language the text is really in, so a page can show
"only available in German" where it fell back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import escape
from django.utils.translation import get_language

LANGUAGE_CODES: tuple[str, ...] = ("de", "en", "ar", "fa", "uk", "ru", "tr")
FALLBACK_LANGUAGE = "de"
# The languages a German text may be translated into (export columns, spreadsheet columns name_en …).
NON_GERMAN_LANGUAGES: tuple[str, ...] = tuple(code for code in LANGUAGE_CODES if code != FALLBACK_LANGUAGE)
RTL_LANGUAGES = frozenset({"ar", "fa"})
# A run of Latin-script words (with digits and the punctuation inside names), as it appears in escaped HTML.
LATIN_RUN = re.compile(r"[A-Za-zÀ-ɏ0-9][A-Za-zÀ-ɏ0-9 .,’'§/&;#-]*[A-Za-zÀ-ɏ0-9.]|[A-Za-zÀ-ɏ]")


@dataclass(frozen=True)
class Translated:
    text: str
    language: str
    is_fallback: bool

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)

    def __html__(self) -> str:
        """Escaped for templates; on right-to-left pages, runs of Latin script are isolated with <bdi>.

        "المركز البلدي للاندماج (Kommunales Integrationszentrum) – Kreis Kleve" would otherwise have its
        brackets and dash reordered by the bidi algorithm.
        """
        escaped = str(escape(self.text))
        if (get_language() or "").split("-")[0] not in RTL_LANGUAGES:
            return escaped
        return LATIN_RUN.sub(r"<bdi>\g<0></bdi>", escaped)


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


class TranslationsWidget(forms.MultiWidget):
    template_name = "directory/widgets/translations.html"

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
