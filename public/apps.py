from django.apps import AppConfig


class PublicConfig(AppConfig):
    """The newcomers' site: pages, search form, referral slip, map page."""

    name = "public"
    verbose_name = "Wegweiser NRW public site"
