from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The HSDS 3.0 API, its OpenAPI description and the map's GeoJSON."""

    name = "api"
    verbose_name = "Wegweiser NRW open data API"
