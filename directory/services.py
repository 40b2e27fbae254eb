"""Writes that span records: plain functions, atomic, keyword-only."""

from __future__ import annotations

import calendar
import ipaddress
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from directory import throttle
from directory.cache import catalogue_changed_on_commit
from directory.models import STATED, UNMET_QUERY_MAX_LENGTH, ProblemReport, Service, UnmetSearch
from directory.places import PlaceResult, single_line
from directory.translation import LANGUAGE_CODES

if TYPE_CHECKING:
    from collections.abc import Iterable
    from uuid import UUID


@transaction.atomic
def restore_version(version: Any, *, user: AbstractBaseUser | None) -> Any:
    """Make an earlier version of a record (a simple-history row) its current state; kept as a new version."""
    record = version.instance
    record._state.adding = False  # the record exists: update it, never insert a copy
    record._change_reason = f"restored the version of {version.history_date:%Y-%m-%d %H:%M}"
    record._history_user = user
    record.save()
    return record


# --- Search text ----------------------------------------------------------------------------------------


def _texts(column: str) -> str:
    """SQL: every language version of a translated (JSON object) column, in a fixed order."""
    return (
        f"(SELECT string_agg(value, ' ' ORDER BY key) FROM jsonb_each_text("  # noqa: S608 (constant column names)
        f"CASE jsonb_typeof({column}) WHEN 'object' THEN {column} ELSE '{{}}'::jsonb END))"
    )


def _words(column: str) -> str:
    """SQL: every search word of a term's ``search_words`` column (language → list), in a fixed order."""
    return (
        "(SELECT string_agg(word, ' ' ORDER BY language.key, word.position) FROM"  # noqa: S608 (constant names)
        f" jsonb_each(CASE jsonb_typeof({column}) WHEN 'object' THEN {column} ELSE '{{}}'::jsonb END) AS language,"
        " jsonb_array_elements_text(CASE jsonb_typeof(language.value) WHEN 'array' THEN language.value"
        " ELSE '[]'::jsonb END) WITH ORDINALITY AS word(word, position))"
    )


def _clean(text: str) -> str:
    """SQL: ``text`` with each run of whitespace one space, trimmed; NULL where nothing is left."""
    return f"NULLIF(btrim(regexp_replace({text}, '\\s+', ' ', 'g')), '')"


# The services asked for.
_CHOSEN = """
WITH chosen AS MATERIALIZED (
    SELECT s.id FROM directory_service AS s WHERE %(all)s OR s.id = ANY(%(ids)s::uuid[])
)"""

# Each term's search text: its code, names and search words in every language. Only the terms whose text
# changed are written, and the words of those that services have go into the typo dictionary (SearchWord), as
# the search splits them.
REFRESH_TERM_SEARCH_TEXT_SQL = f"""
WITH fresh AS (
    SELECT term.id,
        coalesce({_clean(f"concat_ws(' ', term.code, {_texts('term.name')}, {_words('term.search_words')})")}, '')
        AS text
    FROM directory_taxonomyterm AS term
), changed AS (
    UPDATE directory_taxonomyterm AS term SET search_text = fresh.text
    FROM fresh
    WHERE term.id = fresh.id AND term.search_text IS DISTINCT FROM fresh.text
    RETURNING term.id, term.search_text
)
INSERT INTO directory_searchword (word)
SELECT DISTINCT word FROM changed, regexp_split_to_table(lower(changed.search_text), '[^[:alnum:]]+') AS word
WHERE length(word) >= 3 AND (
    EXISTS (SELECT 1 FROM directory_attribute AS a WHERE a.taxonomy_term_id = changed.id AND a.service_id IS NOT NULL)
    OR EXISTS (SELECT 1 FROM directory_service AS s WHERE s.service_type_id = changed.id)
)
ON CONFLICT DO NOTHING
"""  # noqa: S608

# The names of the service and of its organisation, uncleaned (the words do not care about whitespace).
_OWN_NAMES = [_texts("s.name"), "s.alternate_name", _texts("o.name"), "o.alternate_name"]

# Only constant column names are put into this statement; values are parameters. Set-based: a full refresh at
# 100,000 services takes seconds so. Whitespace is collapsed part by part (each part cleaned, the non-empty ones
# joined by one space: the same text as collapsing the whole, and PostgreSQL's regexp_replace slows down with
# the length of non-ASCII text). The words of the service's type and terms are not copied in: they are matched
# on the terms (TaxonomyTerm.search_text), and a change of a term's words rewrites no service.
REFRESH_SEARCH_TEXT_SQL = f"""{_CHOSEN}, parts AS MATERIALIZED (
    SELECT s.id,
        concat_ws(' ', {", ".join(_clean(name) for name in _OWN_NAMES)}) AS names,
        concat_ws(' ', {_clean(_texts("s.description"))}, {_clean(_texts("s.eligibility_description"))}) AS descriptions
    FROM chosen JOIN directory_service AS s ON s.id = chosen.id
    JOIN directory_organization AS o ON o.id = s.organization_id
), fresh AS (
    SELECT id, concat_ws(' ', NULLIF(names, ''), NULLIF(descriptions, '')) AS text, names FROM parts
)
UPDATE directory_service AS service
SET search_text = fresh.text, search_names = fresh.names
FROM fresh
WHERE service.id = fresh.id
    AND (service.search_text IS DISTINCT FROM fresh.text OR service.search_names IS DISTINCT FROM fresh.names)
"""  # noqa: S608


# The words of the services' names and of their type's and terms' search texts into the typo dictionary
# (SearchWord), as the search splits them; each term's text is split once, not once per service that has it.
ADD_SEARCH_WORDS_SQL = f"""{_CHOSEN}, parts AS (
    SELECT term.search_text AS text FROM directory_taxonomyterm AS term
    WHERE term.id IN (
        SELECT a.taxonomy_term_id FROM chosen JOIN directory_attribute AS a ON a.service_id = chosen.id
        UNION SELECT s.service_type_id FROM chosen JOIN directory_service AS s ON s.id = chosen.id
    )
    UNION ALL
    SELECT concat_ws(' ', {", ".join(_OWN_NAMES)})
    FROM chosen JOIN directory_service AS s ON s.id = chosen.id
    JOIN directory_organization AS o ON o.id = s.organization_id
)
INSERT INTO directory_searchword (word)
SELECT DISTINCT word FROM parts, regexp_split_to_table(lower(parts.text), '[^[:alnum:]]+') AS word
WHERE length(word) >= 3
ON CONFLICT DO NOTHING
"""  # noqa: S608


# The stored facts (ServiceFacts) of the services asked for, from ServiceQuerySet.stated_facts(): the rules
# stay there (STATED, speaks); this only writes what they answer. Rows already right are not touched.
_FACT_COLUMNS = [*STATED, "languages"]
REFRESH_FACTS_SQL = """
INSERT INTO directory_servicefacts (service_id, {columns})
SELECT fact.fact_service, {stated}, fact.spoken FROM ({facts}) AS fact
ON CONFLICT (service_id) DO UPDATE SET {updates}
WHERE ({current}) IS DISTINCT FROM ({excluded})
""".format(
    columns=", ".join(_FACT_COLUMNS),
    stated=", ".join(f"fact.stated_{name}" for name in STATED),
    facts="{facts}",
    updates=", ".join(f"{name} = EXCLUDED.{name}" for name in _FACT_COLUMNS),
    current=", ".join(f"directory_servicefacts.{name}" for name in _FACT_COLUMNS),
    excluded=", ".join(f"EXCLUDED.{name}" for name in _FACT_COLUMNS),
)


def refresh_term_search_text() -> int:
    """Rebuild ``TaxonomyTerm.search_text`` (and so its vector) of every term whose code, names or search words
    changed, and add their words to the typo dictionary; returns how many changed. Call it after writing a
    term: the services need no rewrite (a search finds them by their terms' ids).

    One statement over the few dozen terms; a term already right is not written.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(REFRESH_TERM_SEARCH_TEXT_SQL)
        changed = cursor.rowcount
    if changed:
        catalogue_changed_on_commit()  # raw SQL passes by the signals; search results change
    return changed


def refresh_search_text(service_ids: Iterable[UUID] | None = None) -> int:
    """Rebuild ``Service.search_text`` and the stored facts (``ServiceFacts``) of the given services (None:
    all), and the terms' search texts (:func:`refresh_term_search_text`); returns how many services' search
    texts changed.

    One SQL UPDATE, so no history rows are written; rows whose text is already right are not touched.
    ``updated_at`` is left alone: the search text is derived, not content. Call it after writes that
    change a service's names, descriptions or organisation — and after writes of what the filters count:
    attributes (eligibility), cost options, schedules, languages, accessibility, and which places a service is
    offered at. A service's type and terms are not in its text (it is found by their ids), and a term's words
    are refreshed on the term alone.
    """
    ids = [] if service_ids is None else list(service_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        # PostgreSQL overestimates the per-service subqueries a thousandfold and JIT-compiles the UPDATE: about
        # 2 s of compiling for a statement that runs in milliseconds (measured with EXPLAIN ANALYZE, issue 11).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(REFRESH_TERM_SEARCH_TEXT_SQL)
        cursor.execute(REFRESH_SEARCH_TEXT_SQL, {"all": service_ids is None, "ids": ids})
        changed = cursor.rowcount
        cursor.execute(ADD_SEARCH_WORDS_SQL, {"all": service_ids is None, "ids": ids})
        if service_ids is None or ids:
            chosen = Service.objects.all() if service_ids is None else Service.objects.filter(pk__in=ids)
            facts_sql, facts_params = chosen.stated_facts().query.sql_with_params()
            cursor.execute(REFRESH_FACTS_SQL.format(facts=facts_sql), facts_params)
    catalogue_changed_on_commit()  # raw SQL passes by the signals; search results change
    return changed


# --- Problem reports ------------------------------------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    """The visitor's address: the one every throttle and every client hash starts from.

    ``REMOTE_ADDR`` is the peer. Only when the peer is one of WEGWEISER_TRUSTED_PROXIES is ``X-Forwarded-For``
    read, from the right: each trusted proxy appends the address it saw, so the rightmost address that is not
    a trusted proxy is the client. Anything left of it was written by the client and could be anything.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = settings.WEGWEISER_TRUSTED_PROXIES
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(forwarded):
        if not hop:
            continue
        if not _is_trusted(hop, proxies):
            # An unparsable hop (a client's invention) is not an address; stop there, at the last good one.
            return hop if _parses(hop) else peer
        peer = hop
    return peer


def _parses(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_hash(client_ip: str, *, purpose: str = "directory.ProblemReport.client_hash") -> str:
    """A salted SHA-256 (HMAC with SECRET_KEY) of a client address: countable, but not the address.

    IPv6 clients are counted per /64 network, as one connection is usually given a whole /64.
    ``purpose`` salts the hash, so hashes kept for one purpose cannot be matched with another's.
    """
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        key = client_ip.strip()
    else:
        network = ipaddress.ip_network(f"{address}/64", strict=False) if address.version == 6 else address
        key = str(network)
    return salted_hmac(purpose, key, algorithm="sha256").hexdigest()


@transaction.atomic
def report_problem(
    *,
    service: Service,
    text: str,
    contact: str,
    client_ip: str,
    reporter: AbstractBaseUser | AnonymousUser | None = None,
) -> ProblemReport:
    """Store a visitor's report that a service's entry is wrong; raises ValidationError on bad input.

    The text is kept as typed (only trimmed; PostgreSQL cannot store NUL characters): templates escape it.
    """
    report = ProblemReport(
        service=service,
        text=text.replace("\x00", "").strip(),
        contact=contact.replace("\x00", "").strip(),
        reporter_id=reporter.pk if reporter is not None and reporter.is_authenticated else None,
        client_hash=client_hash(client_ip),
    )
    report.full_clean()
    report.save()
    if report.reporter_id is None:
        throttle.hit(REPORT_THROTTLE, report.client_hash, window=int(REPORT_WINDOW.total_seconds()))
    return report


# Anonymous reports are counted per client in the shared cache (directory/throttle.py) for this long.
REPORT_THROTTLE = "report"
REPORT_WINDOW = timedelta(hours=1)


def report_wait(client_ip: str, *, limit: int = 5, window: timedelta = REPORT_WINDOW) -> int | None:
    """Seconds until this client may send another anonymous report, or None when it may now.

    A client has used its ``limit`` reports when it sent that many within ``window``. Counted in the shared cache
    (one count for every worker and machine, living REPORT_WINDOW from the client's first report: the wait is
    what is left of it); while the cache is unavailable, the client's stored reports are counted instead, so
    the throttle never opens up (the wait then lasts until the oldest of the last ``limit`` leaves ``window``).
    """
    hashed = client_hash(client_ip)
    counted = throttle.hits(REPORT_THROTTLE, hashed)
    if counted is not None:
        if counted.count < limit:
            return None
        wait = counted.expires_in or int(REPORT_WINDOW.total_seconds())
    else:
        now = timezone.now()
        recent = ProblemReport.objects.filter(client_hash=hashed, created_at__gte=now - window)
        sent = list(recent.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(sent) < limit:
            return None
        wait = math.ceil((sent[-1] + window - now).total_seconds())
    throttle.log_throttled(REPORT_THROTTLE, hashed)
    return max(1, wait)


# --- Searches that found nothing ------------------------------------------------------------------------

# How long unmet searches are kept: a year to compare with, and a month to see the same month last year.
UNMET_SEARCH_MONTHS = 13


def normalised_query(text: str) -> str:
    """The words as counted: one line, casefolded, whitespace collapsed, cut to 100 characters."""
    return " ".join(single_line(text).casefold().split())[:UNMET_QUERY_MAX_LENGTH].strip()


UPSERT_UNMET_SEARCH_SQL = """
INSERT INTO directory_unmetsearch (query, language, kreis_id, day, count) VALUES (%s, %s, %s, %s, 1)
ON CONFLICT ON CONSTRAINT unmet_search_once DO UPDATE SET count = directory_unmetsearch.count + 1
"""


def count_unmet_search(*, text: str, language: str, place: PlaceResult | None, day: date | None = None) -> None:
    """Count one search for ``text`` that found nothing: per normalised words, UI language, Kreis and day.

    One upsert, nothing else: no address, cookie, account or time of day is kept, so the count says what
    people need, never who asked. The Kreis is that of the place given (none without a resolved place).
    """
    query = normalised_query(text)
    if not query:
        return
    kreis = place.kreis if place is not None and place.error is None else None
    with connection.cursor() as cursor:
        cursor.execute(
            UPSERT_UNMET_SEARCH_SQL,
            [
                query,
                language if language in LANGUAGE_CODES else "",
                kreis.ags if kreis is not None else None,
                day or timezone.localdate(),
            ],
        )


def unmet_search_cutoff(today: date) -> date:
    """The first day still kept: the same day 13 months back (the month's last day where it is shorter)."""
    year, month = divmod(today.year * 12 + today.month - 1 - UNMET_SEARCH_MONTHS, 12)
    return date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))


def prune_unmet_searches(*, today: date | None = None) -> int:
    """Delete the counts of days older than 13 months; returns how many rows went."""
    cutoff = unmet_search_cutoff(today or timezone.localdate())
    deleted, _ = UnmetSearch.objects.filter(day__lt=cutoff).delete()
    return deleted


# --- Keeping personal data no longer than needed (the privacy page states these periods) -----------------


@dataclass(frozen=True)
class Pruned:
    report_contacts: int
    unmet_searches: int


def prune_personal_data(*, now: datetime | None = None) -> Pruned:
    """Blank problem reports' contact and client hash after ``settings.REPORT_CONTACT_DAYS``, delete unmet
    searches past their months and expired sessions. Run daily (README, "Keeping data"); safe to run again."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REPORT_CONTACT_DAYS)
    # The text stays: it is what the moderation decided on. Contact and hash were only for asking back and
    # for the throttle, whose window is long past.
    reports = (
        ProblemReport.objects.filter(created_at__lt=cutoff)
        .exclude(contact="", client_hash="")
        .update(contact="", client_hash="")
    )
    unmet = prune_unmet_searches(today=timezone.localdate(now))
    # What Django's clearsessions does, for whichever session engine is configured.
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return Pruned(report_contacts=reports, unmet_searches=unmet)
