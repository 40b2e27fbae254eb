"""Services prepared for display, the one rule for the site's pages and the referral slip.

What a list fetches (a fixed number of queries), which hours apply (schedule precedence), and the card a
list shows of a service (its data, :func:`make_card`, and its markup, :func:`card_html`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape as esc
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.template.defaultfilters import floatformat
from django.urls import get_script_prefix, reverse
from django.utils import formats
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from directory import hours
from directory.models import (
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Phone,
    PointAccuracy,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    international_number,
    listed,
    related,
)
from directory.provenance import fallback_organization
from directory.translation import FALLBACK_LANGUAGE, Translated, for_page, translate

# When a record was created, changed and last verified: what no card shows (three timestamps to parse a record).
KEEPING_DATES = ("created_at", "updated_at", "last_verified_at")
# What else a card leaves out of the service, its organisation and its places (a service page shows some of
# it): not read from the rows, no JSON of texts decoded, no point parsed for the ~60 services and ~100 places
# of a city's page.
CARD_UNSHOWN = (
    *KEEPING_DATES,
    "alternate_name",
    "interpretation_services",
    "application_process",
    "fees_description",
    "eligibility_description",
    "wait_time",
    "accreditations",
    "licenses",
    "alert",
    *(
        f"organization__{name}"
        for name in (*KEEPING_DATES, "alternate_name", "description", "kind", "legal_status", "uri")
    ),
)
CARD_UNSHOWN_AT_PLACE = (
    *KEEPING_DATES,
    "description",
    *(
        f"location__{name}"
        for name in (
            *KEEPING_DATES,
            "alternate_name",
            "description",
            "transportation",
            "url",
            "point",
            "external_identifier",
            "external_identifier_type",
        )
    ),
)


def services_for_cards(queryset: QuerySet[Service]) -> QuerySet[Service]:
    """What a card shows (:func:`make_card`, :func:`card_html`), in a fixed number of queries whatever the
    number of services: a list of many services fetches nothing its cards do not show."""
    return _services_with(queryset, whole_page=False)


def services_for_display(queryset: QuerySet[Service]) -> QuerySet[Service]:
    """Everything a service's page or the referral slip shows (a card's records and the rest), in a fixed
    number of queries whatever the number of services."""
    return _services_with(queryset, whole_page=True)


def _services_with(queryset: QuerySet[Service], *, whole_page: bool) -> QuerySet[Service]:
    # The search texts (all languages) and the vector are for matching only: not worth fetching for display.
    # Every list comes as a plain list (directory.models.listed), read by directory.models.related.
    queryset = queryset.defer("search_text", "search_vector", "search_names")
    if not whole_page:
        # A card names no source and no language: its records come without them (a list of sixty cards would
        # otherwise build some 250 Source and 120 Language records it never shows). Its hours and phones, the
        # most numerous records (~270 on a city's responsible page), come without the dates of their keeping.
        card_hours = Schedule.objects.defer(*KEEPING_DATES)
        card_phones = Phone.objects.defer(*KEEPING_DATES)
        queryset = queryset.defer(*CARD_UNSHOWN)
        return queryset.select_related("organization__parent_organization", "service_type").prefetch_related(
            listed("phones", card_phones),
            listed("schedules", card_hours),
            # The Kreis's or city's own contacts: the way to reach an office whose contacts are unknown.
            listed("organization__phones"),
            listed("organization__parent_organization__phones"),
            listed(
                "service_at_locations",
                # The Gemeinde for its name only: its boundary (a large multipolygon) is for the map's queries.
                ServiceAtLocation.objects.select_related("location__gemeinde")
                .defer("location__gemeinde__geometry", *CARD_UNSHOWN_AT_PLACE)
                .prefetch_related(
                    listed("schedules", card_hours),
                    listed("phones", card_phones),
                    listed("location__schedules", card_hours),
                ),
            ),
        )
    with_source = ("source",)
    return queryset.select_related(
        "organization__parent_organization", "service_type", "source", "contact_source"
    ).prefetch_related(
        listed("phones", Phone.objects.select_related(*with_source)),
        listed("languages", Language.objects.select_related(*with_source)),
        listed("schedules", Schedule.objects.select_related(*with_source)),
        listed("organization__phones"),
        listed("organization__parent_organization__phones"),
        areas_named(),
        listed("cost_options"),
        listed("attributes", Attribute.objects.select_related("taxonomy_term__taxonomy")),
        listed(
            "service_at_locations",
            ServiceAtLocation.objects.select_related("location__gemeinde")
            .defer("location__gemeinde__geometry")
            .prefetch_related(
                listed("schedules"),
                listed("phones"),
                listed("location__schedules"),
                listed("location__addresses", Address.objects.select_related("source")),
                listed("location__accessibility"),
                listed("location__languages"),
            ),
        ),
    )


def areas_named() -> Prefetch[Any]:
    """A service's areas by code and name: what a page says of them (their extent, a large multipolygon
    copied for the API, is not read)."""
    return listed("service_areas", ServiceArea.objects.only("service", "ags", "excludes", "name"))


def service_schedules(service: Service) -> list[Schedule]:
    """The hours that apply to a service: its own, else those at its places, else its places' hours."""
    own = related(service, "schedules")
    if own:
        return own
    places = related(service, "service_at_locations")
    at_places = [s for sal in places for s in related(sal, "schedules")]
    if at_places:
        return at_places
    return [s for sal in places for s in related(sal.location, "schedules")]


def place_schedules(service: Service, service_at_location: ServiceAtLocation) -> list[Schedule]:
    """The hours at one place of a service: the service's hours there, else the place's, else the service's own."""
    return (
        related(service_at_location, "schedules")
        or related(service_at_location.location, "schedules")
        or related(service, "schedules")
    )


@dataclass
class OpeningText:
    css: str
    text: str


def describe_opening(schedules: Iterable[Schedule], now: datetime) -> OpeningText:
    state = hours.opening_state(schedules, now)
    if not state.known:
        return OpeningText("unknown", _("Opening hours not yet verified"))
    if state.is_open:
        until = formats.time_format(state.closes_at, "H:i") if state.closes_at else ""
        return OpeningText("open", _("Open now, until %(time)s") % {"time": until})
    if state.reason_closed is not None and state.reason_detail:
        reason = _("Closed today: %(reason)s") % {"reason": state.reason_detail}
    else:
        reason = _("Closed now")
    if state.next_opening:
        when = formats.date_format(state.next_opening, "l H:i")
        return OpeningText("closed", _("%(closed)s · opens %(when)s") % {"closed": reason, "when": when})
    return OpeningText("closed", reason)


@dataclass
class Card:
    """What a list shows of one service."""

    service: Service
    # Its page (the card links it twice: reversed once).
    url: str
    name: Translated
    description: Translated
    organization: Translated
    type_name: Translated | None
    opening: OpeningText
    phones: list[str]
    places: list[Location]
    reason: str = ""
    distance_km: float | None = None
    # The Kreis's or city's contacts, shown (and labelled so) when the office's own are unknown.
    fallback: Organization | None = None
    fallback_phones: list[str] = field(default_factory=list)
    # Responsible for the place searched for (``ServiceQuerySet.marking_responsible``).
    responsible: bool = False

    @property
    def type_in_name(self) -> bool:
        """Whether the name already says what kind of office it is ("Jobcenter Essen"): then the card does
        not name the type a second time."""
        term = self.service.service_type
        name = self.name.text.casefold()
        return term is not None and any(text and text.casefold() in name for text in term.name.values())

    @property
    def html(self) -> SafeString:
        """The card's markup (``{{ card.html }}`` in a list's template)."""
        return card_html(self)

    @property
    def fallback_html(self) -> SafeString:
        """The running organisation's contacts, when the office's own are unknown (a card and the service page)."""
        return fallback_html(self)


def make_card(service: Service, now: datetime, *, reason: str = "") -> Card:
    at_places = related(service, "service_at_locations")
    places = [sal.location for sal in at_places]
    phones = [p.number for p in related(service, "phones")] or [
        p.number for sal in at_places for p in related(sal, "phones")
    ]
    distance = getattr(service, "distance_m", None)
    fallback = fallback_organization(service) if not phones else None
    return Card(
        service=service,
        url=reverse("service", args=[service.pk]),
        name=translate(service.name),
        description=translate(service.description),
        organization=translate(service.organization.name),
        type_name=translate(service.service_type.name) if service.service_type else None,
        opening=describe_opening(service_schedules(service), now),
        phones=phones,
        places=places,
        reason=reason,
        # Only from an exact point: from a postcode's or town's centre a distance would mislead.
        distance_km=round(distance / 1000, 1)
        if distance is not None and getattr(service, "distance_accuracy", "") == PointAccuracy.EXACT
        else None,
        fallback=fallback,
        fallback_phones=[p.number for p in related(fallback, "phones")] if fallback else [],
        responsible=bool(getattr(service, "responsible", False)),
    )


def area_reason(service: Service, levels: list[str]) -> str:
    """Why a service is responsible for the place: the area of its that covers it, in words (the area's
    German name marked as German on pages in other languages)."""
    for area in sorted(related(service, "service_areas"), key=lambda a: -len(a.ags)):
        if area.ags in levels and not area.excludes:
            area_name = for_page(Translated(area.name or area.ags, FALLBACK_LANGUAGE, False))
            return mark_safe(escape(_("Responsible for %(area)s")) % {"area": area_name})  # noqa: S308 - escaped
    return ""


# --- A card's markup -------------------------------------------------------------------------------------
# Written here, not in a template: a list renders up to sixty cards, and an ``{% include %}`` of a card
# template cost ~0.3 ms a card (a context pushed, some forty nodes resolved, two ``{% url %}`` and four
# ``{% translate %}`` per card), more than the rest of the card. The words every card shows are looked up once
# per language. The markup is byte for byte what the card template wrote; translated words are markup there
# (``{% translate %}`` does not escape them) and are here too.


@dataclass(frozen=True)
class CardWords:
    """What every card on a page shows alike: its labels in the page's language and the slip's address."""

    responsible: SafeString
    email: SafeString
    website: SafeString
    details: SafeString
    add_to_referral: SafeString
    referral_url: str


@functools.lru_cache(maxsize=64)
def card_words(language: str | None, script_prefix: str) -> CardWords:
    """The words of a card in ``language`` (the active one when it is called): translations and URLs do not
    change while the process runs (``script_prefix`` is a part of the URLs)."""
    return CardWords(
        responsible=mark_safe(_("Responsible for you")),  # noqa: S308 - our own translations
        email=mark_safe(_("E-mail")),  # noqa: S308
        website=mark_safe(_("Website")),  # noqa: S308
        details=mark_safe(_("Details")),  # noqa: S308
        add_to_referral=mark_safe(_("Add to referral")),  # noqa: S308
        referral_url=reverse("referral"),
    )


def phone_items(numbers: list[str]) -> str:
    """The first two numbers as links that dial them, each shown as written."""
    return "".join(
        f'<li><a href="tel:{esc(international_number(n))}">☎ <bdi dir="ltr">{esc(n)}</bdi></a></li>'
        for n in numbers[:2]
    )


def card_html(card: Card) -> SafeString:
    """A card of a list (search, who is responsible, an organisation's services). Plain text is escaped by
    ``esc`` (Django's ``escape`` without its lazy-text wrapper: a card has some twenty values), markup comes
    from :func:`for_page` and the translations."""
    words = card_words(get_language(), get_script_prefix())
    service = card.service
    pk = esc(str(service.pk))
    url = esc(card.url)
    about: list[str] = [for_page(card.type_name)] if card.type_name and not card.type_in_name else []
    about.append(for_page(card.organization))
    if card.distance_km is not None:
        about.append(_("%(km)s km away") % {"km": conditional_escape(floatformat(card.distance_km, 1))})
    place = card.places[0] if card.places else None
    town = f" · {for_page(place.gemeinde.name)}" if place is not None and place.gemeinde else ""
    actions = phone_items(card.phones)
    if service.email:
        actions += f'<li><a href="mailto:{esc(service.email)}">✉ {words.email}</a></li>'
    if service.url:
        actions += f'<li><a href="{esc(service.url)}" rel="noopener">{words.website}</a></li>'
    actions += f'<li><a href="{url}">{words.details}</a></li>'
    actions += (
        f'<li class="noprint"><a href="{esc(words.referral_url)}?s={pk}" data-add-referral="{pk}">'
        f"{words.add_to_referral}</a></li>"
    )
    responsible = f'<p><span class="badge responsible">{words.responsible}</span></p>' if card.responsible else ""
    lines = [
        '<li class="card">',
        f'<h3><a href="{url}">{for_page(card.name)}</a></h3>',
        f'<p class="small muted">{" · ".join(about)}</p>',
        responsible,
        f"<p>{for_page(card.reason)}</p>" if card.reason else "",
        f'<p><span class="badge {esc(card.opening.css)}">{for_page(card.opening.text)}</span>{town}</p>',
        f'<ul class="actions">{actions}</ul>',
        fallback_html(card) if card.fallback else "",
        "</li>\n",
    ]
    return mark_safe("\n".join(lines))  # noqa: S308 - every value escaped or made markup by for_page


def fallback_html(card: Card) -> SafeString:
    """The contacts of the Kreis or city that runs an office whose own contacts are unknown, labelled so (a
    line of its own)."""
    fallback = card.fallback
    if fallback is None:
        return mark_safe("")
    name = for_page(fallback)
    # The translated sentence is markup, as in a template's {% blocktranslate %}; the name is escaped.
    intro = _("This office's own contacts are not yet known. Contact of %(name)s:") % {"name": name}
    actions = mark_safe(phone_items(card.fallback_phones))  # noqa: S308 - escaped
    if fallback.email:
        actions += format_html(
            '<li><a href="mailto:{}">✉ <bdi dir="ltr">{}</bdi></a></li>', fallback.email, fallback.email
        )
    if fallback.website:
        words = card_words(get_language(), get_script_prefix())
        actions += format_html('<li><a href="{}" rel="noopener">{}</a></li>', fallback.website, words.website)
    return format_html(
        '<div class="fallback"><p class="small">{}</p>\n<ul class="actions">{}</ul></div>\n',
        mark_safe(intro),  # noqa: S308 - the name is escaped
        mark_safe(actions),  # noqa: S308 - parts escaped
    )
