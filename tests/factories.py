"""Small factories for the catalogue records a behaviour test needs, so it tests code on data it builds.

The test database holds the NRW geography and the taxonomies (reference data), and also the shipped
catalogue, which only `tests/test_catalogue_data.py` may assert on. A behaviour test builds its offices
here under names no real office has ("Quellberatung …"), so that catalogue work cannot change what it
sees. Every function takes keyword arguments with sensible defaults and returns the saved record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.gis.geos import Point

from directory.models import (
    AttendingType,
    Attribute,
    Gemeinde,
    Language,
    Location,
    Organization,
    Phone,
    PointAccuracy,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.places import representative_point
from directory.services import refresh_search_text

# AGS of Gemeinden the tests place their offices in (reference data: the geography is always loaded).
ESSEN = "05113000"
KLEVE = "05154036"  # the town, seat of Kreis Kleve (05154)
MUENSTER = "05515000"


def term(taxonomy: str, code: str) -> TaxonomyTerm:
    """A term of the loaded taxonomies (reference data, as the geography is)."""
    return TaxonomyTerm.objects.get(taxonomy__key=taxonomy, code=code)


def point_in(ags: str) -> Point:
    """The point that stands for a Gemeinde: where an office known only by its town is placed."""
    return representative_point(Gemeinde.objects.get(pk=ags))


def organization(*, name: str = "Quellberatung e. V.", **fields: Any) -> Organization:
    return Organization.objects.create(name={"de": name, **fields.pop("names", {})}, **fields)


def service(
    *,
    name: str = "Quellberatung",
    organization: Organization | None = None,
    service_type: str | None = None,
    needs: Iterable[str] = (),
    terms: Iterable[tuple[str, str]] = (),
    areas: Iterable[str] = (),
    names: dict[str, str] | None = None,
    **fields: Any,
) -> Service:
    """A service with its need terms, other terms ``(taxonomy, code)`` and service areas (AGS), search-ready.

    Its search text is built as the loader and the staff forms build it, so the search finds it at once.
    """
    owner = organization or Organization.objects.create(name={"de": f"Träger von {name}"})
    record = Service.objects.create(
        organization=owner,
        name={"de": name, **(names or {})},
        service_type=term("service-type", service_type) if service_type else None,
        **fields,
    )
    for code in needs:
        attribute(record, "need", code)
    for taxonomy, code in terms:
        attribute(record, taxonomy, code)
    for ags in areas:
        service_area(record, ags)
    refresh_search_text([record.id])
    return record


def attribute(record: Service, taxonomy: str, code: str) -> Attribute:
    return Attribute.objects.create(service=record, taxonomy_term=term(taxonomy, code))


def service_area(record: Service, ags: str, *, excludes: bool = False) -> ServiceArea:
    return ServiceArea.objects.create(service=record, ags=ags, excludes=excludes)


def location(
    *,
    name: str = "Quellhaus",
    organization: Organization | None = None,
    ags: str = ESSEN,
    point: Point | None = None,
    point_accuracy: str = PointAccuracy.EXACT,
    street: str = "",
    postcode: str = "",
    **fields: Any,
) -> Location:
    """A physical place in the Gemeinde ``ags`` (at its representative point unless ``point`` is given);
    with ``street`` it gets the street address the pages and the slip show."""
    gemeinde = Gemeinde.objects.get(pk=ags)
    place = Location.objects.create(
        organization=organization,
        name={"de": name},
        point=point or representative_point(gemeinde),
        point_accuracy=point_accuracy,
        gemeinde=gemeinde,
        **fields,
    )
    if street:
        place.addresses.create(address_1=street, postal_code=postcode, city=gemeinde.name)
    return place


def at(record: Service, place: Location, **fields: Any) -> ServiceAtLocation:
    """Offer the service at the place."""
    offered = ServiceAtLocation.objects.create(service=record, location=place, **fields)
    refresh_search_text([record.pk])  # the place's languages, hours and accessibility are now the service's facts
    return offered


def office(
    *,
    name: str = "Quellberatung",
    ags: str = ESSEN,
    street: str = "",
    postcode: str = "",
    point: Point | None = None,
    point_accuracy: str = PointAccuracy.EXACT,
    **fields: Any,
) -> Service:
    """A service offered at one place of its organisation in the Gemeinde ``ags``: the common case."""
    record = service(name=name, **fields)
    place = location(
        name=name,
        organization=record.organization,
        ags=ags,
        street=street,
        postcode=postcode,
        point=point,
        point_accuracy=point_accuracy,
    )
    at(record, place)
    return record


def phone(*, number: str = "0201 123456", **owner: Any) -> Phone:
    """A phone of a service, location, organisation or service-at-location (``service=…`` and so on)."""
    return Phone.objects.create(number=number, **owner)


def language(*, code: str = "ar", **owner: Any) -> Language:
    """A language spoken at a service, location or phone (``service=…`` and so on)."""
    spoken = Language.objects.create(code=code, **owner)
    refresh_facts_of(**owner)
    return spoken


def schedule(
    *,
    byday: str = "MO,TU,WE,TH,FR",
    opens_at: str | dt.time = "09:00",
    closes_at: str | dt.time = "12:00",
    attending_type: str = AttendingType.WALK_IN,
    **owner: Any,
) -> Schedule:
    """Weekly opening hours of a service, location or service-at-location (``location=…`` and so on)."""
    slot = Schedule.objects.create(
        byday=byday, opens_at=opens_at, closes_at=closes_at, attending_type=attending_type, **owner
    )
    refresh_facts_of(**owner)
    return slot


def refresh_facts_of(**owner: Any) -> None:
    """Refresh the stored facts (and search text) of the services a record of ``owner`` belongs to (a service,
    a place, a service-at-location; a phone's own records count for no service), as the staff forms do."""
    if owner.get("service") is not None:
        ids = [owner["service"].pk]
    elif owner.get("location") is not None:
        ids = list(ServiceAtLocation.objects.filter(location=owner["location"]).values_list("service_id", flat=True))
    elif owner.get("service_at_location") is not None:
        ids = [owner["service_at_location"].service_id]
    else:
        return
    refresh_search_text(ids)
