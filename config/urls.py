from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from api import geo
from editorial import views as editorial_views
from public import map as public_map
from public import referral, views

admin.site.site_header = "Wegweiser NRW – Redaktion"
admin.site.site_title = "Wegweiser NRW"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # The admin signs in through the editorial sign-in: throttled, with the second factor.
    path("admin/login/", editorial_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("accounts/login/", editorial_views.login_view, name="login"),
    path("accounts/logout/", editorial_views.logout_view, name="logout"),
    path("manage/", include("editorial.urls")),
    path("api/hsds/", include("api.urls")),
    path("api/geo/services.geojson", geo.services_geojson, name="services-geojson"),
    path("api/geo/kreise.geojson", geo.kreise_geojson, name="kreise-geojson"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("", views.root, name="root"),
]

# The public site lives under /<lang>/ for each of the seven languages.
urlpatterns += i18n_patterns(
    path("", views.start, name="start"),
    path("responsible/", views.responsible, name="responsible"),
    path("search/", views.search, name="search"),
    path("services/<str:service_id>/", views.service_detail, name="service"),
    path("services/<str:service_id>/vcard/", views.service_vcard, name="service-vcard"),
    path("services/<str:service_id>/report/", views.report_problem, name="report-problem"),
    path("services/<str:service_id>/report/thanks/", views.report_thanks, name="report-thanks"),
    path("organizations/<str:organization_id>/", views.organization_detail, name="organization"),
    path("map/", public_map.map_view, name="map"),
    path("referral/", referral.referral, name="referral"),
    path("offline/", views.offline, name="offline"),
    path("privacy/", views.privacy, name="privacy"),
    prefix_default_language=True,
)

handler400 = "config.errors.bad_request"
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
