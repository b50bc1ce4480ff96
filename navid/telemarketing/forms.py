"""Forms of telemarketing: they parse input; the services check and write it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from navid.accounts.models import Region
from navid.campaigns.forms import LocalDateTimeField
from navid.customers.forms import BootstrapForm
from navid.interactions.models import Outcome
from navid.telemarketing.models import (
    AssignmentRule,
    DialMode,
    NodeKind,
    OutcomeAction,
    OutcomeCode,
    ScriptNode,
)


class CallSettingsForm(BootstrapForm):
    mode = forms.ChoiceField(label=_("dialer mode"), choices=DialMode.choices)
    trunk = forms.CharField(label=_("trunk"), required=False, max_length=100)
    caller_id = forms.CharField(label=_("caller ID"), required=False, max_length=40)
    max_abandon_percent = forms.DecimalField(
        label=_("abandoned calls at most (%)"), max_digits=4, decimal_places=2
    )
    tariff_per_minute = forms.DecimalField(
        label=_("tariff per minute of talk"), max_digits=12, decimal_places=2
    )
    assignment = forms.ChoiceField(label=_("assignment to agents"), choices=AssignmentRule.choices)
    skill = forms.CharField(label=_("skill needed"), required=False, max_length=40)
    ring_timeout_seconds = forms.IntegerField(label=_("ring for at most (seconds)"))


class OutcomeCodeForm(BootstrapForm):
    code = forms.SlugField(label=_("code"), max_length=40)
    label_fa = forms.CharField(label=_("label (Persian)"), max_length=100)
    label_ru = forms.CharField(label=_("label (Russian)"), max_length=100, required=False)
    label_en = forms.CharField(label=_("label (English)"), max_length=100, required=False)
    action = forms.ChoiceField(label=_("action"), choices=OutcomeAction.choices)
    interaction_outcome = forms.ChoiceField(label=_("interaction outcome"), choices=Outcome.choices)
    contacted = forms.BooleanField(label=_("counts as a contact"), required=False)
    converted = forms.BooleanField(label=_("counts as a conversion"), required=False)
    retry_attempts = forms.IntegerField(label=_("attempts at most"), initial=3)
    retry_minutes = forms.IntegerField(label=_("minutes between attempts"), initial=60)
    position = forms.IntegerField(label=_("position"), initial=0)


class ScriptNodeForm(BootstrapForm):
    key = forms.SlugField(label=_("key"), max_length=40)
    kind = forms.ChoiceField(label=_("kind"), choices=NodeKind.choices)
    title = forms.CharField(label=_("title"), max_length=100)
    text_fa = forms.CharField(
        label=_("text (Persian)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    text_ru = forms.CharField(
        label=_("text (Russian)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    text_en = forms.CharField(
        label=_("text (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    position = forms.IntegerField(label=_("position"), initial=0)
    is_start = forms.BooleanField(label=_("first step"), required=False)


class ScriptBranchForm(BootstrapForm):
    answer_fa = forms.CharField(label=_("answer (Persian)"), required=False, max_length=200)
    answer_ru = forms.CharField(label=_("answer (Russian)"), required=False, max_length=200)
    answer_en = forms.CharField(label=_("answer (English)"), required=False, max_length=200)
    next_node = forms.ModelChoiceField(
        label=_("next step"), queryset=ScriptNode.objects.none(), required=False
    )
    position = forms.IntegerField(label=_("position"), initial=0)

    def __init__(self, *args: Any, campaign_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["next_node"].queryset = ScriptNode.objects.filter(campaign_id=campaign_id)  # type: ignore[attr-defined]


def _words(value: str) -> list[str]:
    return [word.strip() for word in value.replace("،", ",").split(",") if word.strip()]


class AgentForm(BootstrapForm):
    extension = forms.CharField(label=_("extension"), required=False, max_length=60)
    languages = forms.CharField(label=_("languages"), required=False, help_text=_("e.g. fa, en"))
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.all(), required=False)
    skills = forms.CharField(label=_("skills"), required=False, help_text=_("Separated by commas."))

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "extension": data["extension"],
            "languages": _words(data["languages"]),
            "region": data["region"],
            "skills": _words(data["skills"]),
        }


class OutcomeForm(BootstrapForm):
    outcome = forms.ModelChoiceField(label=_("outcome"), queryset=OutcomeCode.objects.none())
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    callback_at = LocalDateTimeField(label=_("call back at"), required=False)

    def __init__(self, *args: Any, campaign_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].queryset = OutcomeCode.objects.filter(  # type: ignore[attr-defined]
            campaign_id=campaign_id, for_agents=True
        )
