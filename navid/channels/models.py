"""What channels keep in the database: the shared send-rate allowance of each sender."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SendRate(models.Model):
    """A rate limit shared by every worker process: the earliest moment the next message may go (GCRA)."""

    key = models.CharField(_("sender"), max_length=100, primary_key=True)
    # Seconds since the epoch; a plain number so that one UPDATE can move it on every database.
    next_at = models.FloatField(default=0.0)

    class Meta:
        verbose_name = _("send rate")
        verbose_name_plural = _("send rates")

    def __str__(self) -> str:
        return self.key
