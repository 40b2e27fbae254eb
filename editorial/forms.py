"""Forms of the editorial area. The service form edits plain text lines (no JavaScript needed) and
cleans them into the JSON shapes of editorial.services.service_values."""

from __future__ import annotations

from datetime import time
from typing import Any

from django import forms
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from directory import formulas, hours, notation
from directory.models import Gemeinde, PhoneType, PointAccuracy, ProblemReportStatus
from directory.places import representative_point, resolve_place, single_line
from directory.translation import TranslationsFormField, validate_translations
from editorial.models import NOTE_MAX_LENGTH, REASON_MAX_LENGTH
from editorial.services import sort_phones, sort_slots

MAX_SLOTS = 50
NAME_MAX_LENGTH = 300
DESCRIPTION_MAX_LENGTH = 10000


# --- Lines of text ↔ values (the notations are the core's: directory.hours, directory.notation) ------------


def format_phones(phones: list[dict[str, str]]) -> str:
    """One line per number: "number; type" and, if there is one, "; extension"."""
    return notation.format_phones(notation.PhoneEntry(p["number"], p["type"], p["extension"]) for p in phones)


def format_hours(slots: list[dict[str, str]]) -> str:
    """The slots as editors write them: "Mo–Fr 9:00–12:00 offene Sprechstunde"."""
    return hours.format_hours(
        hours.WeeklySlot(
            s["byday"], time.fromisoformat(s["opens_at"]), time.fromisoformat(s["closes_at"]), s["attending_type"]
        )
        for s in slots
    )


def format_languages(codes: list[str]) -> str:
    return notation.format_languages(codes)


def parse_phones(text: str) -> list[dict[str, str]]:
    try:
        phones = notation.parse_phones(text)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    values = [{"number": p.number, "extension": p.extension, "type": p.type or PhoneType.VOICE} for p in phones]
    unique = {(p["number"], p["extension"], p["type"]): p for p in values}
    return sort_phones(list(unique.values()))


def parse_hours(text: str) -> list[dict[str, str]]:
    """Weekly slots in the shape service_values gives; closures are the admin's (the form keeps them as they are)."""
    try:
        written = hours.parse_hours(text)
    except hours.HoursError as exc:
        raise ValidationError(str(exc)) from exc
    if written.closures:
        raise ValidationError(
            _("“%(part)s”: closures are kept as they are here; enter them in the admin.")
            % {"part": hours.format_closure(written.closures[0])}
        )
    if len(written.slots) > MAX_SLOTS:
        raise ValidationError(_("At most %(n)s opening slots.") % {"n": MAX_SLOTS})
    return sort_slots(
        [
            {
                "byday": slot.byday,
                "opens_at": f"{slot.opens:%H:%M}",
                "closes_at": f"{slot.closes:%H:%M}",
                "attending_type": slot.attending_type,
            }
            for slot in written.slots
        ]
    )


def parse_languages(text: str) -> list[str]:
    try:
        return sorted(notation.parse_languages(text))
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


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
            "Days and times, German or English, and how to come if it is said — e.g. “Mo–Fr 9–12 Uhr, "
            "Di 14–17 Uhr nach Vereinbarung”. Seasonal hours and closures are kept as they are."
        ),
    )
    languages = forms.CharField(
        required=False,
        max_length=300,
        label=_("Languages spoken"),
        help_text=_("ISO 639 codes, separated by commas — e.g. “de, en, ar, uk”."),
    )
    address_1 = forms.CharField(required=False, max_length=200, label=_("Street and number"))
    postal_code = forms.RegexField(
        regex=r"^\s*[0-9]{5}\s*$",
        required=False,
        max_length=10,
        label=_("Postcode"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": 6}),
        error_messages={"invalid": _("A postcode has five digits.")},
    )
    city = forms.CharField(required=False, max_length=100, label=_("Town"))
    latitude = forms.FloatField(
        required=False,
        min_value=-90,
        max_value=90,
        label=_("Latitude (optional)"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 12}),
    )
    longitude = forms.FloatField(
        required=False,
        min_value=-180,
        max_value=180,
        label=_("Longitude (optional)"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 12}),
        help_text=_(
            "Only for the exact entrance (e.g. 51.45513, 7.01149). Left empty, the place is shown at the middle "
            "of the postcode area, or of the town, and marked as approximate."
        ),
    )

    PLACE_FIELDS = ("address_1", "postal_code", "city", "latitude", "longitude")

    def __init__(self, *args: Any, current_place: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_place = current_place
        self.place: dict[str, Any] | None = current_place

    @classmethod
    def initial_from(cls, values: dict[str, Any]) -> dict[str, Any]:
        place = values.get("place") or {}
        exact = place.get("accuracy") == PointAccuracy.EXACT
        return {
            "name": values["name"],
            "description": values["description"],
            "url": values["url"],
            "email": values["email"],
            "phones": format_phones(values["phones"]),
            "hours": format_hours(values["hours"]),
            "languages": format_languages(values["languages"]),
            "address_1": place.get("address_1", ""),
            "postal_code": place.get("postal_code", ""),
            "city": place.get("city", ""),
            "latitude": place.get("lat") if exact else None,
            "longitude": place.get("lon") if exact else None,
        }

    def _limit(self, field: str, limit: int) -> dict[str, str]:
        value: dict[str, str] = self.cleaned_data.get(field) or {}
        for code, text in value.items():
            # Checked here too, not only when the change is applied: an untrusted editor's proposal waits first.
            validate_translations({code: text})
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

    # Texts a spreadsheet export shows: none may begin like a formula (directory.formulas, as every import).
    TEXT_FIELDS = ("name", "description", "address_1", "city")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field in self.TEXT_FIELDS:
            value = cleaned.get(field)
            texts = value.values() if isinstance(value, dict) else [value] if isinstance(value, str) else []
            for text in texts:
                try:
                    formulas.read(text)
                except ValueError as exc:
                    self.add_error(field, str(exc))
                    break
        if not any(field in self.errors for field in self.PLACE_FIELDS):
            try:
                self.place = self._place(cleaned)
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned

    def _place(self, cleaned: dict[str, Any]) -> dict[str, Any] | None:
        """The place typed into the form, in the shape of editorial.services.place_value.

        The Gemeinde comes from the postcode (the town picks one where a postcode spans several) or the
        town; the point is the postcode's middle or the town's representative point, marked approximate,
        unless a latitude and longitude are given (exact). Untouched fields keep the current place as it is.
        """
        street = single_line(cleaned.get("address_1") or "")
        code = "".join((cleaned.get("postal_code") or "").split())
        town = single_line(cleaned.get("city") or "")
        lat, lon = cleaned.get("latitude"), cleaned.get("longitude")
        current = self.current_place
        if not any(field in self.data for field in self.PLACE_FIELDS):
            return current  # a form posted without the place's fields leaves the place alone
        if current is not None and (street, code, town) == (
            current["address_1"],
            current["postal_code"],
            current["city"],
        ):
            exact = current["accuracy"] == PointAccuracy.EXACT
            if (lat, lon) == ((current["lat"], current["lon"]) if exact else (None, None)):
                return current
        if not (street or code or town or lat is not None or lon is not None):
            if current is not None:
                raise ValidationError(_("A place needs at least its postcode or town."))
            return None
        if (lat is None) != (lon is None):
            raise ValidationError(_("Give both latitude and longitude, or neither."))
        gemeinde, point, accuracy = None, None, PointAccuracy.MUNICIPALITY
        if code:
            found = resolve_place(plz=code)
            if found.choices and not found.ags:
                folded = town.casefold()
                gemeinde = next((g for g in found.choices if g.name.casefold() == folded), None)
                if gemeinde is None:
                    names = ", ".join(g.name for g in found.choices)
                    raise ValidationError(
                        _("The postcode %(code)s covers several towns (%(names)s): give the town.")
                        % {"code": code, "names": names}
                    )
            elif found.error is not None:
                raise ValidationError(found.error.label)
            else:
                gemeinde = found.gemeinde
            point, accuracy = found.point, PointAccuracy.POSTCODE
        elif town:
            found = resolve_place(q=town)
            if found.gemeinde is None:
                raise ValidationError(
                    _("We found no single town called “%(town)s” in North Rhine-Westphalia; give the postcode.")
                    % {"town": town}
                )
            gemeinde = found.gemeinde
        if lat is not None and lon is not None:
            point, accuracy = Point(lon, lat, srid=4326), PointAccuracy.EXACT
            containing = Gemeinde.objects.filter(geometry__covers=point).only("ags", "name").first()
            if containing is None:
                raise ValidationError(_("This point is not in North Rhine-Westphalia."))
            if gemeinde is not None and containing.ags != gemeinde.ags:
                raise ValidationError(
                    _("The point lies in %(point)s, the address in %(address)s.")
                    % {"point": containing.name, "address": gemeinde.name}
                )
            gemeinde = containing
        if gemeinde is None:
            raise ValidationError(_("A place needs at least its postcode or town."))
        if point is None:
            point = representative_point(gemeinde)
        return {
            "address_1": street,
            "postal_code": code,
            "city": town or gemeinde.name,
            "ags": gemeinde.ags,
            "lat": round(point.y, 6),
            "lon": round(point.x, 6),
            "accuracy": accuracy,
        }

    def values(self) -> dict[str, Any]:
        """The cleaned form in the shapes of editorial.services.service_values."""
        values = {field: self.cleaned_data[field] for field in self.fields if field not in self.PLACE_FIELDS}
        values["place"] = self.place
        return values


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
