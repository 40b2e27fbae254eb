"""The filters a visitor of the site and a client of the API choose services by: one meaning for both.

Each filter is a :class:`~directory.models.ServiceQuerySet` method; :class:`ServiceFilters` holds the
checked values and applies them, so the search page and ``/api/hsds/services`` cannot drift apart. How a
bad value is answered stays with the caller: the site drops it and says why, the API answers 400.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.models import TERM_FILTERS, ServiceQuerySet, TaxonomyTerm

# The words a yes/no parameter may take, as people write them in a link or a form (checkboxes send "on").
YES = frozenset({"1", "true", "yes", "on", "ja"})
NO = frozenset({"", "0", "false", "no", "off", "nein"})
# The yes/no filters, in the order the search form shows them.
YES_NO_FILTERS = ("free", "walk_in", "barrier_free")
MAX_AGE = 120


def yes_no(raw: str) -> bool | None:
    """``raw`` read as yes or no (case and surrounding spaces ignored; empty is no), None if it is neither."""
    word = raw.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def unknown_terms(given: dict[str, str]) -> list[str]:
    """The parameters of ``given`` (term filter → code) whose code is no term of its taxonomy: one query."""
    if not given:
        return []
    known = set(
        TaxonomyTerm.objects.filter(
            taxonomy__key__in=[TERM_FILTERS[name] for name in given], code__in=given.values()
        ).values_list("taxonomy__key", "code")
    )
    return [name for name, code in given.items() if (TERM_FILTERS[name], code) not in known]


@dataclass
class ServiceFilters:
    """What services must offer, every value already checked; None or False means "no matter"."""

    need: str | None = None
    target_group: str | None = None
    eligibility: str | None = None
    language: str | None = None
    age: int | None = None
    free: bool = False
    walk_in: bool = False
    barrier_free: bool = False
    jobcenter_form: str | None = None

    def apply(self, services: ServiceQuerySet) -> ServiceQuerySet:
        """``services`` narrowed by every filter that is set (each an EXISTS condition or a column test)."""
        for name in TERM_FILTERS:
            code = getattr(self, name)
            if code:
                services = services.with_filter_term(name, code)
        if self.age is not None:
            services = services.for_age(self.age)
        if self.jobcenter_form:
            services = services.run_as(self.jobcenter_form)
        if self.language:
            services = services.speaking(self.language)
        if self.free:
            services = services.free()
        if self.walk_in:
            services = services.walk_in()
        if self.barrier_free:
            services = services.barrier_free()
        return services
