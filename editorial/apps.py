from django.apps import AppConfig


class EditorialConfig(AppConfig):
    name = "editorial"
    verbose_name = "Wegweiser NRW editorial workflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from directory.cache import shown_on_pages
        from editorial.models import FieldGroupVerification

        # A service page says which of its facts were confirmed when: a confirmation makes cached pages stale.
        shown_on_pages(FieldGroupVerification)
