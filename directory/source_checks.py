"""Keeping sources true: request every source page, note what came back, and ask a moderator when a page is
gone or has changed. Never edits a record: a changed page may or may not mean changed facts.

Requests run in a bounded thread pool with a per-request time-out, send a real User-Agent and respect each
host's robots.txt (read once per host).
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from directory import models as m
from directory.services import client_hash

USER_AGENT = "WegweiserNRW-SourceCheck/1.0 (+https://github.com/wegweiser-nrw; checks the pages its facts cite)"
MAX_BYTES = 5 * 1024 * 1024
# Who opened a moderation task: the checker, not a visitor (reports need a client hash).
CHECKER = "check_sources"


@dataclass
class Fetched:
    source: m.Source
    status: int | None
    sha256: str
    outcome: str
    detail: str = ""


def _robots(base: str, timeout: float) -> urllib.robotparser.RobotFileParser | None:
    parser = urllib.robotparser.RobotFileParser()
    request = urllib.request.Request(f"{base}/robots.txt", headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only)
            parser.parse(response.read(512 * 1024).decode("utf-8", "replace").splitlines())
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            parser.parse(["User-agent: *", "Disallow: /"])
        else:
            return None  # no robots.txt: everything is allowed
    except (OSError, ValueError):
        return None
    return parser


def fetch(source: m.Source, previous: str, *, timeout: float, robots: dict[str, object]) -> Fetched:
    parts = urlsplit(source.url)
    if parts.scheme not in ("http", "https"):
        return Fetched(source, None, "", m.SourceCheckOutcome.FAILED, "not an http(s) address")
    base = f"{parts.scheme}://{parts.netloc}"
    if base not in robots:
        robots[base] = _robots(base, timeout)
    parser = robots[base]
    if isinstance(parser, urllib.robotparser.RobotFileParser) and not parser.can_fetch(USER_AGENT, source.url):
        return Fetched(source, None, "", m.SourceCheckOutcome.DISALLOWED, "robots.txt disallows it")
    request = urllib.request.Request(source.url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_BYTES)
            status = response.status
    except urllib.error.HTTPError as exc:
        outcome = m.SourceCheckOutcome.GONE if 400 <= exc.code < 500 else m.SourceCheckOutcome.FAILED
        return Fetched(source, exc.code, "", outcome, f"HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        return Fetched(source, None, "", m.SourceCheckOutcome.FAILED, str(exc)[:300])
    digest = hashlib.sha256(body).hexdigest()
    if not previous:
        outcome = m.SourceCheckOutcome.FIRST
    elif previous == digest:
        outcome = m.SourceCheckOutcome.UNCHANGED
    else:
        outcome = m.SourceCheckOutcome.CHANGED
    return Fetched(source, status, digest, outcome)


def services_citing(source: m.Source) -> Iterable[m.Service]:
    """Services with a fact from this source: their own, a phone, hours, languages, an address or an area."""
    return m.Service.objects.filter(
        Q(source=source)
        | Q(contact_source=source)
        | Q(phones__source=source)
        | Q(schedules__source=source)
        | Q(languages__source=source)
        | Q(service_areas__source=source)
        | Q(service_at_locations__location__addresses__source=source)
    ).distinct()


def open_task(fetched: Fetched) -> int:
    """One open moderation task per service and source; none while an earlier one is still open."""
    outcome = "ist nicht mehr erreichbar" if fetched.outcome == m.SourceCheckOutcome.GONE else "hat sich geändert"
    text = (
        f"Quellenprüfung: Die Seite {fetched.source.url} {outcome} ({fetched.detail or fetched.status}). "
        "Bitte die Angaben dieses Eintrags mit der Seite vergleichen."
    )
    opened = 0
    for service in services_citing(fetched.source):
        already = m.ProblemReport.objects.filter(
            service=service, status=m.ProblemReportStatus.OPEN, text__contains=fetched.source.url
        ).exists()
        if not already:
            m.ProblemReport.objects.create(
                service=service, text=text[:2000], client_hash=client_hash("127.0.0.1", purpose=CHECKER)
            )
            opened += 1
    return opened


def check_sources(sources: Iterable[m.Source], *, workers: int = 4, timeout: float = 10.0) -> tuple[list[Fetched], int]:
    sources = [s for s in sources if s.url]
    previous = {
        check.source_id: check.content_sha256
        for check in m.SourceCheck.objects.filter(source__in=sources).exclude(content_sha256="").order_by("checked_at")
    }
    robots: dict[str, object] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(lambda s: fetch(s, previous.get(s.pk, ""), timeout=timeout, robots=robots), sources))
    tasks = 0
    now = timezone.now()
    with transaction.atomic():
        for fetched in results:
            m.SourceCheck.objects.create(
                source=fetched.source,
                checked_at=now,
                status_code=fetched.status,
                content_sha256=fetched.sha256,
                outcome=fetched.outcome,
                detail=fetched.detail[:300],
            )
            if fetched.outcome in (m.SourceCheckOutcome.GONE, m.SourceCheckOutcome.CHANGED):
                tasks += open_task(fetched)
    return results, tasks
