"""Forms of the editorial area. The service form edits plain text lines (no JavaScript needed) and
cleans them into the JSON shapes of editorial.services.service_values."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from directory.models import ISO_639, PHONE_NUMBER, AttendingType, PhoneType, ProblemReportStatus
from directory.translation import TranslationsFormField
from editorial.models import NOTE_MAX_LENGTH, REASON_MAX_LENGTH
from editorial.services import sort_phones, sort_slots

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_PHONES = 20
MAX_SLOTS = 50
MAX_LANGUAGES = 30
NAME_MAX_LENGTH = 300
DESCRIPTION_MAX_LENGTH = 10000
SLOT_LINE = re.compile(
    r"^(?P<days>[A-Za-z]{2}(?:\s*[,-]\s*[A-Za-z]{2})*)\s+"
    r"(?P<opens>\d{1,2}[:.]\d{2})\s*[-–]\s*(?P<closes>\d{1,2}[:.]\d{2})"
    r"(?:\s+(?P<type>[a-z-]+))?$"
)


# --- Lines of text ↔ values -----------------------------------------------------------------------------


def format_phones(phones: list[dict[str, str]]) -> str:
    """One line per number: "number; type" and, if there is one, "; extension"."""
    lines = []
    for phone in phones:
        parts = [phone["number"], phone["type"]]
        if phone["extension"]:
            parts.append(phone["extension"])
        lines.append("; ".join(parts))
    return "\n".join(lines)


def format_hours(slots: list[dict[str, str]]) -> str:
    """One line per slot: "MO,TU 09:00-12:00 walk-in"."""
    return "\n".join(
        f"{s['byday']} {s['opens_at']}-{s['closes_at']}{' ' + s['attending_type'] if s['attending_type'] else ''}"
        for s in slots
    )


def format_languages(codes: list[str]) -> str:
    return ", ".join(codes)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


def parse_phones(text: str) -> list[dict[str, str]]:
    phones = []
    lines = _lines(text)
    if len(lines) > MAX_PHONES:
        raise ValidationError(_("At most %(n)s phone numbers.") % {"n": MAX_PHONES})
    for line in lines:
        parts = [part.strip() for part in line.split(";")]
        number, kind, extension = [*parts, "", ""][:3]
        if len(parts) > 3:
            raise ValidationError(_("“%(line)s”: use “number; type; extension”.") % {"line": line[:60]})
        if not re.fullmatch(PHONE_NUMBER, number):
            raise ValidationError(_("“%(number)s” is not a phone number.") % {"number": number[:60]})
        kind = kind.lower() or PhoneType.VOICE
        if kind not in PhoneType.values:
            raise ValidationError(
                _("Unknown phone type “%(type)s”; use one of %(types)s.")
                % {"type": kind[:20], "types": ", ".join(PhoneType.values)}
            )
        if len(extension) > 10:
            raise ValidationError(_("An extension has at most 10 characters."))
        phones.append({"number": number, "extension": extension, "type": kind})
    unique = {(p["number"], p["extension"], p["type"]): p for p in phones}
    return sort_phones(list(unique.values()))


def _parse_days(text: str) -> str:
    days: set[str] = set()
    for part in re.split(r"\s*,\s*", text.upper()):
        first, _sep, last = part.partition("-")
        first, last = first.strip(), (last.strip() or first.strip())
        if first not in WEEKDAYS or last not in WEEKDAYS or WEEKDAYS.index(last) < WEEKDAYS.index(first):
            raise ValidationError(_("“%(days)s”: days are MO TU WE TH FR SA SU, e.g. MO-FR or MO,WE.") % {"days": text})
        days.update(WEEKDAYS[WEEKDAYS.index(first) : WEEKDAYS.index(last) + 1])
    return ",".join(day for day in WEEKDAYS if day in days)


def _parse_time(text: str) -> str:
    try:
        return time.fromisoformat(text.replace(".", ":").zfill(5)).strftime("%H:%M")
    except ValueError as exc:
        raise ValidationError(_("“%(time)s” is not a time of day.") % {"time": text}) from exc


def parse_hours(text: str) -> list[dict[str, str]]:
    slots = []
    lines = _lines(text)
    if len(lines) > MAX_SLOTS:
        raise ValidationError(_("At most %(n)s opening slots.") % {"n": MAX_SLOTS})
    for line in lines:
        match = SLOT_LINE.match(line)
        if match is None:
            raise ValidationError(
                _("“%(line)s”: write days, times and optionally how to come, e.g. “MO-FR 08:30-12:00 walk-in”.")
                % {"line": line[:60]}
            )
        opens, closes = _parse_time(match["opens"]), _parse_time(match["closes"])
        if closes <= opens:
            raise ValidationError(_("“%(line)s”: the slot must close after it opens.") % {"line": line[:60]})
        attending = match["type"] or ""
        if attending and attending not in AttendingType.values:
            raise ValidationError(
                _("Unknown way to come “%(type)s”; use one of %(types)s.")
                % {"type": attending[:20], "types": ", ".join(AttendingType.values)}
            )
        slots.append(
            {"byday": _parse_days(match["days"]), "opens_at": opens, "closes_at": closes, "attending_type": attending}
        )
    unique = {tuple(s.values()): s for s in slots}
    return sort_slots(list(unique.values()))


def parse_languages(text: str) -> list[str]:
    codes = {code.lower() for code in re.split(r"[\s,;]+", text) if code}
    if len(codes) > MAX_LANGUAGES:
        raise ValidationError(_("At most %(n)s languages.") % {"n": MAX_LANGUAGES})
    for code in codes:
        if not re.fullmatch(ISO_639, code):
            raise ValidationError(
                _("“%(code)s” is not an ISO 639 language code such as de, ar or uk.") % {"code": code[:20]}
            )
    return sorted(codes)


# --- Forms ----------------------------------------------------------------------------------------------


class ServiceEditForm(forms.Form):
    name = TranslationsFormField(require_german=True, label=_("Name"))
    description = TranslationsFormField(textarea=True, required=False, label=_("Description"))
    url = forms.URLField(required=False, max_length=200, label=_("Website"))
    email = forms.EmailField(required=False, max_length=254, label=_("E-mail"))
    phones = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Phone numbers"),
        help_text=_(
            "One per line: number; type (voice, fax, cell, text, video); extension — e.g. “0201 88-12345; voice”."
        ),
    )
    hours = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Opening hours"),
        help_text=_(
            "One slot per line: days, times and optionally walk-in, appointment, phone or online — "
            "e.g. “MO-FR 08:30-12:00 walk-in”. Seasonal hours and closures are kept as they are."
        ),
    )
    languages = forms.CharField(
        required=False,
        max_length=300,
        label=_("Languages spoken"),
        help_text=_("ISO 639 codes, separated by commas — e.g. “de, en, ar, uk”."),
    )

    @classmethod
    def initial_from(cls, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": values["name"],
            "description": values["description"],
            "url": values["url"],
            "email": values["email"],
            "phones": format_phones(values["phones"]),
            "hours": format_hours(values["hours"]),
            "languages": format_languages(values["languages"]),
        }

    def _limit(self, field: str, limit: int) -> dict[str, str]:
        value: dict[str, str] = self.cleaned_data.get(field) or {}
        for code, text in value.items():
            if len(text) > limit:
                raise ValidationError(
                    _("The %(code)s text is too long (at most %(n)s characters).") % {"code": code, "n": limit}
                )
        return value

    def clean_name(self) -> dict[str, str]:
        return self._limit("name", NAME_MAX_LENGTH)

    def clean_description(self) -> dict[str, str]:
        return self._limit("description", DESCRIPTION_MAX_LENGTH)

    def clean_phones(self) -> list[dict[str, str]]:
        return parse_phones(self.cleaned_data.get("phones", ""))

    def clean_hours(self) -> list[dict[str, str]]:
        return parse_hours(self.cleaned_data.get("hours", ""))

    def clean_languages(self) -> list[str]:
        return parse_languages(self.cleaned_data.get("languages", ""))

    def values(self) -> dict[str, Any]:
        """The cleaned form in the shapes of editorial.services.service_values."""
        return {field: self.cleaned_data[field] for field in self.fields}


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("New note (only you can see it)"),
    )


class TokenForm(forms.Form):
    token = forms.RegexField(
        regex=r"^\s*[0-9]{6,8}\s*$",
        max_length=20,
        label=_("Code from your authenticator app"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "size": 8}),
        error_messages={"invalid": _("Enter the 6-digit code your app shows.")},
    )


class ReportDecisionForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in ProblemReportStatus if s != ProblemReportStatus.OPEN],
        label=_("Decision"),
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Note (required when rejecting)"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("status") == ProblemReportStatus.REJECTED and not cleaned.get("note"):
            self.add_error("note", _("Say why the report is rejected."))
        return cleaned


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Reason (the editor reads it)"),
    )
