"""The worker that runs imports enqueued by the admin's upload page (exchange/jobs.py); ``make run`` starts it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from rq import Worker

from exchange.jobs import QUEUE_NAME, connection


class Command(BaseCommand):
    help = "Run the import jobs of the queue (RQ on REDIS_URL)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
        parser.add_argument("--queue", default=QUEUE_NAME, help="the queue's name (tests use their own)")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker([options["queue"]], connection=connection())
        worker.work(burst=options["burst"], with_scheduler=False)
