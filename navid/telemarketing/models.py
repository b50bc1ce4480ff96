"""Models of telemarketing (R5): call lists, agents, scripts, outcome codes and call attempts.

A telemarketing campaign is a `campaigns.Campaign` with a phone channel. Its phone outbox rows (written by
materialisation, after the contact policy and the control group) become its call list: one `CallEntry` per row.
Agents take entries (or the dialer process does, then bridges the answered call to an agent); every try is a
`CallAttempt`, which ends with an `OutcomeCode` of the campaign and becomes one interaction. docs/telemarketing.md
is the guide.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from navid.accounts.models import Region
from navid.campaigns.models import Campaign
from navid.core.models import TimeStampedModel
from navid.customers.models import Customer
from navid.interactions.models import Outcome
from navid.sales.models import FollowUp


class DialMode(models.TextChoices):
    PREVIEW = "preview", _("Preview: the agent sees the customer, then calls")
    PROGRESSIVE = "progressive", _("Progressive: a call starts when an agent is free")
    PREDICTIVE = "predictive", _("Predictive: calls ahead of free agents")


class AssignmentRule(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LANGUAGE = "language", _("By the customer's language")
    REGION = "region", _("By region")
    SKILL = "skill", _("By skill")
    WORKLOAD = "workload", _("By current workload")


class CallSettings(TimeStampedModel):
    """How a telemarketing campaign is called: dialer mode, trunk, caller ID, pacing limit, tariff, assignment."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="call_settings", verbose_name=_("campaign")
    )
    mode = models.CharField(
        _("dialer mode"), max_length=12, choices=DialMode.choices, default=DialMode.PREVIEW
    )
    trunk = models.CharField(
        _("trunk"), max_length=100, blank=True, help_text=_('The Asterisk trunk, e.g. "PJSIP/operator".')
    )
    caller_id = models.CharField(_("caller ID"), max_length=40, blank=True)
    max_abandon_percent = models.DecimalField(
        _("abandoned calls at most (%)"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("3"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("20"))],
    )
    tariff_per_minute = models.DecimalField(
        _("tariff per minute of talk"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    assignment = models.CharField(
        _("assignment to agents"),
        max_length=12,
        choices=AssignmentRule.choices,
        default=AssignmentRule.ROUND_ROBIN,
    )
    skill = models.CharField(
        _("skill needed"), max_length=40, blank=True, help_text=_("Used when assignment is by skill.")
    )
    ring_timeout_seconds = models.PositiveSmallIntegerField(
        _("ring for at most (seconds)"), default=30, validators=[MinValueValidator(5), MaxValueValidator(120)]
    )

    class Meta:
        verbose_name = _("call settings")
        verbose_name_plural = _("call settings")
        permissions = [
            ("work_console", _("Can work the agent console")),
            ("supervise_calls", _("Can watch agents and reassign call lists")),
            ("manage_call_campaigns", _("Can edit call settings, scripts and outcome codes")),
            ("view_call_reports", _("Can read call reports")),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.mode}"


class AgentState(models.TextChoices):
    OFFLINE = "offline", _("Offline")
    READY = "ready", _("Ready")
    ON_CALL = "on_call", _("On a call")
    WRAP_UP = "wrap_up", _("Wrap-up")
    PAUSED = "paused", _("Paused")


class Agent(TimeStampedModel):
    """A contact-centre agent: extension, languages, region, skills, the campaigns worked, and the live state."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="call_agent", verbose_name=_("user")
    )
    extension = models.CharField(
        _("extension"), max_length=60, blank=True, help_text=_('Where calls are bridged, e.g. "PJSIP/1001".')
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    region = models.ForeignKey(
        Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    skills = models.JSONField(_("skills"), default=list, blank=True)
    campaigns = models.ManyToManyField(
        Campaign, related_name="call_agents", blank=True, verbose_name=_("campaigns")
    )
    state = models.CharField(_("state"), max_length=8, choices=AgentState.choices, default=AgentState.OFFLINE)
    state_since = models.DateTimeField(_("in this state since"), null=True, blank=True)
    # Set by every poll of the console; an agent whose console stopped polling is taken offline.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Pause asked for during a call: taken when the call's wrap-up ends.
    pause_after_call = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class EntryState(models.TextChoices):
    QUEUED = "queued", _("In the queue")
    ACTIVE = "active", _("Being called")
    CALLBACK = "callback", _("Call back")
    DONE = "done", _("Done")


class CallEntry(models.Model):
    """One customer of a campaign's call list (from one phone outbox row) and where the calling of it stands."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="call_entries", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    outbox_id = models.BigIntegerField(unique=True)
    phone = models.CharField(_("phone"), max_length=20)
    language = models.CharField(_("language"), max_length=2)
    region_id = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(_("state"), max_length=8, choices=EntryState.choices, default=EntryState.QUEUED)
    # The agent it is assigned to (by the campaign's rule or the supervisor); a callback returns to this agent.
    agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("agent"),
        db_index=False,
    )
    next_call_at = models.DateTimeField(_("call not before"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(_("last outcome"), max_length=40, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call list entry")
        verbose_name_plural = _("call list entries")
        indexes = [
            models.Index(fields=["campaign", "state", "next_call_at"], name="call_entry_queue"),
            models.Index(fields=["agent", "state", "next_call_at"], name="call_entry_agent"),
            # Leases that run out are looked for often: only the few active entries are indexed.
            models.Index(fields=["lease_until"], name="call_entry_lease", condition=Q(state="active")),
        ]
        constraints = [
            # Two agents (or the dialer and an agent) can never hold the same customer at once, in any campaign.
            models.UniqueConstraint(
                fields=["customer"], condition=Q(state="active"), name="call_entry_one_active_per_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}"


class NodeKind(models.TextChoices):
    STATEMENT = "statement", _("Statement")
    QUESTION = "question", _("Question")
    OBJECTION = "objection", _("Objection answer")


class ScriptNode(models.Model):
    """One step of a campaign's call script: what the agent says (fa/ru/en); its branches lead on by answer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="script_nodes")
    key = models.SlugField(_("key"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=NodeKind.choices, default=NodeKind.STATEMENT)
    title = models.CharField(_("title"), max_length=100)
    text_fa = models.TextField(_("text (Persian)"), blank=True)
    text_ru = models.TextField(_("text (Russian)"), blank=True)
    text_en = models.TextField(_("text (English)"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_start = models.BooleanField(_("first step"), default=False)

    class Meta:
        verbose_name = _("script step")
        verbose_name_plural = _("script steps")
        ordering = ["campaign", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["campaign", "key"], name="script_node_key_unique")]

    def __str__(self) -> str:
        return self.title

    def text_in(self, language: str | None = None) -> str:
        """The text in `language` (the active one by default), else the first text written."""
        language = language or translation.get_language() or "fa"
        texts = {"fa": self.text_fa, "ru": self.text_ru, "en": self.text_en}
        return texts.get(language[:2]) or self.text_fa or self.text_en or self.text_ru


class ScriptBranch(models.Model):
    """An answer to a script step and the step it leads to (none: the script ends there)."""

    node = models.ForeignKey(ScriptNode, on_delete=models.CASCADE, related_name="branches")
    answer_fa = models.CharField(_("answer (Persian)"), max_length=200, blank=True)
    answer_ru = models.CharField(_("answer (Russian)"), max_length=200, blank=True)
    answer_en = models.CharField(_("answer (English)"), max_length=200, blank=True)
    next_node = models.ForeignKey(
        ScriptNode,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("next step"),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("script branch")
        verbose_name_plural = _("script branches")
        ordering = ["node", "position", "pk"]

    def __str__(self) -> str:
        return self.answer_in("en")

    def answer_in(self, language: str | None = None) -> str:
        language = language or translation.get_language() or "fa"
        answers = {"fa": self.answer_fa, "ru": self.answer_ru, "en": self.answer_en}
        return answers.get(language[:2]) or self.answer_fa or self.answer_en or self.answer_ru


class OutcomeAction(models.TextChoices):
    """What an outcome does to the call list entry besides recording the attempt."""

    FINISH = "finish", _("Done with this customer")
    RETRY = "retry", _("Try again later")
    CALLBACK = "callback", _("Call back at the agreed time (same agent)")
    INTERESTED = "interested", _("Interested: open a follow-up task")
    DO_NOT_CALL = "do_not_call", _("Do not call: withdraw phone consent everywhere")
    WRONG_NUMBER = "wrong_number", _("Wrong number: suppress the number")


class OutcomeCode(models.Model):
    """An outcome an agent (or the dialer) records for an attempt, with its interaction outcome and retry rule."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outcome_codes")
    code = models.SlugField(_("code"), max_length=40)
    label_fa = models.CharField(_("label (Persian)"), max_length=100)
    label_ru = models.CharField(_("label (Russian)"), max_length=100, blank=True)
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=12, choices=OutcomeAction.choices)
    interaction_outcome = models.CharField(_("interaction outcome"), max_length=20, choices=Outcome.choices)
    contacted = models.BooleanField(_("counts as a contact"), default=True)
    converted = models.BooleanField(_("counts as a conversion"), default=False)
    retry_attempts = models.PositiveSmallIntegerField(
        _("attempts at most"), default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    retry_minutes = models.PositiveIntegerField(_("minutes between attempts"), default=60)
    for_agents = models.BooleanField(_("offered to agents"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("outcome code")
        verbose_name_plural = _("outcome codes")
        ordering = ["campaign", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["campaign", "code"], name="outcome_code_unique")]

    def __str__(self) -> str:
        return self.label_in()

    def label_in(self, language: str | None = None) -> str:
        language = language or translation.get_language() or "fa"
        labels = {"fa": self.label_fa, "ru": self.label_ru, "en": self.label_en}
        return labels.get(language[:2]) or self.label_fa or self.label_en or self.code


class AttemptState(models.TextChoices):
    PREVIEW = "preview", _("Shown to the agent")
    REQUESTED = "requested", _("Call asked for")
    DIALING = "dialing", _("Dialling")
    TALKING = "talking", _("Talking")
    WRAP_UP = "wrap_up", _("Wrap-up")
    DONE = "done", _("Done")


class DialResult(models.TextChoices):
    """How the network ended the call (the values of navid.channels.dialer.CallOutcome)."""

    ANSWERED = "answered", _("Answered")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no_answer", _("No answer")
    FAILED = "failed", _("Failed")
    ABANDONED = "abandoned", _("Abandoned (no agent free)")


class CallAttempt(models.Model):
    """One try to call a customer of a call list: who, when, how it ended, talk and wrap-up time, cost."""

    entry = models.ForeignKey(CallEntry, on_delete=models.CASCADE, related_name="attempts_made")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts", db_index=False
    )
    state = models.CharField(_("state"), max_length=10, choices=AttemptState.choices)
    dial_result = models.CharField(_("call result"), max_length=10, choices=DialResult.choices, blank=True)
    outcome = models.ForeignKey(
        OutcomeCode,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("outcome"),
    )
    started_at = models.DateTimeField(_("started at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("call ended at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("wrap-up ended at"), null=True, blank=True)
    talk_seconds = models.PositiveIntegerField(_("talk time (s)"), default=0)
    wrap_up_seconds = models.PositiveIntegerField(_("wrap-up time (s)"), default=0)
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, default=Decimal("0"))
    notes = models.TextField(_("notes"), blank=True)
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    interaction_id = models.BigIntegerField(null=True, blank=True)
    followup = models.ForeignKey(
        FollowUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        indexes = [
            models.Index(fields=["campaign", "started_at"], name="call_attempt_campaign"),
            models.Index(fields=["agent", "state"], name="call_attempt_agent_state"),
            models.Index(fields=["state"], name="call_attempt_open", condition=~Q(state="done")),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk}"
