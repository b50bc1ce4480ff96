"""Models of surveys: evaluation parameters, surveys and their versions, questions, responses and answers.

A survey's questions belong to a `SurveyVersion`. A version that has responses is frozen: editing the survey then
copies the questions into a new version (see `services.survey_version_for_edit`), so every response keeps the
questions it was answered with. Results read two flat tables: `SurveyResponse` (one row per respondent, with the
NPS score and the grouping columns copied in) and `Answer` (one row per question answered, numeric value or text).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from navid.campaigns.models import Campaign
from navid.core.models import ReferenceItem, TimeStampedModel
from navid.customers.models import Customer

LANGUAGES = ("fa", "ru", "en")


class EvaluationParameter(ReferenceItem):
    """What customers rate from 1 to 5: speed of service, staff courtesy, branch environment ... (a list)."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("evaluation parameter")
        verbose_name_plural = _("evaluation parameters")


class Survey(TimeStampedModel):
    """A questionnaire; its questions live in versions, the newest of which is the one being edited or sent."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    detractor_due_days = models.PositiveSmallIntegerField(
        _("detractor follow-up due after (days)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    # SHA-256 of the key a branch tablet must present to show this survey in kiosk mode; empty: no kiosk.
    kiosk_key_digest = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-id"]
        permissions = [
            ("view_survey_results", _("Can see survey results")),
            ("answer_survey_by_phone", _("Can fill in a survey for a customer on the phone")),
            ("set_survey_kiosk_key", _("Can set the kiosk key of a survey")),
        ]

    def __str__(self) -> str:
        return self.name


class SurveyVersion(models.Model):
    """One set of questions of a survey; frozen once anyone answered it."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey version")
        verbose_name_plural = _("survey versions")
        ordering = ["survey", "number"]
        constraints = [models.UniqueConstraint(fields=["survey", "number"], name="survey_version_once")]

    def __str__(self) -> str:
        return f"{self.survey} v{self.number}"


class QuestionKind(models.TextChoices):
    NPS = "nps", _("Recommendation (NPS, 0-10)")
    CSAT = "csat", _("Satisfaction (CSAT, 1-5)")
    RATING = "rating", _("Rating of an evaluation parameter (1-5)")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TEXT = "text", _("Free text")


# The numeric range of each kind that has one.
RANGES = {QuestionKind.NPS: (0, 10), QuestionKind.CSAT: (1, 5), QuestionKind.RATING: (1, 5)}


class ConditionOperator(models.TextChoices):
    LTE = "lte", _("at most")
    GTE = "gte", _("at least")
    EQ = "eq", _("is")


class Question(models.Model):
    """One question of a version, on a page; shown only when its condition on an earlier answer holds."""

    version = models.ForeignKey(SurveyVersion, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(_("order"))
    page = models.PositiveSmallIntegerField(
        _("page"), default=1, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    kind = models.CharField(_("type"), max_length=10, choices=QuestionKind.choices)
    text_fa = models.CharField(_("question (Persian)"), max_length=500, blank=True)
    text_ru = models.CharField(_("question (Russian)"), max_length=500, blank=True)
    text_en = models.CharField(_("question (English)"), max_length=500)
    required = models.BooleanField(_("required"), default=True)
    parameter = models.ForeignKey(
        EvaluationParameter,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("evaluation parameter"),
    )
    # For single and multiple choice: [{"value": "branch", "en": "...", "fa": "...", "ru": "..."}, ...]
    choices = models.JSONField(_("choices"), default=list, blank=True)
    condition_question = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shown when the answer to"),
    )
    condition_operator = models.CharField(
        _("condition"), max_length=3, choices=ConditionOperator.choices, blank=True
    )
    condition_value = models.CharField(_("condition value"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["version", "position", "pk"]

    def __str__(self) -> str:
        return self.text_en

    def text(self, language: str | None = None) -> str:
        lang = (language or get_language() or "en")[:2]
        return str(getattr(self, f"text_{lang}", "") or self.text_en)

    def choice_items(self, language: str | None = None) -> list[tuple[str, str]]:
        """(value, label) of each choice in the language, falling back to English."""
        lang = (language or get_language() or "en")[:2]
        return [(str(c["value"]), str(c.get(lang) or c.get("en") or c["value"])) for c in self.choices]


class SurveyChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    KIOSK = "kiosk", _("Branch tablet")
    WEB = "web", _("Web link")


class ResponseState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("Started")
    COMPLETED = "completed", _("Completed")


class SurveyResponse(models.Model):
    """One respondent's answers to one version; one per campaign message (a database constraint).

    The grouping columns of the results (branch, region, segment, channel, month) are copied in when the response
    starts, so the report is one GROUP BY on this table and never joins customers.
    """

    follows_customer_merge = True

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses", db_index=False)
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="survey_responses"
    )
    # The campaign message the link came in (campaigns.OutboxMessage), a plain id like Interaction.campaign_id.
    message_id = models.BigIntegerField(null=True, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=SurveyChannel.choices)
    language = models.CharField(_("language"), max_length=2, default="fa")
    state = models.CharField(
        _("state"), max_length=12, choices=ResponseState.choices, default=ResponseState.IN_PROGRESS
    )
    page = models.PositiveSmallIntegerField(_("page reached"), default=1)
    started_at = models.DateTimeField(_("started at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    nps_score = models.SmallIntegerField(_("NPS answer"), null=True, blank=True)
    branch_id = models.BigIntegerField(null=True, blank=True)
    region_id = models.BigIntegerField(null=True, blank=True)
    segment_id = models.BigIntegerField(null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=Q(message_id__isnull=False),
                name="survey_response_per_message",
            ),
            models.CheckConstraint(
                condition=Q(nps_score__isnull=True) | Q(nps_score__gte=0, nps_score__lte=10),
                name="survey_response_nps_range",
            ),
        ]
        indexes = [
            # The report: completed responses of a survey in a period, NPS read from the index.
            models.Index(
                fields=["survey", "state", "completed_at", "nps_score"], name="survey_response_report"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.pk}"


class Answer(models.Model):
    """One answer to one question: a number (NPS, CSAT, rating, single choice index) or text or choices."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    # Copied from the response and question so the per-parameter report is one GROUP BY on this table.
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+", db_index=False)
    parameter = models.ForeignKey(
        EvaluationParameter, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    number = models.SmallIntegerField(_("value"), null=True, blank=True)
    # Copied from the response when it completes: answers of unfinished responses never count, without a join.
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True, default="")
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_once_per_question"),
        ]
        indexes = [
            # The per-parameter report reads only this index (an index-only scan on PostgreSQL).
            models.Index(
                fields=["survey", "parameter", "number"],
                condition=Q(completed_at__isnull=False, parameter__isnull=False),
                name="answer_parameter_report",
            ),
            models.Index(fields=["survey", "completed_at"], name="answer_survey_completed"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id}:{self.question_id}"


class SurveyCampaign(models.Model):
    """A satisfaction campaign (campaigns.Campaign, goal "satisfaction") sends this survey version."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="survey_link")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="campaigns")

    class Meta:
        verbose_name = _("survey campaign")
        verbose_name_plural = _("survey campaigns")

    def __str__(self) -> str:
        return f"{self.campaign_id}->{self.version_id}"
