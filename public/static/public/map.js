/* Wegweiser NRW: the map, loaded only when a visitor opens it. Plain ES2015, no build step.
 *
 * The page renders a hidden button [data-map-toggle][aria-controls=<box id>] and a hidden box whose data
 * attributes carry the URLs and every text (translated by Django): this file holds no UI text.
 * The box either lists services from data-services (GeoJSON by bbox, clustered) or shows the points of
 * the JSON script data-points. Asset URLs (hashed by the static storage) are on this script's tag.
 */
(function () {
  "use strict";
  var assets = document.currentScript ? document.currentScript.dataset : {};
  var loaded = {};

  function load(url, isCss) {
    if (!loaded[url]) {
      loaded[url] = new Promise(function (resolve, reject) {
        var el = document.createElement(isCss ? "link" : "script");
        if (isCss) {
          el.rel = "stylesheet";
          el.href = url;
        } else {
          el.src = url;
        }
        el.onload = resolve;
        el.onerror = function () {
          delete loaded[url]; // so that the next click tries again
          el.remove();
          reject();
        };
        document.head.appendChild(el);
      });
    }
    return loaded[url];
  }

  function loadLeaflet(clustered) {
    var css = clustered ? [assets.leafletCss, assets.clusterCss, assets.clusterDefaultCss] : [assets.leafletCss];
    var js = load(assets.leafletJs).then(function () {
      return clustered ? load(assets.clusterJs) : null;
    });
    return Promise.all(css.map(function (url) { return load(url, true); }).concat([js]));
  }

  function say(box, text) {
    var status = document.getElementById(box.id + "-status");
    if (status) status.textContent = text || "";
  }

  function getJSON(url) {
    return fetch(url).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    });
  }

  // A popup's content, built as elements so names from the database are never parsed as HTML.
  function popup(name, nameLang, link, lines) {
    var div = document.createElement("div");
    var title = document.createElement(link ? "a" : "strong");
    div.dir = document.documentElement.dir || "ltr";
    div.style.textAlign = "start"; // Leaflet aligns popups left
    title.textContent = name;
    title.dir = "auto";
    if (link) title.href = link;
    if (nameLang && nameLang !== document.documentElement.lang) title.lang = nameLang;
    div.appendChild(title);
    lines.forEach(function (line) {
      if (!line) return;
      div.appendChild(document.createElement("br"));
      div.appendChild(document.createTextNode(line));
    });
    return div;
  }

  var icon = null;

  // content: a function that builds the popup when it first opens. The icon is given by URL: Leaflet
  // finds its default icon by file name, which the hashed static files no longer have.
  function marker(lat, lon, name, approximate, content) {
    icon = icon || L.icon({
      iconUrl: assets.icon, iconRetinaUrl: assets.icon2x, shadowUrl: assets.shadow,
      iconSize: [25, 41], iconAnchor: [12, 41], popupAnchor: [1, -34], shadowSize: [41, 41]
    });
    return L.marker([lat, lon], { icon: icon, alt: name, title: name, opacity: approximate ? 0.8 : 1 })
      .bindPopup(content);
  }

  function kreise(map, d, filled) {
    getJSON(d.kreise).then(function (data) {
      L.geoJSON(data, {
        attribution: data.attribution,
        interactive: !!d.responsible,
        style: { color: "#0a4d8c", weight: 1, opacity: 0.7, fillColor: "#0a4d8c", fillOpacity: filled ? 0.05 : 0 },
        onEachFeature: function (feature, layer) {
          if (!d.responsible) return;
          var p = feature.properties;
          layer.bindPopup(function () {
            var div = popup(p.name, "", "", []);
            var link = document.createElement("a");
            link.href = d.responsible + "?ags=" + encodeURIComponent(p.ags);
            link.textContent = d.responsibleLabel;
            div.appendChild(document.createElement("br"));
            div.appendChild(link);
            return div;
          });
        }
      }).addTo(map).bringToBack();
    }).catch(function () { /* the outlines are a backdrop; the markers work without them */ });
  }

  function services(map, box, d) {
    var cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
    var markers = {};
    var latest = 0;
    var timer = null;
    map.addLayer(cluster);

    function edge(value, low, high, round) {
      return (Math[round](Math.min(Math.max(value, low), high) * 100) / 100).toFixed(2);
    }

    function refresh() {
      var b = map.getBounds();
      var bbox = [edge(b.getWest(), -180, 180, "floor"), edge(b.getSouth(), -90, 90, "floor"),
        edge(b.getEast(), -180, 180, "ceil"), edge(b.getNorth(), -90, 90, "ceil")].join(",");
      var request = ++latest;
      getJSON(d.services + "&bbox=" + bbox).then(function (data) {
        if (request !== latest) return;
        var next = {};
        var added = [];
        var removed = [];
        data.features.forEach(function (f) {
          var p = f.properties;
          var m = markers[f.id];
          if (!m) {
            m = marker(f.geometry.coordinates[1], f.geometry.coordinates[0], p.name, p.approximate, function () {
              return popup(p.name, p.name_language, p.link, [p.type_name, p.approximate ? d.approximate : ""]);
            });
            added.push(m);
          }
          next[f.id] = m;
        });
        Object.keys(markers).forEach(function (id) {
          if (!next[id]) removed.push(markers[id]);
        });
        cluster.removeLayers(removed);
        cluster.addLayers(added);
        markers = next;
        say(box, data.truncated ? d.truncated : "");
      }).catch(function () {
        if (request === latest) say(box, d.failed);
      });
    }

    map.on("moveend", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }

  function points(map, d) {
    var list = JSON.parse(document.getElementById(d.points).textContent);
    var group = L.featureGroup(list.map(function (p) {
      return marker(p.lat, p.lon, p.name, p.approximate, function () {
        return popup(p.name, "", "", [p.approximate ? d.approximate : ""]);
      });
    })).addTo(map);
    var approximate = list.some(function (p) { return p.approximate; });
    map.fitBounds(group.getBounds(), { maxZoom: approximate ? 12 : 15, padding: [24, 24] });
  }

  function draw(box) {
    var d = box.dataset;
    var rtl = document.documentElement.dir === "rtl";
    // maxZoom: without a tile layer nothing else sets it, and clustering needs it.
    var map = L.map(box, { zoomControl: false, maxZoom: 18 });
    box.dir = "ltr"; // Leaflet's and the clusters' layout assumes it; popups set their own direction
    L.control.zoom({ position: rtl ? "topright" : "topleft", zoomInTitle: d.zoomIn, zoomOutTitle: d.zoomOut })
      .addTo(map);
    map.attributionControl.setPosition(rtl ? "bottomleft" : "bottomright");
    if (d.tiles) L.tileLayer(d.tiles, { attribution: d.attribution || "", maxZoom: 18 }).addTo(map);
    if (d.services || !d.tiles) kreise(map, d, !d.tiles);
    if (d.services) {
      services(map, box, d);
      var b = d.bbox.split(",").map(Number);
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    } else {
      points(map, d);
    }
    return map;
  }

  function toggle(button) {
    var box = document.getElementById(button.getAttribute("aria-controls"));
    if (box.dataset.state === "loading") return;
    var open = button.getAttribute("aria-expanded") !== "true";
    if (!button.dataset.show) button.dataset.show = button.textContent;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? button.dataset.hide : button.dataset.show;
    box.hidden = !open;
    if (!open || box.dataset.state) {
      if (open && box.map) box.map.invalidateSize();
      return;
    }
    box.dataset.state = "loading";
    say(box, box.dataset.loading);
    loadLeaflet(!!box.dataset.services).then(function () {
      box.dataset.state = "ready";
      say(box, "");
      box.map = draw(box);
    }, function () {
      delete box.dataset.state;
      say(box, box.dataset.failed);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-map-toggle]"), function (button) {
    button.addEventListener("click", function () { toggle(button); });
    button.hidden = false;
  });
})();
