from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemarketingConfig(AppConfig):
    name = "navid.telemarketing"
    label = "telemarketing"
    verbose_name = _("Telemarketing")
