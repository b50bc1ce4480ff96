"""Writes of surveys: the builder (surveys, versions, questions), campaign links, kiosk keys, and answering.

Answering is page by page: `response_page_submit` checks every visible answer of one page, writes them all or
nothing, and moves the response on; the last page completes it, records the NPS answer on the response and, for a
detractor, opens a follow-up for the customer's relationship manager (R7.4).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from navid.accounts.models import AuditAction
from navid.accounts.services import Actor, audit_record, audit_update, model_snapshot
from navid.campaigns.models import Campaign, Goal
from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers.models import Customer
from navid.loyalty.services import points_earn
from navid.sales.models import FollowUpSource
from navid.sales.services import followup_create
from navid.surveys.models import (
    LANGUAGES,
    RANGES,
    Answer,
    ConditionOperator,
    EvaluationParameter,
    Question,
    QuestionKind,
    ResponseState,
    Survey,
    SurveyCampaign,
    SurveyChannel,
    SurveyResponse,
    SurveyVersion,
)

TEXT_MAX = 2000
QUESTION_TEXT_MAX = 500
CHOICES_MAX = 30
KIOSK_KEY_MIN = 8
DETRACTOR_MAX = 6


# --- the builder ---


@transaction.atomic
def survey_create(*, actor: Actor, name: str, description: str = "", detractor_due_days: int = 3) -> Survey:
    """A survey with an empty first version."""
    survey = Survey(name=name.strip(), description=description.strip(), detractor_due_days=detractor_due_days)
    _survey_check(survey)
    survey.created_by = actor if actor is not None and actor.is_authenticated else None
    survey.save()
    SurveyVersion.objects.create(survey=survey, number=1)
    audit_record(
        actor=actor, action=AuditAction.CREATE, instance=survey, before=None, after=model_snapshot(survey)
    )
    return survey


@transaction.atomic
def survey_update(
    *, actor: Actor, survey: Survey, name: str, description: str, detractor_due_days: int
) -> Survey:
    """Change a survey's name, description and the due date of detractor follow-ups (not versioned)."""
    before = model_snapshot(survey)
    survey.name, survey.description = name.strip(), description.strip()
    survey.detractor_due_days = detractor_due_days
    _survey_check(survey)
    survey.save()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=survey, before=before, after=model_snapshot(survey)
    )
    return survey


def _survey_check(survey: Survey) -> None:
    errors: dict[str, list[str]] = {}
    if not survey.name:
        errors["name"] = [_("This field is required.")]
    elif len(survey.name) > 200:
        errors["name"] = [_("At most %(n)d characters.") % {"n": 200}]
    if not 1 <= survey.detractor_due_days <= 60:
        errors["detractor_due_days"] = [
            _("Enter a number from %(low)d to %(high)d.") % {"low": 1, "high": 60}
        ]
    if errors:
        raise ValidationFailed(errors)


def version_current(*, survey: Survey) -> SurveyVersion:
    """The newest version of a survey: the one the builder shows and new campaigns send."""
    version = survey.versions.order_by("-number").first()
    if version is None:
        raise NotFound(_("The survey has no version."))
    return version


def version_is_frozen(*, version: SurveyVersion) -> bool:
    """A version with answers (or sent by a campaign) never changes: results keep the questions they answered."""
    return version.responses.exists() or SurveyCampaign.objects.filter(version=version).exists()


def survey_version_for_edit(*, survey: Survey) -> SurveyVersion:
    """The version edits go to: the current one, or a copy of it when it is frozen."""
    current = version_current(survey=survey)
    if not version_is_frozen(version=current):
        return current
    new = SurveyVersion.objects.create(survey=survey, number=current.number + 1)
    copies: dict[int, Question] = {}
    for question in current.questions.order_by("position", "pk"):
        old_pk = question.pk
        condition = question.condition_question_id
        question.pk = None
        question.version = new
        question.condition_question = copies.get(condition) if condition else None
        question.save()
        copies[old_pk] = question
    return new


def _question_in(version: SurveyVersion, question: Question) -> Question:
    """The question of `version` that is `question` or its copy (same position)."""
    if question.version_id == version.pk:
        return question
    found = version.questions.filter(position=question.position).first()
    if found is None:
        raise NotFound(_("The question is no longer in the survey."))
    return found


def clean_question_values(
    *, version: SurveyVersion, values: Mapping[str, Any], question: Question | None
) -> dict:
    """Normalised values of a question, or `ValidationFailed` naming each field and why."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    kind = str(values.get("kind") or "")
    if kind not in QuestionKind.values:
        errors["kind"] = [_("must be one of: %(values)s") % {"values": ", ".join(QuestionKind.values)}]
    out["kind"] = kind
    for lang in LANGUAGES:
        text = str(values.get(f"text_{lang}") or "").strip()
        if len(text) > QUESTION_TEXT_MAX:
            errors[f"text_{lang}"] = [_("At most %(n)d characters.") % {"n": QUESTION_TEXT_MAX}]
        out[f"text_{lang}"] = text
    if not out["text_en"]:
        errors["text_en"] = [_("This field is required.")]
    try:
        out["page"] = int(values.get("page") or 1)
        if not 1 <= out["page"] <= 50:
            raise ValueError
    except (TypeError, ValueError):
        errors["page"] = [_("Enter a number from %(low)d to %(high)d.") % {"low": 1, "high": 50}]
        out["page"] = 1
    out["required"] = bool(values.get("required"))
    parameter_id = str(values.get("parameter") or "")
    out["parameter"] = None
    if kind == QuestionKind.RATING:
        out["parameter"] = (
            EvaluationParameter.objects.filter(pk=int(parameter_id), is_active=True).first()
            if parameter_id.isdigit()
            else None
        )
        if out["parameter"] is None:
            errors["parameter"] = [_("Choose the evaluation parameter this question rates.")]
    out["choices"] = []
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        out["choices"] = _clean_choices(values.get("choices"), errors)
    condition_id = str(values.get("condition_question") or "")
    out["condition_question"] = None
    out["condition_operator"] = ""
    out["condition_value"] = ""
    if condition_id:
        target = version.questions.filter(pk=int(condition_id)).first() if condition_id.isdigit() else None
        if target is None:
            errors["condition_question"] = [_("Choose a question of this survey.")]
        elif target.page >= out["page"]:
            errors["condition_question"] = [_("A question can depend only on a question of an earlier page.")]
        else:
            out["condition_question"] = target
            operator = str(values.get("condition_operator") or "")
            value = str(values.get("condition_value") or "").strip()
            if operator not in ConditionOperator.values:
                errors["condition_operator"] = [
                    _("must be one of: %(values)s") % {"values": ", ".join(ConditionOperator.values)}
                ]
            elif operator != ConditionOperator.EQ or target.kind in RANGES:
                try:
                    int(value)
                except ValueError:
                    errors["condition_value"] = [_("Enter a whole number.")]
            if not value:
                errors["condition_value"] = [_("This field is required.")]
            out["condition_operator"], out["condition_value"] = operator, value[:50]
    if errors:
        raise ValidationFailed(errors)
    return out


def _clean_choices(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """Choices from lines "value | English | Persian | Russian" (or a list of dicts from the API)."""
    items: list[dict[str, str]] = []
    if isinstance(raw, str):
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")] + ["", "", ""]
            if not parts[0] or not parts[1]:
                errors["choices"] = [
                    _("Line %(n)d: write value | English | Persian | Russian.") % {"n": number}
                ]
                return []
            items.append({"value": parts[0][:50], "en": parts[1], "fa": parts[2], "ru": parts[3]})
    elif isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict) or not item.get("value") or not item.get("en"):
                errors["choices"] = [_("Each choice needs a value and an English label.")]
                return []
            items.append({k: str(item.get(k, ""))[:200] for k in ("value", "en", "fa", "ru")})
    if len(items) < 2:
        errors["choices"] = [_("Give at least two choices.")]
    elif len(items) > CHOICES_MAX:
        errors["choices"] = [_("At most %(n)d choices.") % {"n": CHOICES_MAX}]
    elif len({i["value"] for i in items}) != len(items):
        errors["choices"] = [_("Each choice needs its own value.")]
    return items


@transaction.atomic
def question_save(
    *, actor: Actor, survey: Survey, values: Mapping[str, Any], question: Question | None = None
) -> Question:
    """Add a question (at the end) or change one; a frozen version is copied first."""
    version = survey_version_for_edit(survey=survey)
    target = _question_in(version, question) if question is not None else None
    cleaned = clean_question_values(version=version, values=values, question=target)
    if cleaned["condition_question"] is not None:
        cleaned["condition_question"] = _question_in(version, cleaned["condition_question"])
    before = model_snapshot(target) if target is not None else None
    if target is None:
        last = version.questions.aggregate(m=Max("position"))["m"] or 0
        target = Question(version=version, position=last + 1)
    for field, value in cleaned.items():
        setattr(target, field, value)
    target.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if before is None else AuditAction.UPDATE,
        instance=target,
        before=before,
        after=model_snapshot(target),
        record=survey,
    )
    return target


@transaction.atomic
def question_delete(*, actor: Actor, survey: Survey, question: Question) -> SurveyVersion:
    """Remove a question (and the questions that depend on it) from the version being edited."""
    version = survey_version_for_edit(survey=survey)
    target = _question_in(version, question)
    before = model_snapshot(target)
    target.delete()
    audit_record(
        actor=actor, action=AuditAction.DELETE, instance=target, before=before, after=None, record=survey
    )
    return version


@transaction.atomic
def question_move(*, actor: Actor, survey: Survey, question: Question, up: bool) -> None:
    """Swap a question with the one before (up) or after it."""
    version = survey_version_for_edit(survey=survey)
    target = _question_in(version, question)
    ordered = list(version.questions.order_by("position", "pk"))
    index = ordered.index(target)
    other_index = index - 1 if up else index + 1
    if not 0 <= other_index < len(ordered):
        return
    other = ordered[other_index]
    ordered[index], ordered[other_index] = other, target
    for position, item in enumerate(ordered, start=1):
        if item.position != position:
            Question.objects.filter(pk=item.pk).update(position=position)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=target,
        before={"position": index + 1},
        after={"position": other_index + 1},
        record=survey,
    )


def kiosk_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def survey_kiosk_key_set(*, actor: Actor, survey: Survey, key: str) -> Survey:
    """Set (or clear, with an empty key) the key a branch tablet needs to show the survey in kiosk mode."""
    key = key.strip()
    if key and len(key) < KIOSK_KEY_MIN:
        raise ValidationFailed({"key": [_("At least %(n)d characters.") % {"n": KIOSK_KEY_MIN}]})
    before = model_snapshot(survey)
    survey.kiosk_key_digest = kiosk_key_digest(key) if key else ""
    survey.save(update_fields=["kiosk_key_digest", "updated_at"])
    audit_record(
        actor=actor, action=AuditAction.UPDATE, instance=survey, before=before, after=model_snapshot(survey)
    )
    return survey


@transaction.atomic
def survey_campaign_link(*, actor: Actor, campaign: Campaign, survey: Survey) -> SurveyCampaign:
    """Make a satisfaction campaign send the survey's current version (which freezes that version)."""
    if campaign.goal != Goal.SATISFACTION:
        raise ValidationFailed({"campaign": [_("Only a satisfaction campaign can send a survey.")]})
    version = version_current(survey=survey)
    if not version.questions.exists():
        raise ValidationFailed({"survey": [_("The survey has no questions yet.")]})
    link, _created = SurveyCampaign.objects.update_or_create(campaign=campaign, defaults={"version": version})
    audit_update(actor=actor, instance=link, before=None, record=survey)
    return link


# --- answering ---


def response_start(
    *,
    version: SurveyVersion,
    channel: str,
    language: str,
    customer: Customer | None = None,
    message_id: int | None = None,
    campaign_id: int | None = None,
    segment_id: int | None = None,
    entered_by: Any = None,
) -> SurveyResponse:
    """The response of a campaign message (created once: the unique constraint holds against races) or a new one."""
    if channel not in SurveyChannel.values:
        raise ValidationFailed(
            {"channel": [_("must be one of: %(values)s") % {"values": ", ".join(SurveyChannel.values)}]}
        )
    if message_id is not None:
        existing = SurveyResponse.objects.filter(message_id=message_id).first()
        if existing is not None:
            return existing
    response = SurveyResponse(
        survey_id=version.survey_id,
        version=version,
        customer=customer,
        message_id=message_id,
        campaign_id=campaign_id,
        segment_id=segment_id,
        channel=channel,
        language=language if language in LANGUAGES else "fa",
        started_at=timezone.now(),
        branch_id=customer.branch_id if customer else None,
        region_id=customer.region_id if customer else None,
        entered_by=entered_by if entered_by is not None and entered_by.is_authenticated else None,
    )
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        if message_id is None:
            raise
        return SurveyResponse.objects.get(message_id=message_id)
    return response


def _condition_holds(question: Question, answers: Mapping[int, Answer]) -> bool:
    if question.condition_question_id is None:
        return True
    answer = answers.get(question.condition_question_id)
    if answer is None:
        return False
    value = question.condition_value
    if answer.number is not None:
        try:
            expected = int(value)
        except ValueError:
            return False
        if question.condition_operator == ConditionOperator.LTE:
            return answer.number <= expected
        if question.condition_operator == ConditionOperator.GTE:
            return answer.number >= expected
        return answer.number == expected
    if question.condition_operator == ConditionOperator.EQ:
        return value in answer.choices or answer.text == value
    return False


# The questions of versions that have responses, by version id. Such a version never changes (edits go to a new
# version, see survey_version_for_edit), so each process may keep its questions; the public page then reads
# only the response and its answers.
_FROZEN_QUESTIONS: dict[tuple[int, dt.datetime], list[Question]] = {}
_FROZEN_QUESTIONS_MAX = 256


def response_questions(*, response: SurveyResponse) -> list[Question]:
    """The questions of the response's version, in order (kept per process: the version is frozen)."""
    version = response.version  # callers select it with the response: no query of its own
    key = (version.pk, version.created_at)  # the creation time tells a restored database's reused ids apart
    cached = _FROZEN_QUESTIONS.get(key)
    if cached is None:
        cached = list(Question.objects.filter(version_id=version.pk).order_by("position", "pk"))
        if len(_FROZEN_QUESTIONS) >= _FROZEN_QUESTIONS_MAX:
            _FROZEN_QUESTIONS.clear()
        _FROZEN_QUESTIONS[key] = cached
    return cached


def response_pages(*, questions: Sequence[Question]) -> list[int]:
    """The page numbers of a version's questions, in order."""
    return sorted({q.page for q in questions})


def page_questions(
    *,
    response: SurveyResponse,
    page: int,
    questions: Sequence[Question] | None = None,
    answers: Mapping[int, Answer] | None = None,
) -> list[Question]:
    """The questions of one page the respondent sees, given the answers of earlier pages."""
    all_questions = questions if questions is not None else response_questions(response=response)
    if answers is None:
        answers = {a.question_id: a for a in response.answers.all()}
    return [q for q in all_questions if q.page == page and _condition_holds(q, answers)]


def _clean_answer(question: Question, raw: list[str]) -> Answer | None:
    """The answer to one question from the form's values, None when not answered; raises ValueError(reason)."""
    values = [v.strip() for v in raw if v.strip()]
    if not values:
        if question.required:
            raise ValueError(_("Answer this question."))
        return None
    if question.kind in RANGES:
        low, high = RANGES[QuestionKind(question.kind)]
        try:
            number = int(values[0])
        except ValueError:
            number = None
        if number is None or not low <= number <= high or len(values) > 1:
            raise ValueError(_("Choose a number from %(low)d to %(high)d.") % {"low": low, "high": high})
        return Answer(question=question, number=number, parameter_id=question.parameter_id)
    if question.kind == QuestionKind.TEXT:
        text = values[0]
        if len(text) > TEXT_MAX:
            raise ValueError(
                _("Write at most %(n)d characters (you wrote %(count)d).")
                % {"n": TEXT_MAX, "count": len(text)}
            )
        return Answer(question=question, text=text)
    allowed = [value for value, _label in question.choice_items("en")]
    if any(v not in allowed for v in values) or (question.kind == QuestionKind.SINGLE and len(values) > 1):
        raise ValueError(_("Choose one of the answers offered."))
    chosen = [v for v in allowed if v in values]  # in the question's order, each once
    number = allowed.index(chosen[0]) + 1 if question.kind == QuestionKind.SINGLE else None
    return Answer(question=question, choices=chosen, number=number)


@transaction.atomic
def response_page_submit(
    *, response: SurveyResponse, page: int, data: Mapping[str, list[str]], actor: Actor = None
) -> SurveyResponse:
    """Check and store the answers of one page (all or nothing) and move on; the last page completes the response.

    `data` maps "q<question id>" to the submitted values. A completed response cannot change (Conflict).
    """
    locked = (
        SurveyResponse.objects.select_for_update(of=("self",)).select_related("version").get(pk=response.pk)
    )
    if locked.state == ResponseState.COMPLETED:
        raise Conflict(_("This survey has already been answered. Thank you."))
    questions = response_questions(response=locked)
    pages = response_pages(questions=questions)
    if page not in pages or page > locked.page:
        raise ValidationFailed({"page": [_("This page of the survey is not open yet.")]})
    existing = {a.question_id: a for a in locked.answers.all()}
    visible = page_questions(response=locked, page=page, questions=questions, answers=existing)
    errors: dict[str, list[str]] = {}
    answers: list[Answer] = []
    for question in visible:
        try:
            answer = _clean_answer(question, list(data.get(f"q{question.pk}", [])))
        except ValueError as exc:
            errors[f"q{question.pk}"] = [str(exc)]
            continue
        if answer is not None:
            answers.append(answer)
    if errors:
        raise ValidationFailed(errors)
    page_ids = [q.pk for q in questions if q.page == page]
    # A page answered again (the back button) replaces its answers; later pages' answers may no longer apply.
    later_ids = [q.pk for q in questions if q.page > page]
    replaced = [pk for pk in page_ids + later_ids if pk in existing]
    if replaced:
        locked.answers.filter(question_id__in=replaced).delete()
    for answer in answers:
        answer.response = locked
        answer.survey_id = locked.survey_id
    Answer.objects.bulk_create(answers)
    answered = {pk: a for pk, a in existing.items() if pk not in replaced} | {
        a.question_id: a for a in answers
    }
    following = [
        p for p in pages if p > page and any(q.page == p and _condition_holds(q, answered) for q in questions)
    ]
    if following:
        locked.page = following[0]
        locked.save(update_fields=["page"])
        return locked
    return _response_complete(response=locked, questions=questions, answered=answered, actor=actor)


def _response_complete(
    *, response: SurveyResponse, questions: list[Question], answered: Mapping[int, Answer], actor: Actor
) -> SurveyResponse:
    nps = next(
        (answered[q.pk].number for q in questions if q.kind == QuestionKind.NPS and q.pk in answered), None
    )
    response.state = ResponseState.COMPLETED
    response.completed_at = timezone.now()
    response.nps_score = nps
    response.save(update_fields=["state", "completed_at", "nps_score"])
    Answer.objects.filter(response=response).update(completed_at=response.completed_at)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=response,
        before=None,
        after=model_snapshot(response),
        record=response.customer,
    )
    if nps is not None and nps <= DETRACTOR_MAX and response.customer is not None:
        followup_create(
            actor=actor,
            customer=response.customer,
            source=FollowUpSource.SURVEY_DETRACTOR,
            source_ref=f"survey-response:{response.pk}",
            subject=_("Detractor in the survey %(survey)s (NPS %(score)d)")
            % {"survey": response.survey.name[:120], "score": nps},
            details=response_summary(response=response, questions=questions, answered=answered)[:10_000],
            due_at=response.completed_at + dt.timedelta(days=response.survey.detractor_due_days),
        )
    if response.customer is not None:
        # Loyalty points for answering (R6.3), once per response, when the bank has a rule for it.
        points_earn(
            customer=response.customer,
            kind="survey_answered",
            source_ref=f"survey-response:{response.pk}",
            occurred_at=response.completed_at,
            actor=actor,
        )
    return response


def response_summary(
    *, response: SurveyResponse, questions: Sequence[Question], answered: Mapping[int, Answer]
) -> str:
    """The answers as text lines "question: answer", in the response's language, for a follow-up's details."""
    lines = []
    for question in questions:
        answer = answered.get(question.pk)
        if answer is None:
            continue
        if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            labels = dict(question.choice_items(response.language))
            value = ", ".join(labels.get(c, c) for c in answer.choices)
        elif answer.number is not None:
            value = str(answer.number)
        else:
            value = answer.text
        lines.append(f"{question.text(response.language)}: {value}")
    return "\n".join(lines)
