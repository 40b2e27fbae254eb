from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Records in and out: the data/ directory, spreadsheets and HSDS packages in; HSDS packages out."""

    name = "exchange"
    verbose_name = "Import / Export"
