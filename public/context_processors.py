from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.translation import get_language


def language_links(request: HttpRequest) -> dict[str, Any]:
    """The language switcher: this page in each language, each language named in its own script."""
    current = get_language()
    query = request.META.get("QUERY_STRING", "")
    links = []
    for code, name in settings.LANGUAGES:
        url = translate_url(request.path, code)
        if query:
            url = f"{url}?{query}"
        links.append({"code": code, "name": name, "url": url, "current": code == current})
    return {"language_links": links}
