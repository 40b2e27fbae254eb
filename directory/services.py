"""Writes that span records: plain functions, atomic, keyword-only."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction


@transaction.atomic
def restore_version(version: Any, *, user: AbstractBaseUser | None) -> Any:
    """Make an earlier version of a record (a simple-history row) its current state; kept as a new version."""
    record = version.instance
    record._state.adding = False  # the record exists: update it, never insert a copy
    record._change_reason = f"restored the version of {version.history_date:%Y-%m-%d %H:%M}"
    record._history_user = user
    record.save()
    return record
