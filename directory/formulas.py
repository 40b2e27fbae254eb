"""Text a spreadsheet would take for a formula ("CSV injection"): the one rule for every way in and out.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is evaluated by Excel,
LibreOffice and Google Sheets when a CSV is opened (``=HYPERLINK(…)``, ``+cmd|' /C calc'!A0``,
``-2+3+cmd|…``, ``@SUM(…)``). The rule, kept here and nowhere else:

- **Out** (CSV and XLSX exports, the template): :func:`escape` prefixes such a cell with a single quote
  ``'`` (OWASP's advice), which every spreadsheet shows as text and does not evaluate; XLSX cells are
  written as strings besides, never as formulas.
- **In** (spreadsheet import, HSDS package import, the staff form): :func:`read` takes a value as it comes,
  undoes that escaping (``'+49 201 1234`` → ``+49 201 1234``, so an export imports back unchanged) and
  **refuses** a value that would still be evaluated, with a message naming the character. Refusing rather
  than storing keeps the catalogue free of formulas whatever exports it later, and an editor sees at once
  that the cell did not say what they meant.

Numbers are no formulas: a value beginning with ``+`` or ``-`` that is written only with digits, spaces
and ``( ) / . , ; + -`` — a phone number like ``+49 201 88-0``, a negative coordinate, the lone ``-`` that
clears a spreadsheet cell — cannot call a function or another program (that needs letters, ``|``, ``!``,
quotes or brackets of a reference), so it is accepted as it is. ``=`` and ``@`` always start a formula.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
# What a value starting with + or - may consist of to be a number (phone, coordinate) and not a formula.
_NUMBER_NOTATION = re.compile(r"[+-][\d\s()/.,;+-]*")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would evaluate ``text`` (numbers written with + or - excepted)."""
    if not text.startswith(TRIGGERS):
        return False
    return not (text[0] in "+-" and _NUMBER_NOTATION.fullmatch(text))


def escape(text: str) -> str:
    """A cell for a CSV or XLSX export that no spreadsheet evaluates: ``'`` before a starting trigger."""
    return f"{ESCAPE}{text}" if text.startswith(TRIGGERS) else text


def read(text: str) -> str:
    """A value from outside as stored: the export's escaping undone; ValueError for a formula."""
    if text.startswith(ESCAPE) and text[1:].startswith(TRIGGERS):
        text = text[1:]
    if is_formula(text):
        shown = {"\t": "Tab", "\r": "CR"}.get(text[0], text[0])
        raise ValueError(
            _("begins with “%(char)s” like a spreadsheet formula; please enter the value without it.") % {"char": shown}
        )
    return text
