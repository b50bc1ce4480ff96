"""Organisation (regions, branches), staff profiles, API keys and the audit log."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navid.core.models import ReferenceItem


def validate_time_zone(value: str) -> None:
    """An IANA time zone name such as Asia/Tehran or Europe/Moscow."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("“%(value)s” is not a time zone name such as Asia/Tehran."), params={"value": value}
        ) from exc


class Region(ReferenceItem):
    """A region of the bank's network (a province or an oblast)."""

    # Campaigns keep quiet hours and days off in the customer's time zone: the one of the customer's region.
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        validators=[validate_time_zone],
        help_text=_("For example Asia/Tehran or Europe/Moscow; empty means the bank's time zone."),
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("region")
        verbose_name_plural = _("regions")


class Branch(ReferenceItem):
    """A branch; branch officers see the customers of their own branch."""

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="branches", verbose_name=_("region")
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("branch")
        verbose_name_plural = _("branches")


class StaffProfile(models.Model):
    """Where an employee works; decides which customers a branch officer sees."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("branch"),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)


class ApiKey(models.Model):
    """A key for `Authorization: Bearer <key>`; only its SHA-256 digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    RESTORE = "restore", _("Restored")
    MERGE = "merge", _("Merged")
    IMPORT = "import", _("Imported")


class AuditEntry(models.Model):
    """Who changed what and when, with the values before and after; never updated or deleted."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    model = models.CharField(_("record type"), max_length=60)
    object_id = models.CharField(_("record ID"), max_length=40)
    object_repr = models.CharField(_("record"), max_length=200)
    # The top-level record this change belongs to (a consent change belongs to its customer).
    record_model = models.CharField(max_length=60)
    record_id = models.CharField(max_length=40)
    changes = models.JSONField(_("changes"), default=dict)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["record_model", "record_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"
