"""One rule per kind of value, for every write path and every reader of a request.

The admin (model ``clean_fields``, so every ModelForm), the staff forms, the spreadsheet, the HSDS package and
the loader all write through the models, so the rules are attached there (:meth:`Record.clean_fields
<directory.models.provenance.Record.clean_fields>` for free text, field validators for the rest). Query
parameters are read with :func:`whole_number` and :func:`ascii_digits`: ``"²".isdigit()`` is true and
``int("²")`` fails, so no ``isdigit()`` or bare ``int()`` on what a client sent.

No imports from the models: they import this module.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, RegexValidator, URLValidator
from django.utils.translation import gettext_lazy

# C0 and C1 control characters, and the bidi embeddings, overrides and isolates (U+202A–E, U+2066–9): an
# override stored in a name turns the rest of a page or a slip around, and PostgreSQL refuses NUL in text.
# (The site adds its own isolates where a Latin run sits in Arabic or Farsi text: directory.translation.)
# The marks U+200E/U+200F stay allowed in stored text: a translator may need them.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
UNSAFE_IN_TEXT = re.compile(f"[{_CONTROL}{_BIDI_CONTROLS}]")
UNSAFE_IN_LINE = re.compile(f"[{_CONTROL}\t\n\r{_BIDI_CONTROLS}]")
# What one line typed into a search field may not keep: the marks too (they would only confuse matching).
UNSAFE_IN_QUERY = re.compile(f"[{_CONTROL}\t\n\r\u200e\u200f{_BIDI_CONTROLS}]")
# Long text with no max_length of its own (descriptions, notes): a cap, so no record is a megabyte.
TEXT_MAX_LENGTH = 10_000

# The formats themselves (also the database's check constraints, so PostgreSQL's regex dialect: ASCII ranges).
PHONE_NUMBER = r"^\+?[0-9][0-9 ()/.-]{2,30}[0-9]$"
PHONE_EXTENSION = r"^[0-9]{1,10}$"
ISO_639 = r"^[a-z]{2,3}$"
POSTCODE = r"^[0-9]{5}$"
AGS_ANY_LEVEL = r"^[0-9]{2}([0-9]([0-9]{2}([0-9]{3})?)?)?$"


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_text(value: str, *, single_line: bool = False, max_length: int = TEXT_MAX_LENGTH) -> None:
    """Free text: no NUL, no control characters (line breaks and tabs only where text has lines), no bidi
    overrides, at most ``max_length`` characters. Raises ValidationError naming the first bad character."""
    found = (UNSAFE_IN_LINE if single_line else UNSAFE_IN_TEXT).search(value)
    if found:
        raise ValidationError(
            gettext_lazy("Contains the control character %(char)s (broken encoding or pasted binary data?)."),
            code="control_character",
            params={"char": _describe(found.group())},
        )
    if len(value) > max_length:
        raise ValidationError(
            gettext_lazy("At most %(limit)s characters (it has %(length)s)."),
            code="max_length",
            params={"limit": max_length, "length": len(value)},
        )


def validate_text(value: Any) -> None:
    if isinstance(value, str):
        check_text(value)


def validate_line(value: Any) -> None:
    if isinstance(value, str):
        check_text(value, single_line=True)


validate_phone_number = RegexValidator(PHONE_NUMBER, gettext_lazy("Not a phone number."), code="phone_number")
validate_phone_extension = RegexValidator(
    PHONE_EXTENSION, gettext_lazy("An extension is 1 to 10 digits (0–9)."), code="phone_extension"
)
validate_language_code = RegexValidator(
    ISO_639, gettext_lazy("Not an ISO 639 language code such as de, ar or uk."), code="language_code"
)
validate_postcode = RegexValidator(POSTCODE, gettext_lazy("A postcode is five digits."), code="postcode")
validate_ags = RegexValidator(AGS_ANY_LEVEL, gettext_lazy("An AGS is 2, 3, 5 or 8 digits."), code="ags")
validate_email = EmailValidator()
validate_url = URLValidator(schemes=["http", "https"])


def ascii_digits(raw: str, length: int | None = None) -> bool:
    """Whether ``raw`` is digits 0–9 only (``length`` of them, when given). Not ``str.isdigit``: "²" and "٣" are
    digits to it."""
    count = "+" if length is None else f"{{{length}}}"
    return re.fullmatch(f"[0-9]{count}", raw) is not None


def whole_number(raw: str, low: int, high: int) -> int | None:
    """A whole number from ``low`` to ``high`` written with the digits 0–9, or None for anything else."""
    raw = raw.strip()
    # The length check first: int() of a million digits takes a while.
    if not re.fullmatch(r"[0-9]+", raw) or len(raw.lstrip("0")) > len(str(high)):
        return None
    value = int(raw)
    return value if low <= value <= high else None
