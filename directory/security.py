"""The Content-Security-Policy of every answer: scripts, styles and everything else only from this site.

No page has an inline script, style element, style attribute or event handler attribute (their code is in
static files, their values in data- attributes), so the policy needs no 'unsafe-inline' and an injected
script cannot run. Setting a style from a script (element.style.x = …, as Leaflet and OpenLayers do) is not
inline style and stays allowed. A small middleware rather than a package: Django 5.2 has none built in, and
the policy is one fixed string.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def tile_origin(url_template: str) -> str | None:
    """The origin of a tile URL template for img-src: "https://{s}.tile.example.org/{z}/…" → "https://*.tile.example.org"."""
    if not url_template:
        return None
    parts = urlsplit(url_template.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(*, extra_images: list[str] | None = None) -> str:
    images = ["'self'", "data:"]
    if origin := tile_origin(settings.MAP_TILE_URL):
        images.append(origin)
    images += settings.CONTENT_SECURITY_POLICY_EXTRA_IMG_SRC + (extra_images or [])
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


# The admin's point and area widget (directory/widgets.py) shows OpenStreetMap's tiles under the geometry.
ADMIN_IMG_SRC = ["https://tile.openstreetmap.org"]


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()
        self.admin_policy = content_security_policy(extra_images=ADMIN_IMG_SRC)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        admin = request.path.startswith("/admin/")
        response.headers.setdefault("Content-Security-Policy", self.admin_policy if admin else self.policy)
        return response
