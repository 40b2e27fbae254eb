// Starts Django's OpenLayers MapWidget (gis/js/OLMapWidget.js) for each map in the page, from the data- attributes
// of directory/widgets/osm.html: what Django's own template does with an inline script, which the site's
// Content-Security-Policy does not allow.
(function () {
  function start() {
    document.querySelectorAll("[data-map-widget]").forEach(function (element) {
      var data = element.dataset;
      new MapWidget({
        base_layer: new ol.layer.Tile({ source: new ol.source.OSM() }),
        geom_name: data.geomName,
        id: data.id,
        map_id: data.id + "_map",
        map_srid: Number(data.mapSrid),
        name: data.name,
        default_lon: Number(data.defaultLon),
        default_lat: Number(data.defaultLat),
        default_zoom: Number(data.defaultZoom),
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
