"""The map page: a list of the Kreise that works without JavaScript, and the map once the visitor opens it.

Leaflet is loaded only when a visitor asks for the map (``public/static/public/map.js``), drawing the GeoJSON
of :mod:`api.geo`. Map tiles come from ``settings.MAP_TILE_URL``; left empty, nothing is fetched from another
host and the map shows the Kreis boundaries served here instead.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models.functions import Collate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from directory.models import Kreis, TaxonomyTerm
from directory.places import NRW_BBOX
from directory.translation import translate


def tile_settings() -> dict[str, str]:
    return {
        "map_tile_url": getattr(settings, "MAP_TILE_URL", ""),
        "map_tile_attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }


def map_settings(request: HttpRequest) -> dict[str, str]:
    """Context processor: the tile settings, for the service page's small map (_map_button.html)."""
    return tile_settings()


@require_safe
def map_view(request: HttpRequest) -> HttpResponse:
    """The map page: a list of the Kreise by default, the map once the visitor opens it."""
    need_code = request.GET.get("need", "")
    need = TaxonomyTerm.objects.of("need").filter(code=need_code).first() if need_code else None
    # German alphabetical order: "Düren" beside "Duisburg", not after "Z".
    kreise = Kreis.objects.only("ags", "name", "bez").order_by(Collate("name", "de-x-icu"))
    query = {"lang": translation.get_language() or "de"}
    if need is not None:
        query["need"] = need.code
    services_url = f"{reverse('services-geojson')}?{urlencode(query)}"
    context = {
        "kreise": kreise,
        "need": need,
        "need_name": translate(need.name) if need is not None else None,
        "services_url": services_url,
        "nrw_bbox": ",".join(str(value) for value in NRW_BBOX),
        **tile_settings(),
    }
    response = render(request, "public/map.html", context)
    patch_cache_control(response, public=True, max_age=getattr(settings, "PUBLIC_CACHE_SECONDS", 300))
    return response
