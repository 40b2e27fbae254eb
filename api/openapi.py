"""The OpenAPI 3.1 description of the whole API, served at /api/hsds/openapi.json.

It extends the official HSDS 3.0 API description (Open Referral, CC BY-SA 4.0) with the Wegweiser NRW
profile's parameters and fields (docs/api.md) and with the map's GeoJSON endpoints under /api/geo/.
Limits and codes come from the code that enforces them, so the description cannot drift from it.
HSDS object schemas are referenced by their official URLs, as the HSDS description does.
"""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from api import geo as geo_views
from api import views as api_views
from directory import hsds
from directory.filters import MAX_AGE
from directory.models import AGS_ANY_LEVEL, ISO_639, ServiceStatus, VerificationState
from directory.places import NRW_BBOX
from directory.translation import FALLBACK_LANGUAGE, LANGUAGE_CODES

JSON = dict[str, Any]

HSDS_SCHEMAS = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
HSDS_LICENCE = "https://creativecommons.org/licenses/by-sa/4.0/"


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/{name}"}


def hsds_schema(path: str) -> JSON:
    return {"$ref": HSDS_SCHEMAS + path}


def query(name: str, description: str, schema: JSON, **extra: Any) -> JSON:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def path_id(kind: str) -> JSON:
    return {
        "in": "path",
        "name": "id",
        "required": True,
        "description": f"The id (a UUID) of the {kind}. An unknown or malformed id answers 404.",
        "schema": {"type": "string"},
    }


PARAMETERS: JSON = {
    # --- HSDS 3.0 --------------------------------------------------------------------------------------------
    "search": query(
        "search",
        "Full text search. Services: German full-text search (stemmed) with typo tolerance over everything a "
        "service says in all languages. Others: substring of name or description.",
        {"type": "string", "maxLength": api_views.MAX_SEARCH_LENGTH},
    ),
    "page": query(
        "page", "Page number of paginated result (1-based).", {"type": "integer", "minimum": 1, "default": 1}
    ),
    "per_page": query(
        "per_page",
        "Number of results requested in a single page.",
        {"type": "integer", "minimum": 1, "maximum": api_views.MAX_PER_PAGE, "default": api_views.DEFAULT_PER_PAGE},
    ),
    "format": query(
        "format",
        "Return results in the specified format. `ndjson` streams all results without pagination, one JSON "
        "object per line (application/x-ndjson); page and per_page are then ignored.",
        {"type": "string", "enum": ["json", "ndjson"], "default": "json"},
    ),
    "minimal": query(
        "minimal",
        "Return services with only id, name, status and last_modified (name and status because the HSDS list "
        "schema requires them).",
        {"type": "boolean", "default": False},
    ),
    "full": query(
        "full",
        "Return fully nested records (as the /{id} endpoint does) in the list.",
        {"type": "boolean", "default": False},
    ),
    "modified_after": query(
        "modified_after",
        "Return results modified on or after this date-time (ISO 8601; without an offset it is Europe/Berlin "
        "time; a date alone means its midnight). A result counts as modified when it or a record its list "
        "item embeds (a service's organization and program; a service_at_location's service and location) was.",
        {"type": "string", "format": "date-time"},
    ),
    "taxonomy_term_id": query(
        "taxonomy_term_id",
        "Services with this taxonomy term (as an attribute or as their service type).",
        {"type": "string", "format": "uuid"},
    ),
    "taxonomy_id": query(
        "taxonomy_id", "Services with any term of this taxonomy.", {"type": "string", "format": "uuid"}
    ),
    "organization_id": query(
        "organization_id", "Services this organization provides.", {"type": "string", "format": "uuid"}
    ),
    "jobcenter_form": query(
        "jobcenter_form",
        "Profile: Jobcenters run this way (gemeinsame-einrichtung or zugelassener-kommunaler-traeger).",
        {"type": "string", "enum": ["gemeinsame-einrichtung", "zugelassener-kommunaler-traeger"]},
    ),
    "full_service": query(
        "full_service",
        "With the organization, return its services fully nested (else only their own fields).",
        {"type": "boolean", "default": False},
    ),
    "postcode": query(
        "postcode",
        "A postcode of North Rhine-Westphalia: only services whose service area covers it (a postcode spanning "
        "several Gemeinden: any of them), nearest to its centroid first, each with `distance`. With "
        "`proximity`, only those within that many metres of the centroid.",
        {"type": "string", "pattern": "^[0-9]{5}$"},
    ),
    "proximity": query(
        "proximity",
        "Metres from the point (the postcode's centroid, or lat/lon): only results with a location within it.",
        {"type": "integer", "minimum": 1, "maximum": api_views.MAX_RADIUS_METRES},
    ),
    "top_only": query(
        "top_only", "Only terms without a parent (top-level terms).", {"type": "boolean", "default": False}
    ),
    "parent_id": query("parent_id", "Terms whose parent has this id.", {"type": "string", "format": "uuid"}),
    # --- Wegweiser NRW profile -------------------------------------------------------------------------------
    "lang": query(
        "lang",
        "Content language of translated text. Where a text is missing in it, the German text (else any) is "
        "given and the object's `language_fallback` names the field and the language served.",
        {"type": "string", "enum": list(LANGUAGE_CODES), "default": FALLBACK_LANGUAGE},
    ),
    "ags": query(
        "ags",
        "Amtlicher Gemeindeschlüssel of a Gemeinde (8 digits), Kreis (5), Regierungsbezirk (3) or the Land (05): "
        "only services responsible for it (their service areas cover it and none excludes it).",
        {"type": "string", "pattern": AGS_ANY_LEVEL},
        example="05113000",
    ),
    "lat": query(
        "lat",
        "Latitude (WGS 84) of a point: results nearest first, each with `distance` in metres. Needs lon.",
        {"type": "number", "minimum": -90, "maximum": 90},
    ),
    "lon": query(
        "lon", "Longitude (WGS 84) of the point; needs lat.", {"type": "number", "minimum": -180, "maximum": 180}
    ),
    "radius": query(
        "radius",
        "Metres around lat/lon (or the postcode's centroid): only results with a location within it. Same as "
        "`proximity`; give one of them.",
        {"type": "integer", "minimum": 1, "maximum": api_views.MAX_RADIUS_METRES},
    ),
    "eligibility": query(
        "eligibility",
        "A residence-status term code (taxonomy `residence-status`, e.g. `duldung`): services open to people "
        "with it: those naming it as eligibility, and those naming no residence status (open to everyone). "
        "An unknown code answers 400.",
        {"type": "string"},
    ),
    "target_group": query(
        "target_group",
        "A target-group term code (taxonomy `target-group`): services meant for that group. An unknown code "
        "answers 400.",
        {"type": "string"},
    ),
    "need": query(
        "need",
        "A need term code (taxonomy `need`): services helping with it. An unknown code answers 400.",
        {"type": "string"},
    ),
    "language": query(
        "language",
        "An ISO 639 language code (e.g. `ar`): services offered in it, by the service itself or at one of its "
        "places (as the site's search). Not `lang`, the language of the answer.",
        {"type": "string", "pattern": ISO_639},
    ),
    "age": query(
        "age",
        "An age in years: services whose age range (minimum_age, maximum_age) admits it.",
        {"type": "integer", "minimum": 0, "maximum": MAX_AGE},
    ),
    "free": query("free", "`true`: services with a cost option of amount 0.", {"type": "boolean", "default": False}),
    "walk_in": query(
        "walk_in",
        "`true`: services with walk-in hours (on the service, one of its places or a service_at_location).",
        {"type": "boolean", "default": False},
    ),
    "barrier_free": query(
        "barrier_free",
        "`true`: services with accessibility information at one of their places.",
        {"type": "boolean", "default": False},
    ),
}


def params(*names: str) -> list[JSON]:
    return [ref(f"parameters/{name}") for name in names]


PROFILE_FIELDS: JSON = {
    "language_fallback": ref("schemas/LanguageFallback"),
    "provenance": ref("schemas/Provenance"),
    "distance": {
        "type": ["integer", "null"],
        "description": "Profile: metres from the requested point to the nearest physical location (null: none).",
    },
}


def with_profile(schema: JSON, *fields: str) -> JSON:
    return {"allOf": [schema], "properties": {name: PROFILE_FIELDS[name] for name in fields}}


SCHEMAS: JSON = {
    "Page": {
        "type": "object",
        "required": ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty"],
        "properties": {
            "total_items": {"type": "integer", "description": "The total number of entities returned"},
            "total_pages": {"type": "integer", "description": "Count of total pages (at least 1)."},
            "page_number": {"type": "integer", "description": "The number of the current page"},
            "size": {"type": "integer", "description": "The number of entities in the current page."},
            "first_page": {"type": "boolean", "description": "Whether this is the first page"},
            "last_page": {"type": "boolean", "description": "Whether this is the last page"},
            "empty": {"type": "boolean", "description": "Whether this page has no entities"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "What went wrong, naming the parameter if one did."},
            "parameter": {"type": "string", "description": "The query parameter that was not accepted."},
            "retry_after": {
                "type": "integer",
                "minimum": 1,
                "description": "With 429: seconds until the client may ask again (the same as Retry-After).",
            },
        },
    },
    "LanguageFallback": {
        "type": "object",
        "description": "Profile: the fields of this object whose text is not in the requested language, each "
        "with the language it is given in. Absent when every text is in the requested language.",
        "additionalProperties": {"type": "string", "enum": list(LANGUAGE_CODES)},
    },
    "Provenance": {
        "type": "object",
        "description": "Profile: where the record's facts come from and whether someone has verified them.",
        "required": ["verification_state"],
        "properties": {
            "verification_state": {"type": "string", "enum": list(VerificationState.values)},
            "last_verified_at": {"type": "string", "format": "date-time"},
            "source": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "title": {"type": "string"},
                    "publisher": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                    "document": {"type": "string", "description": "Citation or path of the source document"},
                    "date": {"type": "string", "format": "date"},
                    "year": {"type": "integer"},
                },
            },
        },
    },
    "ServiceListItem": with_profile(
        hsds_schema("compiled/service_list.json"), "language_fallback", "provenance", "distance"
    ),
    "Service": with_profile(hsds_schema("compiled/service.json"), "language_fallback", "provenance", "distance"),
    "OrganizationListItem": with_profile(
        hsds_schema("compiled/organization_list.json"), "language_fallback", "provenance"
    ),
    "Organization": with_profile(hsds_schema("compiled/organization.json"), "language_fallback", "provenance"),
    "ServiceAtLocationListItem": with_profile(hsds_schema("compiled/service_at_location_list.json"), "distance"),
    "ServiceAtLocation": with_profile(hsds_schema("compiled/service_at_location.json"), "distance"),
    "Taxonomy": with_profile(hsds_schema("taxonomy.json"), "language_fallback"),
    "TaxonomyTerm": with_profile(hsds_schema("taxonomy_term.json"), "language_fallback"),
    "ServiceFeatureCollection": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "truncated": {"const": True, "description": "Present when more features matched than `limit`."},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "id", "geometry", "properties"],
                    "properties": {
                        "type": {"const": "Feature"},
                        "id": {"type": "string", "format": "uuid", "description": "The service_at_location id"},
                        "geometry": {
                            "type": "object",
                            "required": ["type", "coordinates"],
                            "properties": {
                                "type": {"const": "Point"},
                                "coordinates": {
                                    "type": "array",
                                    "prefixItems": [
                                        {"type": "number", "minimum": -180, "maximum": 180},
                                        {"type": "number", "minimum": -90, "maximum": 90},
                                    ],
                                    "minItems": 2,
                                    "maxItems": 2,
                                },
                            },
                        },
                        "properties": {
                            "type": "object",
                            "required": ["id", "name", "name_language", "type", "type_name", "link", "approximate"],
                            "properties": {
                                "id": {"type": "string", "format": "uuid", "description": "The service id"},
                                "name": {"type": "string"},
                                "name_language": {"type": "string", "enum": list(LANGUAGE_CODES)},
                                "type": {"type": ["string", "null"], "description": "service-type term code"},
                                "type_name": {"type": ["string", "null"]},
                                "link": {"type": "string", "description": "Path of the service's page"},
                                "approximate": {
                                    "type": "boolean",
                                    "description": "The point is a postcode or Gemeinde centre, not the address.",
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "KreisFeatureCollection": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "attribution": {"type": "string"},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "id", "geometry", "properties"],
                    "properties": {
                        "type": {"const": "Feature"},
                        "id": {"type": "string", "pattern": "^[0-9]{5}$"},
                        "geometry": {
                            "type": "object",
                            "required": ["type", "coordinates"],
                            "properties": {"type": {"enum": ["Polygon", "MultiPolygon"]}},
                        },
                        "properties": {
                            "type": "object",
                            "required": ["ags", "name"],
                            "properties": {"ags": {"type": "string"}, "name": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}

HEADERS: JSON = {
    "ETag": {"description": "Validator of this response; send it back as If-None-Match.", "schema": {"type": "string"}},
    "Last-Modified": {
        "description": "When the newest record in the response last changed.",
        "schema": {"type": "string"},
    },
    "Access-Control-Allow-Origin": {"description": "Always `*`: read from any web page.", "schema": {"const": "*"}},
    "Retry-After": {"description": "Seconds until the client may ask again.", "schema": {"type": "integer"}},
}

CACHE_HEADERS = {name: ref(f"headers/{name}") for name in ("ETag", "Last-Modified", "Access-Control-Allow-Origin")}


def error(description: str) -> JSON:
    return {
        "description": description,
        "headers": {"Access-Control-Allow-Origin": ref("headers/Access-Control-Allow-Origin")},
        "content": {"application/json": {"schema": ref("schemas/Error")}},
    }


RESPONSES: JSON = {
    "NotModified": {
        "description": "The client's copy (If-None-Match, else If-Modified-Since) is current.",
        "headers": CACHE_HEADERS,
    },
    "BadRequest": error("A query parameter was not accepted; `parameter` names it."),
    "NotFound": error("No record with that id (or the id is no UUID)."),
    "TooManyRequests": {
        **error("Too many requests from this client in the current minute."),
        "headers": {
            "Retry-After": ref("headers/Retry-After"),
            "Access-Control-Allow-Origin": ref("headers/Access-Control-Allow-Origin"),
        },
    },
}


def ok(description: str, schema: JSON, media_type: str = "application/json", more: JSON | None = None) -> JSON:
    """A 200 response: ``schema`` for ``media_type``, and ``more`` media types with their schemas."""
    content = {media_type: {"schema": schema}, **{kind: {"schema": s} for kind, s in (more or {}).items()}}
    return {"description": description, "headers": CACHE_HEADERS, "content": content}


def operation(operation_id: str, summary: str, response: JSON, parameters: list[JSON], *, detail: bool) -> JSON:
    responses: JSON = {"200": response, "304": ref("responses/NotModified")}
    if parameters:
        responses["400"] = ref("responses/BadRequest")
    if detail:
        responses["404"] = ref("responses/NotFound")
    responses["429"] = ref("responses/TooManyRequests")
    return {"get": {"operationId": operation_id, "summary": summary, "parameters": parameters, "responses": responses}}


def page_of(items: JSON) -> JSON:
    return {
        "allOf": [ref("schemas/Page")],
        "required": ["contents"],
        "properties": {"contents": {"type": "array", "items": items}},
    }


def listing(operation_id: str, summary: str, items: JSON, parameters: list[JSON]) -> JSON:
    response = ok(
        f"{summary}. With format=ndjson: every result, one object per line (each line matches the item schema).",
        page_of(items),
        more={api_views.NDJSON: items},
    )
    return operation(operation_id, summary, response, parameters, detail=False)


def detail(operation_id: str, kind: str, schema: JSON, parameters: list[JSON]) -> JSON:
    item = operation(operation_id, f"One {kind}, fully nested.", ok(f"The {kind}.", schema), parameters, detail=True)
    return {"parameters": [path_id(kind)], **item}


SERVICE_FILTERS = (
    "taxonomy_term_id",
    "taxonomy_id",
    "organization_id",
    "jobcenter_form",
    "modified_after",
    "postcode",
    "proximity",
    "ags",
    "lat",
    "lon",
    "radius",
    "eligibility",
    "target_group",
    "need",
    "language",
    "age",
    "free",
    "walk_in",
    "barrier_free",
)
PAGING = ("page", "per_page", "format", "lang")


def paths() -> JSON:
    services_items = {"anyOf": [ref("schemas/ServiceListItem"), ref("schemas/Service")]}
    places_items = {"anyOf": [ref("schemas/ServiceAtLocationListItem"), ref("schemas/ServiceAtLocation")]}
    organizations_items = {"anyOf": [ref("schemas/OrganizationListItem"), ref("schemas/Organization")]}
    root_schema = {
        "type": "object",
        "required": ["version", "profile", "openapi_url"],
        "properties": {
            "version": {"type": "string", "description": "HSDS version of this API.", "const": hsds.HSDS_VERSION},
            "profile": {"type": "string", "format": "uri", "description": "URL of the profile (docs/api.md)."},
            "openapi_url": {"type": "string", "format": "uri", "description": "URL of this document."},
            "title": {"type": "string"},
            "languages": {"type": "array", "items": {"type": "string", "enum": list(LANGUAGE_CODES)}},
            "default_language": {"type": "string"},
            "timezone": {"type": "string", "description": "The zone of all opening hours (IANA name)."},
        },
    }
    geo_server = [{"url": "/api/geo", "description": "The map's GeoJSON endpoints (not HSDS)."}]
    return {
        "/": operation(
            "getAPIMetaInformation",
            "Information about this API and its relationship with HSDS.",
            ok("Version, profile and OpenAPI URLs.", root_schema),
            [],
            detail=False,
        ),
        "/profile": operation(
            "getProfile",
            "The Wegweiser NRW profile of HSDS 3.0 (Markdown).",
            ok("The profile document.", {"type": "string"}, "text/markdown"),
            [],
            detail=False,
        ),
        "/openapi.json": operation(
            "getOpenAPI",
            "This OpenAPI document.",
            ok("OpenAPI 3.1.", {"type": "object", "required": ["openapi", "info", "paths"]}),
            [],
            detail=False,
        ),
        "/services": listing(
            "getPaginatedListOfServices",
            "Paginated list of services (their one-to-one fields), by id or nearest first",
            services_items,
            params("search", *PAGING, *SERVICE_FILTERS, "minimal", "full"),
        ),
        "/services/{id}": detail("getFullyNestedServiceById", "service", ref("schemas/Service"), params("lang")),
        "/organizations": listing(
            "getPaginatedListOfOrganizations",
            "Paginated list of organizations (their one-to-one fields), by id",
            organizations_items,
            params("search", *PAGING, "full", "full_service"),
        ),
        "/organizations/{id}": detail(
            "getOrganizationById", "organization", ref("schemas/Organization"), params("full_service", "lang")
        ),
        "/service_at_locations": listing(
            "getPaginatedListOfServiceAtLocation",
            "Paginated list of services at locations (one-to-one fields), by id or nearest first",
            places_items,
            params("search", *PAGING, *SERVICE_FILTERS, "full"),
        ),
        "/service_at_locations/{id}": detail(
            "getServiceAtLocationWithNestedDataById",
            "service_at_location",
            ref("schemas/ServiceAtLocation"),
            params("lang"),
        ),
        "/taxonomies": listing(
            "getPaginatedListOfTaxonomies",
            "Paginated list of taxonomies, by id",
            ref("schemas/Taxonomy"),
            params("search", *PAGING),
        ),
        "/taxonomies/{id}": detail("getTaxonomyById", "taxonomy", ref("schemas/Taxonomy"), params("lang")),
        "/taxonomy_terms": listing(
            "getPaginatedListOfTaxonomyTerms",
            "Paginated list of taxonomy terms, by id",
            ref("schemas/TaxonomyTerm"),
            params("search", *PAGING, "taxonomy_id", "top_only", "parent_id"),
        ),
        "/taxonomy_terms/{id}": detail(
            "getTaxonomyTermById", "taxonomy_term", ref("schemas/TaxonomyTerm"), params("lang")
        ),
        "/services.geojson": {
            "servers": geo_server,
            "get": {
                "operationId": "getServicesGeoJSON",
                "summary": "Published services' places for the map: one point feature per service at a location.",
                "description": "Not HSDS. Nearest to the bbox's centre (else the centre of NRW) first; at most "
                "`limit` features, `truncated` when more matched. Physical locations with a point only.",
                "parameters": [
                    query(
                        "bbox",
                        "minLon,minLat,maxLon,maxLat (WGS 84): only places inside it.",
                        {"type": "string"},
                        example=",".join(str(value) for value in NRW_BBOX),
                    ),
                    query("need", "A need term code: only services meeting it. Unknown: 400.", {"type": "string"}),
                    query(
                        "lang",
                        "Language of names (fallback German; `name_language` says which).",
                        {"type": "string", "enum": list(LANGUAGE_CODES), "default": FALLBACK_LANGUAGE},
                    ),
                    query(
                        "limit",
                        "Most features to return.",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": geo_views.MAX_LIMIT,
                            "default": geo_views.DEFAULT_LIMIT,
                        },
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "A GeoJSON FeatureCollection.",
                        "content": {"application/geo+json": {"schema": ref("schemas/ServiceFeatureCollection")}},
                    },
                    "400": error("A malformed bbox, unknown need, unknown lang or a limit out of range."),
                },
            },
        },
        "/kreise.geojson": {
            "servers": geo_server,
            "get": {
                "operationId": "getKreiseGeoJSON",
                "summary": "The boundaries of the 53 Kreise and kreisfreie Städte (simplified), for the map.",
                "parameters": [],
                "responses": {
                    "200": {
                        "description": "A GeoJSON FeatureCollection with the credit the licence requires.",
                        "content": {"application/geo+json": {"schema": ref("schemas/KreisFeatureCollection")}},
                    }
                },
            },
        },
    }


DESCRIPTION = f"""\
The Wegweiser NRW directory of integration services in North Rhine-Westphalia as an
[Open Referral HSDS 3.0](https://openreferral.org/) API, with the Wegweiser NRW profile (see `/profile`).

- Reading needs no key. Every response allows any origin (CORS); OPTIONS preflights are answered.
- Responses carry ETag and Last-Modified; If-None-Match / If-Modified-Since get 304.
- A per-client rate limit answers 429 with Retry-After.
- Lists are ordered by id (or nearest first, when a point is given), so paging neither skips nor repeats.
- Translated text is given in `lang` ({", ".join(LANGUAGE_CODES)}; default {FALLBACK_LANGUAGE}), falling back to
  German; `language_fallback` marks where it did.
- Opening hours are local times in {hsds.TIMEZONE} (schedule field `tzid`).
- Service status values: {", ".join(ServiceStatus.values)}.

Derived from the HSDS 3.0 API description by Open Referral (https://openreferral.org/), licensed CC BY-SA 4.0.
"""


@functools.cache
def openapi_document() -> JSON:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Wegweiser NRW – HSDS 3.0 API",
            "version": "1.0.0",
            "summary": "Integration services in North Rhine-Westphalia, as Open Referral HSDS 3.0.",
            "description": DESCRIPTION,
            "license": {"name": "CC BY-SA 4.0 (this API description)", "url": HSDS_LICENCE},
        },
        "servers": [{"url": "/api/hsds", "description": "This site"}],
        "security": [],
        "paths": paths(),
        "components": {"schemas": SCHEMAS, "parameters": PARAMETERS, "responses": RESPONSES, "headers": HEADERS},
    }


@api_views.api_view
def serve(request: HttpRequest) -> HttpResponseBase:
    return api_views.json_response(openapi_document())
