"""Before at most one change request per entry may wait (0004): overlapping requests left from before are closed,
the later ones rejected with a reason their authors read, so nothing is lost without a trace. Its own migration:
PostgreSQL does not alter a table with row updates pending in the same transaction."""

from django.db import migrations
from django.utils import timezone

OVERLAP_REASON = (
    "Closed when overlapping change requests were no longer allowed: change request #{kept} on this entry was "
    "proposed earlier and waits for review. Please propose this change again once it is decided."
)


def close_overlapping_requests(apps, schema_editor):
    ChangeRequest = apps.get_model("editorial", "ChangeRequest")
    kept: dict[object, int] = {}
    for change in ChangeRequest.objects.filter(status="pending").order_by("created_at", "id"):
        if change.service_id not in kept:
            kept[change.service_id] = change.pk
            continue
        change.status = "rejected"
        change.reviewed_at = timezone.now()
        change.reason = OVERLAP_REASON.format(kept=kept[change.service_id])
        change.save(update_fields=["status", "reviewed_at", "reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("editorial", "0002_caseworker_group"),
    ]

    operations = [
        migrations.RunPython(close_overlapping_requests, migrations.RunPython.noop),
    ]
