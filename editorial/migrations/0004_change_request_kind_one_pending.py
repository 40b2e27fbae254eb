"""Change requests get a kind (an edit, or a "still correct" held for review), and at most one pending request
per service and kind."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("editorial", "0003_close_overlapping_change_requests"),
    ]

    operations = [
        migrations.AddField(
            model_name="changerequest",
            name="kind",
            field=models.CharField(
                choices=[("edit", "change"), ("confirm", "confirmation: still correct")], default="edit", max_length=10
            ),
        ),
        migrations.AddConstraint(
            model_name="changerequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "pending")),
                fields=("service", "kind"),
                name="change_request_one_pending_per_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="changerequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["edit", "confirm"])), name="change_request_kind_valid"
            ),
        ),
    ]
