"""Phone and language lists as editors type them: one reader and one writer each, used by the staff form
and the spreadsheet import (opening hours have theirs in directory.hours).

Errors are ValueErrors worded in the active language (gettext); each caller chooses the language its readers
see. The checks are the stricter of the two copies these replace: a number is at most 40 characters (the
column's size), an extension at most 10, at most MAX_PHONES numbers and MAX_LANGUAGES languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from directory.models import PhoneType
from directory.validation import ISO_639, PHONE_EXTENSION, PHONE_NUMBER

MAX_PHONES = 20
MAX_LANGUAGES = 30
NUMBER_MAX_LENGTH = 40  # Phone.number
# Lower-case words for a phone's type → PhoneType value (the codes themselves, and the German words).
PHONE_TYPE_WORDS = {
    **{kind.value: kind.value for kind in PhoneType},
    "telefon": PhoneType.VOICE.value,
    "mobil": PhoneType.CELL.value,
    "handy": PhoneType.CELL.value,
    "sms": PhoneType.TEXT.value,
}


@dataclass(frozen=True)
class PhoneEntry:
    """One number as written; ``type`` is a PhoneType value, or "" when the text does not say."""

    number: str
    type: str = ""
    extension: str = ""


def parse_phones(text: str) -> list[PhoneEntry]:
    """Numbers, one per line or separated by ";" — or, per line, "number; type; extension" (the staff form's
    lines: "0201 88-12345; fax"). Each entry once, in the order written."""
    entries: list[PhoneEntry] = []
    for line in (line.strip() for line in re.split(r"[\r\n]+", text)):
        parts = [part.strip() for part in line.split(";") if part.strip()]
        if len(parts) >= 2 and parts[1].casefold() in PHONE_TYPE_WORDS:
            if len(parts) > 3:
                raise ValueError(_("“%(line)s”: use “number; type; extension”.") % {"line": line[:60]})
            extension = parts[2] if len(parts) == 3 else ""
            if extension and not re.fullmatch(PHONE_EXTENSION, extension):
                raise ValueError(_("An extension is 1 to 10 digits (0–9)."))
            entries.append(PhoneEntry(_number(parts[0]), PHONE_TYPE_WORDS[parts[1].casefold()], extension))
        else:
            for index, part in enumerate(parts):
                if index and not re.search("[0-9]", part):  # meant as a type, but none we know
                    types = ", ".join(PhoneType.values)
                    raise ValueError(
                        _("Unknown phone type “%(type)s”; use one of %(types)s.") % {"type": part[:20], "types": types}
                    )
                entries.append(PhoneEntry(_number(part)))
    entries = list(dict.fromkeys(entries))
    if len(entries) > MAX_PHONES:
        raise ValueError(_("At most %(n)s phone numbers.") % {"n": MAX_PHONES})
    return entries


def _number(text: str) -> str:
    number = " ".join(text.split())
    if len(number) > NUMBER_MAX_LENGTH or not re.fullmatch(PHONE_NUMBER, number):
        raise ValueError(_("“%(number)s” is not a phone number.") % {"number": number[:60]})
    return number


def format_phones(phones: Iterable[PhoneEntry]) -> str:
    """One line per number: "number; type" and, if there is one, "; extension" (read back by parse_phones)."""
    return "\n".join(
        "; ".join(part for part in (phone.number, phone.type or PhoneType.VOICE.value, phone.extension) if part)
        for phone in phones
    )


def parse_languages(text: str) -> list[str]:
    """ISO 639 codes separated by spaces, ",", ";" or "/", lower-cased, each once, in the order written."""
    codes = list(dict.fromkeys(code.lower() for code in re.split(r"[\s,;/]+", text) if code))
    if len(codes) > MAX_LANGUAGES:
        raise ValueError(_("At most %(n)s languages.") % {"n": MAX_LANGUAGES})
    for code in codes:
        if not re.fullmatch(ISO_639, code):
            raise ValueError(
                _("“%(code)s” is not an ISO 639 language code such as de, ar or uk.") % {"code": code[:20]}
            )
    return codes


def format_languages(codes: Iterable[str]) -> str:
    return ", ".join(codes)
