from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Wegweiser NRW directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from directory.cache import connect_signals

        connect_signals()
