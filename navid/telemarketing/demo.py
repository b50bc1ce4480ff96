"""Demo telemarketing: a running phone campaign with call settings, a branching script, outcome codes, its call
list, and the demo agent on it (log in as `agent`, open the console, press Ready)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from navid.campaigns.materialise import campaign_materialise
from navid.campaigns.models import Campaign, CampaignChannel, Goal
from navid.campaigns.plans import CampaignPlan, ChannelPlanData, TemplateData
from navid.campaigns.services import campaign_approve, campaign_create, campaign_launch, campaign_submit
from navid.offers.models import Offer
from navid.segments.models import Segment
from navid.segments.services import segment_create
from navid.telemarketing.models import NodeKind, ScriptNode
from navid.telemarketing.services import (
    agent_save,
    call_list_sync,
    call_settings_save,
    script_branch_save,
    script_node_save,
)

DEMO_CALL_CAMPAIGN = "Term deposit calls"
_CALLABLE = {
    "version": 1,
    "root": {
        "type": "group",
        "op": "and",
        "children": [{"type": "consent", "channel": "phone", "purpose": "marketing", "granted": True}],
    },
}

# key, kind, title, fa, ru, en
_NODES = (
    ("greeting", NodeKind.STATEMENT, "Greeting",
     "سلام. از بانک نوید تماس می‌گیرم. یک دقیقه وقت دارید؟",
     "Здравствуйте! Это банк «Навид». У вас есть минута?",
     "Hello, this is Navid Bank calling. Do you have a minute?"),
    ("offer", NodeKind.QUESTION, "The offer",
     "سپرده مدت‌دار جدید ما با سود ۲۳٪ برای شما آماده است. مایلید بیشتر بدانید؟",
     "Для вас готов наш новый срочный вклад под 23 %. Хотите узнать больше?",
     "Our new term deposit at 23 % is ready for you. Would you like to know more?"),
    ("call_later", NodeKind.OBJECTION, "No time now",
     "چه زمانی برای تماس مجدد مناسب است؟ (زمان را در فرم نتیجه ثبت کنید)",
     "Когда вам удобно, чтобы мы перезвонили? (Укажите время в форме результата.)",
     "When may we call you back? (Enter the time in the outcome form.)"),
    ("rate_low", NodeKind.OBJECTION, "The rate is too low",
     "سود پرداختی ماهانه است و بدون جریمه تا ۱۰٪ برداشت ممکن است.",
     "Проценты выплачиваются ежемесячно, снять до 10 % можно без штрафа.",
     "Interest is paid monthly and up to 10 % can be withdrawn without a penalty."),
    ("close", NodeKind.STATEMENT, "Closing",
     "ممنون از وقتی که گذاشتید. همکارمان برای افتتاح حساب با شما تماس می‌گیرد.",
     "Спасибо! Наш сотрудник свяжется с вами, чтобы открыть вклад.",
     "Thank you. A colleague will contact you to open the deposit."),
)  # fmt: skip
# from, fa, ru, en, to (None: the script ends)
_BRANCHES = (
    ("greeting", "بله", "Да", "Yes", "offer"),
    ("greeting", "الان نه", "Не сейчас", "Not now", "call_later"),
    ("offer", "علاقه‌مند است", "Интересно", "Interested", "close"),
    ("offer", "سود کم است", "Ставка низкая", "The rate is too low", "rate_low"),
    ("offer", "علاقه‌ای ندارد", "Не интересно", "Not interested", None),
    ("rate_low", "قانع شد", "Убедили", "Convinced", "close"),
    ("rate_low", "قانع نشد", "Не убедили", "Not convinced", None),
)


def telemarketing_demo_seed() -> Campaign | None:
    """Create and launch the demo call campaign once; answer it (None without the demo users)."""
    found = Campaign.objects.filter(name=DEMO_CALL_CAMPAIGN).first()
    if found is not None:
        return found
    users = get_user_model().objects
    maker, director = users.filter(username="campaigns").first(), users.filter(username="director").first()
    supervisor, agent_user = users.filter(username="channels").first(), users.filter(username="agent").first()
    if maker is None or director is None or supervisor is None or agent_user is None:
        return None
    segment = Segment.objects.filter(name="Agreed to marketing calls").first() or segment_create(
        actor=maker, name="Agreed to marketing calls", definition=_CALLABLE
    )
    offers = Offer.objects.filter(is_active=True).order_by("pk")
    offer = offers.filter(product_type__code="term-deposit").first() or offers.first()
    now = timezone.now()
    plan = CampaignPlan(
        name=DEMO_CALL_CAMPAIGN,
        goal=Goal.CROSS_SELL,
        description="Call customers who agreed to calls about the term deposit; interested ones get a follow-up.",
        target_segment_ids=(segment.pk,),
        offer_id=offer.pk if offer else None,
        starts_at=now,
        ends_at=now + dt.timedelta(days=30),
        control_percent=Decimal("10"),
        budget_planned=Decimal("20000000"),
        channels=(ChannelPlanData(CampaignChannel.PHONE, unit_cost=Decimal("0"), rate_per_second=10),),
        templates=(
            TemplateData(CampaignChannel.PHONE, "fa", body="تماس درباره سپرده مدت‌دار با {full_name}"),
            TemplateData(CampaignChannel.PHONE, "en", body="Call {full_name} about the term deposit"),
        ),
    )
    campaign = campaign_create(actor=maker, plan=plan)
    campaign_submit(campaign=campaign, actor=maker)
    campaign_approve(campaign=campaign, actor=director)
    call_settings_save(
        actor=maker,
        campaign=campaign,
        values={"mode": "preview", "tariff_per_minute": Decimal("1200"), "caller_id": "+982100000000"},
    )
    nodes: dict[str, ScriptNode] = {}
    for position, (key, kind, title, fa, ru, en) in enumerate(_NODES):
        nodes[key] = script_node_save(
            actor=maker,
            campaign=campaign,
            values={
                "key": key,
                "kind": kind,
                "title": title,
                "text_fa": fa,
                "text_ru": ru,
                "text_en": en,
                "position": position,
                "is_start": position == 0,
            },
        )
    for position, (source, fa, ru, en, target) in enumerate(_BRANCHES):
        script_branch_save(
            actor=maker,
            node=nodes[source],
            values={
                "answer_fa": fa,
                "answer_ru": ru,
                "answer_en": en,
                "next_node": nodes[target] if target else None,
                "position": position,
            },
        )
    campaign_launch(campaign=campaign, actor=maker)
    # The worker would write the call list after launch; the demo writes it now so that the console has calls
    # at the first login (a second write of the same wave writes nothing more).
    campaign_materialise(campaign_id=campaign.pk, wave=1)
    agent_save(
        actor=supervisor,
        user=agent_user,
        values={"extension": "PJSIP/1001", "languages": ["fa", "ru", "en"], "skills": ["deposits"]},
        campaigns=[campaign],
    )
    call_list_sync(campaign_id=campaign.pk)
    return campaign
