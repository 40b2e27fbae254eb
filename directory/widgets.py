"""Form widgets for editors."""

from django.contrib.gis.forms.widgets import OSMWidget


class LocalOSMWidget(OSMWidget):
    """Django's point/area map widget with OpenLayers served from our own static files, not a CDN.

    The base map tiles still come from OpenStreetMap when the editor's browser can reach it; without
    them the widget still shows and edits the geometry.
    """

    default_lon = 7.55  # type: ignore[assignment]  # NRW (the stubs say int; Django takes floats)
    default_lat = 51.45  # type: ignore[assignment]
    default_zoom = 8
    # Django's template starts the map with an inline script, which the Content-Security-Policy forbids: ours
    # puts the options in data- attributes, and directory/map-widget.js starts the map from them.
    template_name = "directory/widgets/osm.html"

    class Media:
        extend = False
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js", "directory/map-widget.js")
