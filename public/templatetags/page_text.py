"""Template filters for text of mixed languages and scripts; the rules live in :mod:`directory.translation`.

``{{ card.name|for_page }}`` marks a German fallback with ``lang``/``dir`` and isolates Latin runs on Arabic
and Farsi pages; ``{{ names|join_list }}`` joins a list the page language's way ("، " in Arabic and Farsi).
A bare ``{{ value }}`` in a template is always plain escaped text (Django turns objects into strings before
escaping), which is what titles and attributes need.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe

from directory.models import international_number
from directory.translation import for_page as page_text
from directory.translation import join_list as joined
from directory.translation import list_separator

register = template.Library()


@register.filter
def for_page(value: object) -> SafeString:
    return page_text(value)


@register.filter
def join_list(items: Iterable[object] | None) -> SafeString:
    """Each item as :func:`for_page` shows it, joined by the page language's list separator."""
    return mark_safe(joined((page_text(item) for item in items or ()), None))  # noqa: S308 - items escaped


@register.filter
def international(number: str) -> str:
    """A phone number as a ``tel:`` link dials it: "+49212…" (the page still shows it as written)."""
    return international_number(str(number))


@register.simple_tag(name="list_separator")
def list_separator_tag() -> str:
    """The page language's list separator, for lists a template writes item by item (links)."""
    return list_separator()
