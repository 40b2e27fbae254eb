"""NRW geography: Regierungsbezirke, Kreise, Gemeinden, postcodes and named places (reference data)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.gis.db import models
from django.contrib.gis.geos import Point
from django.db.models import Q

from directory.validation import POSTCODE

if TYPE_CHECKING:
    pass


# --- Well-formed codes ---------------------------------------------------------------------------------

AGS_GEMEINDE = r"^[0-9]{8}$"
AGS_KREIS = r"^[0-9]{5}$"
AGS_REGIERUNGSBEZIRK = r"^[0-9]{3}$"
# POSTCODE and AGS_ANY_LEVEL (a service area's: the Land, a Regierungsbezirk, a Kreis or a Gemeinde) are
# directory.validation's, the one place of each format.


def ags_levels(ags: str) -> list[str]:
    """The AGS codes of every area that contains ``ags``, itself included, Land first.

    "05154036" (Gemeinde Kleve) → ["05", "051", "05154", "05154036"].
    """
    return [ags[:n] for n in (2, 3, 5, 8) if n <= len(ags)]


# --- Geography ------------------------------------------------------------------------------------------


class Regierungsbezirk(models.Model):
    ags = models.CharField(primary_key=True, max_length=3)
    name = models.CharField(max_length=100)
    geometry = models.MultiPolygonField(srid=4326)

    class Meta:
        ordering = ["ags"]
        verbose_name_plural = "Regierungsbezirke"
        constraints = [
            # Regierungsbezirk codes are the first three digits of an AGS.
            models.CheckConstraint(condition=Q(ags__regex=AGS_REGIERUNGSBEZIRK), name="regierungsbezirk_ags_format"),
        ]

    def __str__(self) -> str:
        return f"Regierungsbezirk {self.name}"


class GemeindeQuerySet(models.QuerySet["Gemeinde"]):
    def containing(self, point: Point) -> GemeindeQuerySet:
        # covers, not contains: a point on a boundary still belongs to a Gemeinde.
        return self.filter(geometry__covers=point)

    def named(self, name: str) -> GemeindeQuerySet:
        """Gemeinden whose name matches, ignoring case and the spelling of umlauts."""
        return self.filter(name_folded=fold_name(name))


def fold_name(name: str) -> str:
    """Case- and umlaut-insensitive form of a place name: "Münster", "MUENSTER" → "munster"."""
    text = " ".join(name.split()).casefold()
    for umlaut, plain in (("ä", "a"), ("ö", "o"), ("ü", "u"), ("ß", "ss"), ("ae", "a"), ("oe", "o"), ("ue", "u")):
        text = text.replace(umlaut, plain)
    return text


class Kreis(models.Model):
    """A Kreis or kreisfreie Stadt (the level at which KI, KIM, Jobcenter and Ausländerbehörde sit)."""

    ags = models.CharField(primary_key=True, max_length=5)
    name = models.CharField(max_length=100)
    bez = models.CharField("type", max_length=50, help_text="Kreis, Kreisfreie Stadt, …")
    regierungsbezirk = models.ForeignKey(Regierungsbezirk, on_delete=models.PROTECT, related_name="kreise")
    population = models.PositiveIntegerField(null=True, blank=True)
    seat = models.ForeignKey(
        "Gemeinde", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Kreisstadt"
    )
    geometry = models.MultiPolygonField(srid=4326)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "Kreise"
        constraints = [
            # A Kreis code extends its Regierungsbezirk's code by two digits.
            models.CheckConstraint(condition=Q(ags__regex=AGS_KREIS), name="kreis_ags_format"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_kreisfrei(self) -> bool:
        return "kreisfrei" in self.bez.lower()

    @property
    def display_name(self) -> str:
        if self.is_kreisfrei:
            return f"Stadt {self.name}"
        if any(word in self.name for word in ("Kreis", "kreis", "Städteregion")):
            return self.name
        return f"{self.bez} {self.name}"


class Gemeinde(models.Model):
    ags = models.CharField(primary_key=True, max_length=8)
    name = models.CharField(max_length=100)
    name_folded = models.CharField(max_length=100, db_index=True, editable=False)
    bez = models.CharField("type", max_length=50, help_text="Stadt, Gemeinde, …")
    kreis = models.ForeignKey(Kreis, on_delete=models.PROTECT, related_name="gemeinden")
    geometry = models.MultiPolygonField(srid=4326)

    objects = GemeindeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "Gemeinden"
        constraints = [
            models.CheckConstraint(condition=Q(ags__regex=AGS_GEMEINDE), name="gemeinde_ags_format"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ags})"


class Postcode(models.Model):
    """A postcode with its centroid and every Gemeinde it reaches into."""

    code = models.CharField(primary_key=True, max_length=5)
    centroid = models.PointField(srid=4326, null=True, blank=True)
    places = models.CharField(max_length=300, blank=True, help_text="Place names, separated by ';'")
    gemeinden: models.ManyToManyField[Gemeinde, PostcodeGemeinde] = models.ManyToManyField(
        Gemeinde, through="PostcodeGemeinde", related_name="postcodes"
    )

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(code__regex=POSTCODE), name="postcode_format")]

    def __str__(self) -> str:
        return self.code


class PostcodeGemeinde(models.Model):
    postcode = models.ForeignKey(Postcode, on_delete=models.CASCADE, related_name="memberships")
    gemeinde = models.ForeignKey(Gemeinde, on_delete=models.CASCADE, related_name="+")
    # The Gemeinde holding the centroid comes first; the others share the postcode by place name.
    rank = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["postcode", "rank"]
        constraints = [models.UniqueConstraint(fields=["postcode", "gemeinde"], name="postcode_gemeinde_once")]


class Place(models.Model):
    """A named town or village (GeoNames), so a visitor can type a place that is not a Gemeinde name."""

    name = models.CharField(max_length=200)
    name_folded = models.CharField(max_length=200, db_index=True)
    point = models.PointField(srid=4326)
    population = models.PositiveIntegerField(default=0)
    gemeinde = models.ForeignKey(Gemeinde, on_delete=models.CASCADE, related_name="places")

    class Meta:
        ordering = ["name", "-population"]

    def __str__(self) -> str:
        return self.name
