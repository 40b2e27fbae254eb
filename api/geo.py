"""The GeoJSON the map draws (``/api/geo/``): services in a bounding box, and the Kreis boundaries.

The map page itself is :mod:`public.map`. The views have the HSDS API's etiquette (:func:`api.views.api_view`:
CORS, JSON errors naming the parameter, rate limit, caching); the ``need`` filter is the site's and the API's.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON, GeometryDistance, GeomOutputGeoFunc
from django.contrib.gis.geos import Polygon
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.gzip import gzip_page

from api.views import BadParameter, api_view
from directory.filters import ServiceFilters, unknown_terms
from directory.models import Kreis, PointAccuracy, Service, ServiceAtLocation
from directory.places import NRW_BBOX
from directory.translation import LANGUAGE_CODES, translate
from directory.validation import whole_number

DEFAULT_LIMIT = 500
MAX_LIMIT = 2000
# Degrees; ~150–220 m in NRW. Enough for outlines under markers, and 136 KB instead of 1.5 MB.
KREIS_SIMPLIFY_TOLERANCE = 0.002
COORDINATE_DECIMALS = 5  # ~1 m
KREIS_ATTRIBUTION = "© GeoBasis-DE / BKG (2016)"  # the licence's required credit (data/README.md)
APPROXIMATE = frozenset({PointAccuracy.POSTCODE, PointAccuracy.MUNICIPALITY})

GEOJSON = "application/geo+json"
COMPACT_JSON: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": False}


class SimplifyPreserveTopology(GeomOutputGeoFunc):
    function = "ST_SimplifyPreserveTopology"


def parse_bbox(raw: str) -> Polygon:
    """``minLon,minLat,maxLon,maxLat`` in WGS 84 as a polygon, or :class:`~api.views.BadParameter`."""
    parts = raw.split(",")
    if len(parts) != 4:
        raise BadParameter("bbox", "must be four comma-separated numbers: minLon,minLat,maxLon,maxLat")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in parts)
    except ValueError:
        raise BadParameter("bbox", "values must be numbers: minLon,minLat,maxLon,maxLat") from None
    if not all(math.isfinite(value) for value in (min_lon, min_lat, max_lon, max_lat)):
        raise BadParameter("bbox", "values must be finite numbers")
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise BadParameter("bbox", "longitudes must be between -180 and 180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise BadParameter("bbox", "latitudes must be between -90 and 90")
    if not (min_lon < max_lon and min_lat < max_lat):
        raise BadParameter("bbox", "minimum must be less than maximum (minLon < maxLon and minLat < maxLat)")
    polygon = Polygon.from_bbox((min_lon, min_lat, max_lon, max_lat))
    polygon.srid = 4326
    return polygon


def parse_limit(raw: str) -> int:
    limit = whole_number(raw, 1, MAX_LIMIT)
    if limit is None:
        raise BadParameter("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def parse_language(raw: str) -> str:
    if raw not in LANGUAGE_CODES:
        raise BadParameter("lang", f"must be one of {', '.join(LANGUAGE_CODES)}")
    return raw


def service_link_template(language: str) -> str:
    """The path of a service page in ``language`` with ``{id}`` for the service's UUID."""
    marker = "00000000-0000-0000-0000-000000000000"
    with translation.override(language):
        return reverse("service", kwargs={"service_id": marker}).replace(marker, "{id}")


@api_view
@gzip_page
def services_geojson(request: HttpRequest) -> HttpResponse:
    """Published services' places as a GeoJSON FeatureCollection: one feature per service at a place.

    ``bbox=minLon,minLat,maxLon,maxLat`` keeps those inside it, nearest to its centre first;
    ``need=<code>`` those meeting a need; ``lang`` names the language of names (fallback German,
    ``name_language`` says which it is); at most ``limit`` features (``"truncated": true`` if more).
    """
    params = request.GET
    language = parse_language(params.get("lang") or "de")
    limit = parse_limit(params.get("limit") or str(DEFAULT_LIMIT))
    bbox = parse_bbox(params["bbox"]) if params.get("bbox") else None
    need = params.get("need") or ""
    if need and unknown_terms({"need": need}):
        raise BadParameter("need", f"unknown need {need!r}")

    services = ServiceFilters(need=need or None).apply(Service.objects.published())
    places = ServiceAtLocation.objects.filter(
        service__in=services.values("pk"), location__location_type="physical", location__point__isnull=False
    )
    if bbox is not None:
        # `@`: the point's box is inside the bbox — answered by the GiST index, edges included.
        places = places.filter(location__point__contained=bbox)
    centre = bbox.centroid if bbox is not None else Polygon.from_bbox(NRW_BBOX).centroid
    centre.srid = 4326
    rows = places.order_by(GeometryDistance("location__point", centre), "pk").values_list(
        "pk",
        "service_id",
        "service__name",
        "service__service_type__code",
        "service__service_type__name",
        "location__point",
        "location__point_accuracy",
    )[: limit + 1]

    link = service_link_template(language)
    features = []
    for pk, service_id, name, type_code, type_name, point, accuracy in rows:
        assert point is not None  # filtered above
        translated = translate(name, language)
        features.append(
            {
                "type": "Feature",
                "id": str(pk),
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(point.x, COORDINATE_DECIMALS), round(point.y, COORDINATE_DECIMALS)],
                },
                "properties": {
                    "id": str(service_id),
                    "name": translated.text,
                    "name_language": translated.language,
                    "type": type_code,
                    "type_name": translate(type_name, language).text if type_code else None,
                    "link": link.format(id=service_id),
                    "approximate": accuracy in APPROXIMATE,
                },
            }
        )
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features[:limit]}
    if len(features) > limit:
        collection["truncated"] = True
    return JsonResponse(collection, content_type=GEOJSON, json_dumps_params=COMPACT_JSON)


@functools.cache
def kreise_feature_collection() -> bytes:
    """The 53 Kreis outlines, simplified in PostGIS; computed once per process (the geography is fixed)."""
    kreise = Kreis.objects.annotate(
        outline=AsGeoJSON(SimplifyPreserveTopology("geometry", KREIS_SIMPLIFY_TOLERANCE), precision=4)
    ).only("ags", "name", "bez")
    collection = {
        "type": "FeatureCollection",
        # A foreign member (RFC 7946 §6.1): the map shows it as the layer's credit.
        "attribution": KREIS_ATTRIBUTION,
        "features": [
            {
                "type": "Feature",
                "id": kreis.ags,
                "geometry": json.loads(kreis.outline),
                "properties": {"ags": kreis.ags, "name": kreis.display_name},
            }
            for kreis in kreise.order_by("ags")
        ],
    }
    return json.dumps(collection, **COMPACT_JSON).encode()


@api_view
@gzip_page
def kreise_geojson(request: HttpRequest) -> HttpResponse:
    """The Kreis boundaries the map draws, tiles or not (``ags``, ``name``); they change only with a release."""
    response = HttpResponse(kreise_feature_collection(), content_type=GEOJSON)
    response["Cache-Control"] = "public, max-age=86400"
    return response
