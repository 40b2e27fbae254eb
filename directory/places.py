"""Where does the visitor live? Turn a postcode, an AGS, a shared location or a typed town into Gemeinde(n).

:func:`resolve_place` never raises for what a visitor types: every answer is a :class:`PlaceResult`,
resolved, ambiguous (``choices``) or with an ``error`` code the page can explain. Each call makes at most
three queries; a Gemeinde's point is computed in the same query that fetches it (see :func:`with_point`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.gis.db.models import PointField
from django.contrib.gis.db.models.functions import PointOnSurface
from django.contrib.gis.geos import Point
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from directory.models import (
    AGS_GEMEINDE,
    AGS_KREIS,
    Gemeinde,
    GemeindeQuerySet,
    Kreis,
    Place,
    PostcodeGemeinde,
    fold_name,
)
from directory.validation import UNSAFE_IN_QUERY

_M = TypeVar("_M", bound=models.Model)

MAX_TEXT_LENGTH = 100
# Typed town names closer than this (pg_trgm similarity of the folded names) are not offered: below it,
# "Berlin" would find "Bad Berleburg" and "Hamburg" "Bedburg-Hau"; above it, "Duisbrug" finds Duisburg.
MIN_SIMILARITY = 0.35
MAX_CHOICES = 10
# Control characters and the bidi overrides/isolates that can make text display as something else.
_COORDINATE = re.compile(r"[+-]?(?:[0-9]{1,3}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})")
_POSTCODE_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{5})(?![0-9])")


class PlaceError(models.TextChoices):
    MALFORMED = "malformed", _("That is not a postcode, place name or location we can read.")
    UNKNOWN_POSTCODE = "unknown_postcode", _("We do not know this postcode in North Rhine-Westphalia.")
    OUTSIDE_NRW = "outside_nrw", _("This place is not in North Rhine-Westphalia.")
    NOT_FOUND = "not_found", _("We found no town or municipality of that name in North Rhine-Westphalia.")
    OUT_OF_RANGE = "out_of_range", _("These coordinates do not exist (latitude −90…90, longitude −180…180).")


# West, south, east, north of North Rhine-Westphalia: where the map starts, and what
# "nearest first" means when a request names no bbox.
NRW_BBOX = (5.86, 50.32, 9.47, 52.54)


@dataclass(frozen=True)
class PlaceResult:
    """Where the visitor is, as far as their input tells.

    Resolved: ``gemeinde`` (with ``kreis`` selected) or, for a 5-digit AGS, only ``kreis``; ``ags`` is then
    the code to ask responsibility for. Ambiguous: ``choices`` lists the Gemeinden to pick from (pass one's
    AGS back as ``choose``). Failed: ``error`` says why. ``point`` orders results by distance.
    """

    gemeinde: Gemeinde | None
    point: Point | None
    label: str
    choices: list[Gemeinde]
    error: PlaceError | None
    kreis: Kreis | None = None
    ags: str | None = None

    @property
    def is_resolved(self) -> bool:
        return self.ags is not None

    @property
    def is_ambiguous(self) -> bool:
        return bool(self.choices)


def _failed(error: PlaceError, label: str = "") -> PlaceResult:
    return PlaceResult(gemeinde=None, point=None, label=label, choices=[], error=error)


def _resolved(gemeinde: Gemeinde, point: Point | None, label: str) -> PlaceResult:
    return PlaceResult(
        gemeinde=gemeinde, point=point, label=label, choices=[], error=None, kreis=gemeinde.kreis, ags=gemeinde.ags
    )


def single_line(value: str) -> str:
    """Typed input as one line of plain text: no control characters or bidi overrides, whitespace collapsed.

    For what a visitor types into a search field (it is shown back on the page); text kept with its line
    breaks, as a staff note, is ``editorial.services.storable_text``.
    """
    return " ".join(UNSAFE_IN_QUERY.sub(" ", unicodedata.normalize("NFC", value)).split())


def with_point(queryset: models.QuerySet[_M], outer: str = "pk", prefix: str = "") -> models.QuerySet[_M]:
    """Annotate ``representative``: the point that stands for a Gemeinde known only by its name (the one rule).

    The largest place of the Gemeinde's own name, else its largest place, else a point inside it —
    so a Gemeinde found here sits where importers place its approximate locations. ``outer`` and
    ``prefix`` let a Kreis queryset annotate its seat's point.
    """
    places = Place.objects.filter(gemeinde=OuterRef(outer)).order_by("-population").values("point")
    same_name = places.filter(name_folded=OuterRef(f"{prefix}name_folded"))
    return queryset.annotate(
        representative=Coalesce(
            Subquery(same_name[:1]),
            Subquery(places[:1]),
            PointOnSurface(f"{prefix}geometry"),
            output_field=PointField(srid=4326),
        )
    )


def _point_of(record: models.Model) -> Point:
    point: Point = record.representative  # type: ignore[attr-defined]
    # Places are stored to 5 decimals; a computed point inside a polygon is rounded as the loader rounds it.
    return Point(round(point.x, 6), round(point.y, 6), srid=4326)


def representative_point(gemeinde: Gemeinde) -> Point:
    """Where an office known only by its Gemeinde is placed (:func:`with_point`, for one Gemeinde)."""
    return _point_of(with_point(Gemeinde.objects.filter(pk=gemeinde.pk).only("pk", "name_folded", "geometry")).get())


def _gemeinden() -> GemeindeQuerySet:
    return Gemeinde.objects.select_related("kreis").defer("geometry", "kreis__geometry")


# --- by postcode ---------------------------------------------------------------------------------------------


def _by_postcode(raw: str, choose: str | None) -> PlaceResult:
    code = "".join(raw.split())
    if not re.fullmatch(r"[0-9]{5}", code):
        return _failed(PlaceError.MALFORMED)
    memberships = list(
        PostcodeGemeinde.objects.filter(postcode_id=code)
        .select_related("postcode", "gemeinde__kreis")
        .defer("gemeinde__geometry", "gemeinde__kreis__geometry")
        .order_by("rank")
    )
    if not memberships:
        return _failed(PlaceError.UNKNOWN_POSTCODE, code)
    centroid = memberships[0].postcode.centroid
    choices = [membership.gemeinde for membership in memberships]
    chosen = next((g for g in choices if g.ags == choose), None) if len(choices) > 1 else choices[0]
    if chosen is None:
        return PlaceResult(gemeinde=None, point=centroid, label=code, choices=choices, error=None)
    if centroid is None:  # every shipped postcode has one; an edited row might not
        centroid = _point_of(with_point(_gemeinden()).get(pk=chosen.pk))
    return _resolved(chosen, centroid, f"{code} {chosen.name}")


def _kreise() -> models.QuerySet[Kreis]:
    """Kreise, each with its seat's point."""
    return with_point(Kreis.objects.select_related("seat"), outer="seat", prefix="seat__").defer(
        "geometry", "seat__geometry"
    )


def _kreis_result(kreis: Kreis) -> PlaceResult:
    return PlaceResult(
        gemeinde=None,
        point=_point_of(kreis) if kreis.seat_id else None,
        label=kreis.display_name,
        choices=[],
        error=None,
        kreis=kreis,
        ags=kreis.ags,
    )


# --- by AGS --------------------------------------------------------------------------------------------------


def _by_ags(raw: str) -> PlaceResult:
    code = raw.strip()
    if re.fullmatch(AGS_GEMEINDE, code):
        gemeinde = with_point(_gemeinden()).filter(pk=code).first()
        if gemeinde is None:
            return _failed(PlaceError.NOT_FOUND, code)
        return _resolved(gemeinde, _point_of(gemeinde), gemeinde.name)
    if re.fullmatch(AGS_KREIS, code):
        kreis = _kreise().filter(pk=code).first()
        if kreis is None:
            return _failed(PlaceError.NOT_FOUND, code)
        return _kreis_result(kreis)
    return _failed(PlaceError.MALFORMED)


# --- by shared location --------------------------------------------------------------------------------------


def _coordinate(raw: str) -> float | None:
    text = raw.strip().replace(",", ".")
    return float(text) if _COORDINATE.fullmatch(text) else None


def _by_location(raw_lat: str | None, raw_lon: str | None) -> PlaceResult:
    lat = _coordinate(raw_lat or "")
    lon = _coordinate(raw_lon or "")
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return _failed(PlaceError.MALFORMED)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return _failed(PlaceError.OUT_OF_RANGE)
    point = Point(lon, lat, srid=4326)
    gemeinde = _gemeinden().containing(point).first()
    if gemeinde is None:
        return _failed(PlaceError.OUTSIDE_NRW, str(_("your location")))
    return _resolved(gemeinde, point, str(_("your location")))


# --- by name -------------------------------------------------------------------------------------------------

# How well a typed name matches, best first; only the best tier found counts.
# SOUNDS_ALIKE: the same consonant skeleton (see Skeleton): "Kleev" and "Клеве" are Kleve.
GEMEINDE_NAME, PLACE_NAME, PREFIX, SOUNDS_ALIKE, SIMILAR = 5, 4, 3, 2, 1

# --- other scripts ---------------------------------------------------------------------------------------
# German place names written in Cyrillic (Ukrainian and Russian spelling) or Arabic script (Arabic and
# Persian), turned into Latin letters as they sound. The result is compared by its consonants (below), so
# the vowels a script leaves out or spells differently do not matter.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "je", "ё": "jo", "ж": "sch",
    "з": "s", "и": "i", "і": "i", "ї": "ji", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "ch", "ц": "z", "ч": "tsch", "ш": "sch",
    "щ": "schtsch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "ju", "я": "ja", "'": "", "’": "", "ʼ": "",
}  # fmt: skip
_ARABIC = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ى": "a", "ي": "i", "ی": "i", "ئ": "i", "ء": "", "ؤ": "u",
    "ع": "", "ة": "", "و": "u", "ب": "b", "پ": "p", "ت": "t", "ث": "s", "ج": "g", "چ": "tsch", "ح": "h",
    "خ": "ch", "د": "d", "ذ": "s", "ر": "r", "ز": "z", "ژ": "j", "س": "s", "ش": "sch", "ص": "s", "ض": "d",
    "ط": "t", "ظ": "z", "غ": "g", "ف": "f", "ڤ": "v", "ق": "k", "ك": "k", "ک": "k", "گ": "g", "ل": "l",
    "م": "m", "ن": "n", "ه": "h", "‌": "", "ـ": "",
}  # fmt: skip
_ARABIC_MARKS = re.compile(r"[ً-ٰٟ]")  # short vowels and other marks: not written as a rule
_FINAL_HEH = re.compile(r"[هة](?=\s|-|$)")  # a final ه is a vowel in Persian (کلوه), as ة is in Arabic


def transliterations(text: str) -> list[str]:
    """``text`` in Latin letters: itself when it is Latin; for Cyrillic the readings of г as g, as h at the
    start of a word, and as h everywhere (Ukrainian and Russian write German G and H alike: "Гамбург",
    "Гельзенкірхен", "Гаген"); for Arabic script one reading."""
    lower = text.lower()
    if any("\u0400" <= char <= "\u04ff" for char in lower):
        readings = [
            re.sub(r"(?<!\w)г", "h", lower),
            lower.replace("г", "h"),
        ]
        spellings = [lower, *readings] if "г" in lower else [lower]
        return list(dict.fromkeys("".join(_CYRILLIC.get(char, char) for char in spelling) for spelling in spellings))
    if any("\u0600" <= char <= "\u06ff" for char in lower):
        lower = _FINAL_HEH.sub("", _ARABIC_MARKS.sub("", lower))
        return ["".join(_ARABIC.get(char, char) for char in lower)]
    return [text]


class Skeleton(models.Func):
    """The consonants of a folded name as they sound: sch/ch/ck/ph/v/w/p/c/z/q/x merged with the letters
    other scripts write for them, vowels (and j, y) dropped, doubled letters once — "kleve", "kleev",
    "klefe" → "klf"; "koln", "keln" → "kln". The one rule, applied in the database to the stored names
    and to what was typed alike, so the two cannot drift apart.
    """

    template = (
        "regexp_replace(translate(replace(replace(replace(replace(regexp_replace(%(expressions)s, '[^a-z]', '', 'g'),"
        " 'sch', 's'), 'ch', 'h'), 'ck', 'k'), 'ph', 'f'), 'vwpczqxjyaeiou', 'ffbkskk'), '(.)\\1+', '\\1', 'g')"
    )
    output_field = models.CharField()


@dataclass(frozen=True)
class _Candidate:
    gemeinde: Gemeinde
    point: Point
    label: str
    name_folded: str
    tier: int
    similarity: float
    population: int = 0


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _plausible_typo(typed: str, name: str, similarity: float) -> bool:
    """Whether a name only similar to what was typed is what was meant.

    Trigrams alone let short words match other short words ("evil" ~ "Eving"); a close trigram match
    or a few slips of the finger (one per four letters) is what a misspelt town name looks like.
    """
    return similarity >= 0.5 or _edit_distance(typed, name) <= max(1, len(typed) // 4)


def _scored(queryset: models.QuerySet, typed: list[str], exact_tier: int, *, latin: bool) -> models.QuerySet:
    """Names matching one of the ``typed`` folded spellings: the same, a prefix of it, sounding alike, similar.

    What was typed in another script only counts as the same name or as sounding alike: its Latin spelling
    is a guess, good for its consonants, not for trigrams.
    """
    folded = typed[0]
    sounds_alike = Q()
    for spelling in typed:
        sounds_alike |= Q(skeleton=Skeleton(Value(spelling)))
    matches = Q(name_folded__in=typed) | sounds_alike
    if latin:
        matches |= Q(name_folded__startswith=folded) | Q(similarity__gte=MIN_SIMILARITY)
    return (
        queryset.annotate(skeleton=Skeleton(F("name_folded")))
        .annotate(
            tier=Case(
                When(name_folded__in=typed, then=Value(exact_tier)),
                When(Q(name_folded__startswith=folded) if latin else Q(pk__in=[]), then=Value(PREFIX)),
                When(sounds_alike, then=Value(SOUNDS_ALIKE)),
                default=Value(SIMILAR),
            ),
            similarity=TrigramSimilarity("name_folded", folded),
            word_similarity=TrigramWordSimilarity(folded, "name_folded"),
        )
        .filter(matches)
        .order_by("-tier", "-similarity", "-word_similarity")
    )


def _candidates(typed: list[str], *, latin: bool) -> list[_Candidate]:
    folded = typed[0]
    gemeinden = _scored(with_point(_gemeinden()), typed, GEMEINDE_NAME, latin=latin)[:MAX_CHOICES]
    places = _scored(
        Place.objects.select_related("gemeinde__kreis").defer("gemeinde__geometry", "gemeinde__kreis__geometry"),
        typed,
        PLACE_NAME,
        latin=latin,
    )[:MAX_CHOICES]
    found = [_Candidate(g, _point_of(g), g.name, g.name_folded, g.tier, g.similarity) for g in gemeinden]
    for place in places:
        # "Mülheim (Köln)", but "Düsseldorf-Pempelfort" and, for the place Halle, "Halle (Westf.)".
        if place.gemeinde.name_folded.startswith(place.name_folded):
            label = place.gemeinde.name
        elif place.gemeinde.name_folded in place.name_folded:
            label = place.name
        else:
            label = f"{place.name} ({place.gemeinde.name})"
        found.append(
            _Candidate(
                place.gemeinde, place.point, label, place.name_folded, place.tier, place.similarity, place.population
            )
        )
    found = [c for c in found if _plausible(c, folded, latin=latin)]
    # Within a tier: closer names first, then the bigger place (Mülheim an der Ruhr before Köln-Mülheim).
    found.sort(key=lambda c: (-c.tier, -c.similarity, -c.population))
    return found


def _plausible(candidate: _Candidate, folded: str, *, latin: bool) -> bool:
    """Whether a candidate that is not the typed name itself is what was meant.

    Latin text sounding alike must also be a few slips of the finger away ("Kleev" is Kleve; "Vlt" is
    not Velbert); a short consonant skeleton says little.
    """
    if candidate.tier > SOUNDS_ALIKE:
        return True
    if candidate.tier == SOUNDS_ALIKE:
        return not latin or _edit_distance(folded, candidate.name_folded) <= max(1, len(folded) // 3)
    return _plausible_typo(folded, candidate.name_folded, candidate.similarity)


def _by_name(text: str, choose: str | None) -> PlaceResult:
    spellings = transliterations(text)
    latin = spellings == [text]
    typed = list(dict.fromkeys(fold_name(spelling) for spelling in spellings if fold_name(spelling)))
    if not typed:
        return _failed(PlaceError.MALFORMED)
    folded = typed[0]
    found = _candidates(typed, latin=latin)
    if not found or found[0].tier < PLACE_NAME:
        # "Kreis Kleve", "Rhein-Sieg-Kreis": a Kreis by its name, unless a town has that very name.
        kreis = next((k for k in _kreise() if folded in {fold_name(k.name), fold_name(k.display_name)}), None)
        if kreis is not None and kreis.is_kreisfrei and kreis.seat is not None:
            kreis.seat.kreis = kreis  # "Stadt Essen": the city itself, its only Gemeinde
            return _resolved(kreis.seat, _point_of(kreis), kreis.seat.name)
        if kreis is not None:
            return _kreis_result(kreis)
    if not found:
        return _failed(PlaceError.NOT_FOUND, text)
    best = found[0]
    equally_good = [
        c for c in found if c.tier == best.tier and (c.tier > SIMILAR or c.similarity >= best.similarity - 1e-6)
    ]
    if best.tier == SOUNDS_ALIKE:
        # Names with the same consonants ("زولينغن": Solingen, Schlangen): the one spelt closest to what
        # was typed, when one is closest; a tie is asked about.
        distance = {id(c): min(_edit_distance(spelling, c.name_folded) for spelling in typed) for c in equally_good}
        closest = min(distance.values())
        equally_good = [c for c in equally_good if distance[id(c)] == closest]
    # One candidate per Gemeinde: the first, i.e. the best named (a Gemeinde before a place in it).
    per_gemeinde: dict[str, _Candidate] = {}
    for candidate in equally_good:
        per_gemeinde.setdefault(candidate.gemeinde.ags, candidate)
    if choose in per_gemeinde:
        chosen = per_gemeinde[choose]
        return _resolved(chosen.gemeinde, chosen.point, chosen.label)
    if len(per_gemeinde) == 1:
        return _resolved(best.gemeinde, best.point, best.label)
    choices = [c.gemeinde for c in per_gemeinde.values()][:MAX_CHOICES]
    return PlaceResult(gemeinde=None, point=None, label=text, choices=choices, error=None)


def _by_text(raw: str, choose: str | None) -> PlaceResult:
    text = single_line(raw)
    if not text or len(text) > MAX_TEXT_LENGTH:
        return _failed(PlaceError.MALFORMED)
    postcode = _POSTCODE_IN_TEXT.search(text)
    if postcode:
        return _by_postcode(postcode[1], choose)
    if not any(ch.isalpha() for ch in text):
        return _failed(PlaceError.MALFORMED)
    return _by_name(text, choose)


def resolve_place(
    *,
    plz: str | None = None,
    ags: str | None = None,
    lat: str | None = None,
    lon: str | None = None,
    q: str | None = None,
    choose: str | None = None,
) -> PlaceResult:
    """Resolve what the visitor gave: a shared location first, then an AGS, a postcode, a typed text.

    ``choose`` (an 8-digit AGS) picks one of the ``choices`` an ambiguous postcode or name offered.
    With nothing given, the result is empty: no Gemeinde, no error.
    """
    if lat or lon:
        return _by_location(lat, lon)
    if ags:
        return _by_ags(ags)
    if plz:
        return _by_postcode(single_line(plz)[:MAX_TEXT_LENGTH], choose)
    if q:
        return _by_text(q, choose)
    return PlaceResult(gemeinde=None, point=None, label="", choices=[], error=None)
