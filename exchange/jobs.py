"""Imports as jobs of a real queue (RQ on the project's Redis), run by a worker process, not in a web request.

The admin's upload page enqueues an import (:func:`enqueue_import`) and shows its progress and then its
report (:func:`job_state`); ``manage.py import_worker`` (started by ``make run``) runs the jobs. A job is one
:class:`exchange.imports.Importer` run: all or nothing in one transaction, so a worker killed half-way leaves
the database as it was (PostgreSQL rolls back the open transaction of a dead connection). The file travels
with the job in Redis (at most the upload page's limit); the report comes back as the job's result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from rq import Queue, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from exchange.imports import Importer, ImportFile, ImportReport

QUEUE_NAME = "wegweiser-imports"
JOB_TIMEOUT = 60 * 60  # seconds: 100,000 rows at the slowest rate measured still finish
RESULT_TTL = 24 * 60 * 60  # the report stays readable for a day


def connection() -> redis.Redis:
    # RQ stores pickled jobs: a plain connection (bytes), not the cache's.
    return redis.Redis.from_url(settings.REDIS_URL)


def queue(name: str = QUEUE_NAME) -> Queue:
    return Queue(name, connection=connection(), default_timeout=JOB_TIMEOUT)


def enqueue_import(
    name: str, data: bytes, file_format: str, *, dry_run: bool, user_id: int | None, queue_name: str | None = None
) -> str:
    """Put an import on the queue; returns the job's id."""
    job = queue(queue_name or QUEUE_NAME).enqueue(
        run_import_job,
        name,
        data,
        file_format,
        dry_run,
        user_id,
        result_ttl=RESULT_TTL,
        failure_ttl=RESULT_TTL,
        meta={"user_id": user_id, "name": name, "dry_run": dry_run, "stages": {}},
    )
    return str(job.id)


def run_import_job(name: str, data: bytes, file_format: str, dry_run: bool, user_id: int | None) -> ImportReport:
    """The job a worker runs: the import, its progress written to the job's meta as it goes."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    importer = Importer(ImportFile(name, data), dry_run=dry_run, file_format=file_format, user=user)
    job = get_current_job()
    if job is not None:  # the process that holds the import's transaction (RQ forks one a job)
        job.meta["pid"] = os.getpid()
        job.save_meta()
    for progress in importer.run():
        if job is not None:
            job.meta.setdefault("stages", {})[progress.stage] = [progress.done, progress.total]
            job.save_meta()
    return importer.report


@dataclass
class JobState:
    """What the upload page shows of a job: where it is, and the report once done."""

    name: str
    dry_run: bool
    status: str  # queued, started, finished, failed …
    stages: list[tuple[str, int, int]]  # (stage, rows done, rows in all), in the order reached: checked, written
    report: ImportReport | None

    @property
    def running(self) -> bool:
        return self.report is None and self.status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def job_state(job_id: str, user_id: int | None) -> JobState | None:
    """The job's state, or None when there is no such job of this user (or it expired)."""
    try:
        job = Job.fetch(job_id, connection=connection())
    except (NoSuchJobError, ValueError):
        return None
    meta: dict[str, Any] = job.get_meta(refresh=True)
    if meta.get("user_id") != user_id:
        return None
    status = job.get_status(refresh=False)
    report = job.return_value() if status == JobStatus.FINISHED else None
    return JobState(
        name=str(meta.get("name", "")),
        dry_run=bool(meta.get("dry_run")),
        status=str(status),
        stages=[(str(stage), int(done), int(total)) for stage, (done, total) in meta.get("stages", {}).items()],
        report=report if isinstance(report, ImportReport) else None,
    )
