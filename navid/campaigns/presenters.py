"""How campaign things look to people: a message in its brand layout with example values, names of rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from navid.campaigns.models import Brand, Campaign, CampaignChannel
from navid.campaigns.personalise import personalise, template_fields_unknown
from navid.campaigns.policy import Rule
from navid.core.dates import format_date

# Example customers for previews, one per message language (these are sample data, not interface text).
_EXAMPLES = {
    "fa": {"first_name": "مریم", "last_name": "کریمی", "branch": "شعبه مرکزی"},
    "ru": {"first_name": "Анна", "last_name": "Иванова", "branch": "Центральный филиал"},
    "en": {"first_name": "Sara", "last_name": "Karimi", "branch": "Central branch"},
}
# SMS lengths: 160 characters of the GSM alphabet in one part (153 when concatenated); UCS-2 (Persian, Russian)
# 70 in one part, 67 when concatenated.
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@dataclass
class MessagePreview:
    """One message as a customer would see it, with example values filled in."""

    channel: str
    channel_label: str
    language: str
    direction: str
    subject: str
    body: str
    brand: Brand | None
    sender: str
    unknown_fields: list[str] = field(default_factory=list)
    sms_parts: int = 0
    characters: int = 0


def sms_parts(text: str) -> int:
    """How many SMS parts a text takes (GSM 7-bit or UCS-2)."""
    if not text:
        return 0
    single, multi = (160, 153) if set(text) <= _GSM else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


def example_values(*, campaign: Campaign | None, language: str) -> dict[str, str]:
    """Values of the personalisation fields for a made-up customer in `language`."""
    example = _EXAMPLES.get(language, _EXAMPLES["en"])
    offer = campaign.offer if campaign is not None else None
    base = settings.NAVID_PUBLIC_URL
    return {
        "first_name": example["first_name"],
        "last_name": example["last_name"],
        "full_name": f"{example['first_name']} {example['last_name']}",
        "customer_number": "C-000123",
        "branch": example["branch"],
        "offer": offer.name if offer is not None else "",
        "offer_valid_until": format_date(offer.valid_until, language) if offer is not None else "",
        "unsubscribe_url": f"{base}/u/example",
        "offer_url": offer.landing_url if offer is not None and offer.landing_url else f"{base}/o/example",
        "rsvp_url": f"{base}/r/example",
    }


def message_preview(
    *,
    campaign: Campaign | None,
    channel: str,
    language: str,
    subject: str,
    body: str,
    brand: Brand | None = None,
) -> MessagePreview:
    """A message in the campaign's (or the given) brand layout, right to left for Persian."""
    brand = brand or (campaign.brand if campaign is not None else None)
    values = example_values(campaign=campaign, language=language)
    filled = personalise(body, values)
    if channel == CampaignChannel.EMAIL:
        sender = f"{brand.sender_name} <{brand.email_from}>" if brand else ""
    elif channel == CampaignChannel.SMS:
        sender = brand.sms_sender if brand else ""
    else:
        sender = brand.sender_name if brand else ""
    return MessagePreview(
        channel=channel,
        channel_label=str(CampaignChannel(channel).label),
        language=language,
        direction="rtl" if language == "fa" else "ltr",
        subject=personalise(subject, values),
        body=filled,
        brand=brand,
        sender=sender,
        unknown_fields=template_fields_unknown(subject + "\n" + body),
        sms_parts=sms_parts(filled) if channel == CampaignChannel.SMS else 0,
        characters=len(filled),
    )


def rule_labels() -> dict[str, str]:
    """Names of the contact-policy rules in the user's language, by rule code."""
    return {code: str(label) for code, label in Rule.choices}
