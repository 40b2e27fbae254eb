"""For the public service page: ``{% load editorial_tags %}``.

``{{ user|is_caseworker }}`` — whether to offer "add to my list";
``{% field_group_verifications service as confirmed %}`` — ``confirmed.contact.verified_at`` and so on, for the
groups that may be shown as checked (directory.provenance.checked_groups: only groups that hold a fact).
"""

from __future__ import annotations

from typing import Any

from django import template

from directory.provenance import checked_groups
from editorial.permissions import roles_of
from editorial.services import GroupVerification, field_group_verifications

register = template.Library()


@register.filter
def is_caseworker(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and roles_of(user).has("caseworker"))


@register.simple_tag(name="field_group_verifications")
def field_group_verifications_tag(service: Any) -> dict[str, GroupVerification]:
    return checked_groups(service, field_group_verifications(service))
