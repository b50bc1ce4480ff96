"""Forms of the campaign pages: the plan (with one block per channel and its messages per language), a review
note, a brand layout. They parse input; the rules of a plan live in `services._check_plan`."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from navid.campaigns.models import Brand, Campaign, CampaignChannel, Goal
from navid.campaigns.plans import LANGUAGES, CampaignPlan, ChannelPlanData, TemplateData
from navid.core.dates import InvalidDate, format_date, parse_date
from navid.core.text import to_ascii_digits
from navid.customers.forms import BootstrapForm
from navid.customers.models import ProductType
from navid.offers.models import Offer
from navid.segments.models import Segment

LANGUAGE_NAMES = {"fa": gettext_lazy("Persian"), "ru": gettext_lazy("Russian"), "en": gettext_lazy("English")}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def _planners() -> QuerySet[Any]:
    """Active users who may plan campaigns (the owner must be one of them)."""
    perm = Permission.objects.filter(codename="change_campaign", content_type__app_label="campaigns")
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=perm) | Q(user_permissions__in=perm))
        .distinct()
        .order_by("username")
    )


class LocalDateTimeField(forms.CharField):
    """A date and time in the user's calendar: `2026-12-01 09:00` or Jalali `1405/09/10 09:00`, any digits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            gettext_lazy("Year/month/day and hour:minute; a Jalali date such as 1405/09/10 works too."),
        )
        super().__init__(**kwargs)
        self.widget.attrs.update({"dir": "ltr", "placeholder": "2026-12-01 09:00"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return format_date(timezone.localtime(value), get_language() or "en", with_time=True)
        return value

    def to_python(self, value: Any) -> dt.datetime | None:  # type: ignore[override]
        text = to_ascii_digits(str(value or "")).strip().replace("T", " ")
        if not text:
            return None
        date_text, _sep, time_text = text.partition(" ")
        try:
            day = parse_date(date_text)
        except InvalidDate as exc:
            raise forms.ValidationError(
                _("Not a date: write it as 2026-12-01 09:00 or 1405/09/10 09:00.")
            ) from exc
        hour, minute = 0, 0
        if time_text.strip():
            match = _TIME.match(time_text.strip())
            if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
                raise forms.ValidationError(_("Not a time of day: write it as 09:00."))
            hour, minute = int(match.group(1)), int(match.group(2))
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _field_name(channel: str, part: str) -> str:
    return f"ch_{channel}_{part}"


def _template_name(channel: str, language: str, part: str) -> str:
    return f"tpl_{channel}_{language}_{part}"


class CampaignForm(BootstrapForm):
    """The whole plan of a campaign on one page."""

    name = forms.CharField(label=gettext_lazy("name"), max_length=200, required=False)
    goal = forms.ChoiceField(label=gettext_lazy("goal"), choices=Goal.choices)
    description = forms.CharField(
        label=gettext_lazy("plan"),
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text=gettext_lazy("The marketing and work plan: what, for whom, why, who does what."),
    )
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), label=gettext_lazy("owner"))
    target_segments = forms.ModelMultipleChoiceField(
        queryset=Segment.objects.none(),
        label=gettext_lazy("target segments"),
        required=False,
        widget=forms.SelectMultiple({"size": 5}),
    )
    exclusion_segments = forms.ModelMultipleChoiceField(
        queryset=Segment.objects.none(),
        label=gettext_lazy("exclusion segments"),
        required=False,
        widget=forms.SelectMultiple({"size": 5}),
    )
    offer = forms.ModelChoiceField(queryset=Offer.objects.none(), label=gettext_lazy("offer"), required=False)
    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), label=gettext_lazy("brand"), required=False)
    starts_at = LocalDateTimeField(label=gettext_lazy("start"), required=False)
    ends_at = LocalDateTimeField(label=gettext_lazy("end"), required=False)
    waves_max = forms.IntegerField(label=gettext_lazy("waves at most"), initial=1)
    repeat_every_days = forms.IntegerField(label=gettext_lazy("repeat every (days)"), initial=7)
    response_window_days = forms.IntegerField(label=gettext_lazy("response window (days)"), initial=30)
    conversion_product_type = forms.ModelChoiceField(
        queryset=ProductType.objects.none(),
        label=gettext_lazy("conversion: the customer opens"),
        required=False,
        help_text=gettext_lazy("Empty means the offer's product."),
    )
    control_percent = forms.DecimalField(
        label=gettext_lazy("control group (%)"), initial=Decimal("10"), max_digits=5, decimal_places=2
    )
    control_seed = forms.IntegerField(
        label=gettext_lazy("control group seed"),
        required=False,
        help_text=gettext_lazy(
            "Empty: drawn at random once and recorded, so the same control group can be drawn again."
        ),
    )
    budget_planned = forms.DecimalField(
        label=gettext_lazy("planned budget"), initial=Decimal("0"), max_digits=18, decimal_places=2
    )

    def __init__(self, *args: Any, campaign: Campaign | None = None, **kwargs: Any) -> None:
        if campaign is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(campaign)
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _planners()  # type: ignore[attr-defined]
        segments = Segment.objects.filter(is_archived=False).order_by("name")
        self.fields["target_segments"].queryset = segments  # type: ignore[attr-defined]
        self.fields["exclusion_segments"].queryset = segments  # type: ignore[attr-defined]
        self.fields["offer"].queryset = Offer.objects.filter(is_active=True)  # type: ignore[attr-defined]
        self.fields["brand"].queryset = Brand.objects.all()  # type: ignore[attr-defined]
        self.fields["conversion_product_type"].queryset = ProductType.objects.filter(  # type: ignore[attr-defined]
            is_active=True
        )
        for channel, label in CampaignChannel.choices:
            self.fields[_field_name(channel, "use")] = forms.BooleanField(
                label=gettext_lazy("use %(channel)s") % {"channel": label}, required=False
            )
            self.fields[_field_name(channel, "priority")] = forms.IntegerField(
                label=gettext_lazy("priority"), initial=1, required=False
            )
            self.fields[_field_name(channel, "unit_cost")] = forms.DecimalField(
                label=gettext_lazy("cost per contact"), initial=Decimal("0"), required=False, decimal_places=2
            )
            self.fields[_field_name(channel, "planned_cost")] = forms.DecimalField(
                label=gettext_lazy("planned cost"), initial=Decimal("0"), required=False, decimal_places=2
            )
            self.fields[_field_name(channel, "rate_per_second")] = forms.IntegerField(
                label=gettext_lazy("messages per second at most"), initial=100, required=False
            )
            for language in LANGUAGES:
                direction = "rtl" if language == "fa" else "ltr"
                self.fields[_template_name(channel, language, "subject")] = forms.CharField(
                    label=gettext_lazy("subject"),
                    required=False,
                    max_length=200,
                    widget=forms.TextInput({"dir": direction, "lang": language}),
                )
                self.fields[_template_name(channel, language, "body")] = forms.CharField(
                    label=gettext_lazy("text"),
                    required=False,
                    widget=forms.Textarea({"rows": 4, "dir": direction, "lang": language}),
                )
        # BootstrapForm styled the fields that existed when it ran; style the ones added here too.
        for name, f in self.fields.items():
            if name.startswith(("ch_", "tpl_")):
                css = "form-check-input" if isinstance(f.widget, forms.CheckboxInput) else "form-control"
                f.widget.attrs.setdefault("class", css)

    @staticmethod
    def initial_from(campaign: Campaign) -> dict[str, Any]:
        """The form's values for a saved campaign."""
        initial: dict[str, Any] = {
            "name": campaign.name,
            "goal": campaign.goal,
            "description": campaign.description,
            "owner": campaign.owner_id,
            "target_segments": list(campaign.target_segments.values_list("pk", flat=True)),
            "exclusion_segments": list(campaign.exclusion_segments.values_list("pk", flat=True)),
            "offer": campaign.offer_id,
            "brand": campaign.brand_id,
            "starts_at": campaign.starts_at,
            "ends_at": campaign.ends_at,
            "waves_max": campaign.waves_max,
            "repeat_every_days": campaign.repeat_every_days,
            "response_window_days": campaign.response_window_days,
            "conversion_product_type": campaign.conversion_product_type_id,
            "control_percent": campaign.control_percent,
            "control_seed": campaign.control_seed,
            "budget_planned": campaign.budget_planned,
        }
        for plan in campaign.channel_plans.all():
            initial[_field_name(plan.channel, "use")] = True
            initial[_field_name(plan.channel, "priority")] = plan.priority
            initial[_field_name(plan.channel, "unit_cost")] = plan.unit_cost
            initial[_field_name(plan.channel, "planned_cost")] = plan.planned_cost
            initial[_field_name(plan.channel, "rate_per_second")] = plan.rate_per_second
        for template in campaign.templates.all():
            initial[_template_name(template.channel, template.language, "subject")] = template.subject
            initial[_template_name(template.channel, template.language, "body")] = template.body
        return initial

    def channel_sections(self) -> list[dict[str, Any]]:
        """For the template: one block per channel with its plan fields and its messages per language."""
        sections = []
        for channel, label in CampaignChannel.choices:
            sections.append(
                {
                    "channel": channel,
                    "label": label,
                    "use": self[_field_name(channel, "use")],
                    "plan": [
                        self[_field_name(channel, part)]
                        for part in ("priority", "unit_cost", "planned_cost", "rate_per_second")
                    ],
                    "templates": [
                        {
                            "language": language,
                            "language_name": LANGUAGE_NAMES[language],
                            "subject": self[_template_name(channel, language, "subject")],
                            "body": self[_template_name(channel, language, "body")],
                        }
                        for language in LANGUAGES
                    ],
                }
            )
        return sections

    def plan(self) -> CampaignPlan:
        """The cleaned form as a plan for the service (call after `is_valid`)."""
        data = self.cleaned_data
        channels, templates = [], []
        for channel in CampaignChannel.values:
            if not data.get(_field_name(channel, "use")):
                continue
            channels.append(
                ChannelPlanData(
                    channel=channel,
                    priority=data.get(_field_name(channel, "priority")) or 1,
                    unit_cost=data.get(_field_name(channel, "unit_cost")) or Decimal("0"),
                    planned_cost=data.get(_field_name(channel, "planned_cost")) or Decimal("0"),
                    rate_per_second=data.get(_field_name(channel, "rate_per_second")) or 100,
                )
            )
            for language in LANGUAGES:
                subject = data.get(_template_name(channel, language, "subject")) or ""
                body = data.get(_template_name(channel, language, "body")) or ""
                if subject.strip() or body.strip():
                    templates.append(
                        TemplateData(channel=channel, language=language, body=body, subject=subject)
                    )
        owner = data.get("owner")
        offer, brand, product = data.get("offer"), data.get("brand"), data.get("conversion_product_type")
        return CampaignPlan(
            name=data.get("name") or "",
            goal=data.get("goal") or "",
            owner_id=owner.pk if owner else None,
            description=data.get("description") or "",
            target_segment_ids=[s.pk for s in data.get("target_segments") or []],
            exclusion_segment_ids=[s.pk for s in data.get("exclusion_segments") or []],
            offer_id=offer.pk if offer else None,
            brand_id=brand.pk if brand else None,
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            waves_max=data["waves_max"],
            repeat_every_days=data["repeat_every_days"],
            response_window_days=data["response_window_days"],
            conversion_product_type_id=product.pk if product else None,
            control_percent=data["control_percent"],
            control_seed=data.get("control_seed"),
            budget_planned=data["budget_planned"],
            channels=channels,
            templates=templates,
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the service's errors next to the fields they are about."""
        for key, reasons in errors.items():
            name: str | None = key
            parts = key.split(".")
            if parts[0] == "channels" and len(parts) == 3:
                name = _field_name(parts[1], parts[2])
            elif parts[0] == "templates" and len(parts) == 4:
                name = (
                    _field_name(parts[1], "use")
                    if parts[2] == "any"
                    else _template_name(parts[1], parts[2], parts[3])
                )
            if name not in self.fields:
                name = None
            for reason in reasons:
                self.add_error(name, reason)


class ReviewForm(BootstrapForm):
    """The approver's note: required to reject, optional to approve."""

    note = forms.CharField(
        label=gettext_lazy("note to the maker"), required=False, widget=forms.Textarea({"rows": 2})
    )


class BrandForm(forms.ModelForm):
    """A brand layout: sender, header, footer and colours shared by every channel."""

    class Meta:
        model = Brand
        fields = [
            "name",
            "sender_name",
            "email_from",
            "sms_sender",
            "header_text",
            "footer_text",
            "primary_color",
            "accent_color",
            "postal_address",
        ]
        widgets = {
            "primary_color": forms.TextInput({"type": "color"}),
            "accent_color": forms.TextInput({"type": "color"}),
            "footer_text": forms.Textarea({"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, f in self.fields.items():
            f.widget.attrs["class"] = "form-control form-control-color" if "color" in name else "form-control"

    def clean_primary_color(self) -> str:
        return _colour(self.cleaned_data["primary_color"])

    def clean_accent_color(self) -> str:
        return _colour(self.cleaned_data["accent_color"])


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value or ""):
        raise forms.ValidationError(_("A colour as #rrggbb."))
    return value.lower()
