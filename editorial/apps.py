from django.apps import AppConfig


class EditorialConfig(AppConfig):
    name = "editorial"
    verbose_name = "Wegweiser NRW editorial workflow"
    default_auto_field = "django.db.models.BigAutoField"
