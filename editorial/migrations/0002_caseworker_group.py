"""The "caseworker" group: administrators make an account a caseworker account by adding it."""

from django.db import migrations

CASEWORKER_GROUP = "caseworker"


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=CASEWORKER_GROUP)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CASEWORKER_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("editorial", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
