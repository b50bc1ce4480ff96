"""Prospects and customers (R1): parties, contact points, products held, transactions, consent, imports."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navid.accounts.models import Branch, Region
from navid.core.models import ReferenceItem, SoftDeleteModel, TimeStampedModel


class ProspectType(ReferenceItem):
    """Kind of prospect (R1.3), e.g. individual saver, SME, corporate."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("prospect type")
        verbose_name_plural = _("prospect types")


class ProspectRank(ReferenceItem):
    """How promising a prospect is (R1.3), e.g. A, B, C."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("prospect rank")
        verbose_name_plural = _("prospect ranks")


class ProspectStatus(ReferenceItem):
    """Where a prospect stands (R1.3), e.g. new, contacted, negotiating."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("prospect status")
        verbose_name_plural = _("prospect statuses")


class Industry(ReferenceItem):
    """Field of activity (R1.3)."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("industry")
        verbose_name_plural = _("industries")


class ProductType(ReferenceItem):
    """A kind of product a customer can hold: current account, deposit, loan, credit card, ..."""

    is_credit = models.BooleanField(_("credit product"), default=False)

    class Meta(ReferenceItem.Meta):
        verbose_name = _("product type")
        verbose_name_plural = _("product types")


class PartyKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANISATION = "organisation", _("Organisation")


class PartyStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")


class Language(models.TextChoices):
    FA = "fa", _("Persian")
    RU = "ru", _("Russian")
    EN = "en", _("English")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    MAIL = "mail", _("Letter")
    BRANCH = "branch", _("Branch")


class Customer(TimeStampedModel, SoftDeleteModel):
    """A person or organisation the bank targets: a prospect until converted, then a customer."""

    external_id = models.CharField(_("external ID"), max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=PartyKind.choices, default=PartyKind.PERSON)
    status = models.CharField(
        _("status"), max_length=10, choices=PartyStatus.choices, default=PartyStatus.PROSPECT
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    organisation_name = models.CharField(_("organisation name"), max_length=200, blank=True)
    national_id = models.CharField(_("national ID"), max_length=12, unique=True, null=True, blank=True)
    birth_date = models.DateField(_("birth or registration date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    # Indexes on these lists come from the composite indexes in Meta; every extra index slows imports.
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("region"),
        db_index=False,
    )
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
        db_index=False,
    )
    relationship_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="portfolio",
        verbose_name=_("relationship manager"),
        db_index=False,
    )
    language = models.CharField(_("preferred language"), max_length=2, choices=Language.choices, default="fa")
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, blank=True
    )
    prospect_type = models.ForeignKey(
        ProspectType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("prospect type"),
        db_index=False,
    )
    prospect_rank = models.ForeignKey(
        ProspectRank,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("prospect rank"),
        db_index=False,
    )
    prospect_status = models.ForeignKey(
        ProspectStatus,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("prospect status"),
        db_index=False,
    )
    industry = models.ForeignKey(
        Industry, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("industry"), db_index=False
    )
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    customer_since = models.DateField(_("customer since"), null=True, blank=True)
    created_by_import = models.ForeignKey(
        "ImportJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        db_index=False,
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        editable=False,
        db_index=False,
    )
    # Normalised name, national ID, phone and email for search (Persian letter forms, ASCII digits, case-folded).
    search_text = models.CharField(max_length=700, blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        permissions = [
            ("restore_customer", _("Can restore a customer from the trash")),
            ("import_customers", _("Can import customers from files")),
            ("merge_customers", _("Can merge duplicate customers")),
            ("export_customers", _("Can export customers")),
            ("manage_consent", _("Can change consent and do-not-contact")),
        ]
        # Every index slows an import down, so only those that a page or a search uses exist. Phone and email are
        # matched exactly (declared here, not with db_index, so PostgreSQL gets no extra LIKE-prefix index).
        indexes = [
            models.Index(fields=["phone"], name="customer_phone_idx"),
            models.Index(fields=["email"], name="customer_email_idx"),
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["region", "status"]),
            models.Index(fields=["relationship_manager"]),
            # Partial indexes: few rows are merged or in the trash, so these cost imports almost nothing.
            models.Index(
                fields=["merged_into"], condition=Q(merged_into__isnull=False), name="customer_merged_idx"
            ),
            models.Index(
                fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="customer_trash_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == PartyKind.ORGANISATION:
            return self.organisation_name
        return f"{self.first_name} {self.last_name}".strip()


class ContactPoint(TimeStampedModel):
    """An additional phone, email or address of a customer (the primary ones live on the customer)."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        ADDRESS = "address", _("Address")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=500)
    label = models.CharField(_("label"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        indexes = [models.Index(fields=["kind", "value"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class ConversionEvent(models.Model):
    """The day a prospect became a customer, and what made it happen (R1.3)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by staff")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        APPLICATION = "application", _("Product application")
        CAMPAIGN = "campaign", _("Campaign")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversions")
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("conversion")
        verbose_name_plural = _("conversions")
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.occurred_at:%Y-%m-%d} {self.source}"


class ProductHolding(TimeStampedModel):
    """A product a customer holds or held, with its balance."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="holdings")
    product_type = models.ForeignKey(ProductType, on_delete=models.PROTECT, verbose_name=_("product"))
    account_number = models.CharField(_("account number"), max_length=34, blank=True)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    balance = models.DecimalField(_("balance"), max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="IRR")

    class Meta:
        verbose_name = _("product held")
        verbose_name_plural = _("products held")
        ordering = ["opened_on"]
        indexes = [models.Index(fields=["product_type", "customer"])]

    def __str__(self) -> str:
        return f"{self.product_type} {self.account_number}"


class Transaction(models.Model):
    """A movement on a customer's product."""

    class TxChannel(models.TextChoices):
        BRANCH = "branch", _("Branch")
        ATM = "atm", _("ATM")
        POS = "pos", _("Card terminal")
        INTERNET = "internet", _("Internet bank")
        MOBILE = "mobile", _("Mobile app")

    class TxKind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        TRANSFER = "transfer", _("Transfer")
        PAYMENT = "payment", _("Payment")
        FEE = "fee", _("Fee")

    # No index of its own: the (customer, occurred_at) index below serves lookups by customer, and the planner
    # would otherwise pick this narrower one for time windows and read every transaction of the customer.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="transactions", db_index=False
    )
    holding = models.ForeignKey(ProductHolding, on_delete=models.CASCADE, null=True, blank=True)
    occurred_at = models.DateTimeField(_("time"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    channel = models.CharField(_("channel"), max_length=10, choices=TxChannel.choices)
    kind = models.CharField(_("type"), max_length=10, choices=TxKind.choices)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["customer", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d} {self.amount}"


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing offers")
    SURVEYS = "surveys", _("Satisfaction surveys")
    SERVICE = "service", _("Service messages")


class Consent(TimeStampedModel):
    """The customer's current yes or no for one channel and purpose, with where it came from."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=100)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "purpose"], name="consent_one_per_purpose")
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {'yes' if self.granted else 'no'}"


class ImportJob(TimeStampedModel):
    """One import of a customer file: its options, its progress and its report of rejected rows."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    file_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows checked"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    errors = models.JSONField(_("rejected rows"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name

    def stored_size(self) -> int:
        """Bytes of the uploaded file (0 once it is gone)."""
        path = Path(self.stored_path)
        return path.stat().st_size if path.exists() else 0

    @property
    def progress_path(self) -> Path:
        """Where a running import reports rows checked: the job's row is not writable while SQLite writes rows."""
        return Path(settings.VAR_DIR) / "jobs" / f"import-{self.pk}.json"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.state in {self.State.SUCCEEDED, self.State.FAILED} else 0
        return min(100, int(100 * self.rows_done / self.rows_total))
