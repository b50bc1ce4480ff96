from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "navid.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        # Points and tier usable in segments: an explicit registration (ADR 0005), not a signal.
        from navid.loyalty import conditions

        conditions.register()
