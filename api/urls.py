"""HSDS 3.0 API routes, mounted at /api/hsds/ (paths as in the HSDS OpenAPI description: no trailing slash)."""

from django.urls import URLPattern, path, re_path

from api import openapi
from api import views as api_views

urlpatterns: list[URLPattern] = [
    path("", api_views.root, name="hsds-root"),
    path("profile", api_views.profile, name="hsds-profile"),
    path("openapi.json", openapi.serve, name="hsds-openapi"),
    path("services", api_views.services, name="hsds-services"),
    path("services/<str:service_id>", api_views.service, name="hsds-service"),
    path("organizations", api_views.organizations, name="hsds-organizations"),
    path("organizations/<str:organization_id>", api_views.organization, name="hsds-organization"),
    path("service_at_locations", api_views.service_at_locations, name="hsds-service-at-locations"),
    path(
        "service_at_locations/<str:service_at_location_id>",
        api_views.service_at_location,
        name="hsds-service-at-location",
    ),
    path("taxonomies", api_views.taxonomies, name="hsds-taxonomies"),
    path("taxonomies/<str:taxonomy_id>", api_views.taxonomy, name="hsds-taxonomy"),
    path("taxonomy_terms", api_views.taxonomy_terms, name="hsds-taxonomy-terms"),
    path("taxonomy_terms/<str:taxonomy_term_id>", api_views.taxonomy_term, name="hsds-taxonomy-term"),
    # Anything else under /api/hsds/ answers a JSON 404, not the site's HTML page.
    re_path(r"^(?P<path>.+)$", api_views.not_found, name="hsds-not-found"),
]
