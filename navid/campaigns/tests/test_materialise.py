"""Materialisation: decision rows with one rule each, the control group, outbox messages, waves, the dry run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from navid.accounts.tests.factories import RegionFactory
from navid.campaigns import materialise
from navid.campaigns.materialise import campaign_materialise, control_bucket, policy_dry_run
from navid.campaigns.models import (
    Campaign,
    CampaignChannel,
    ContactPolicy,
    Decision,
    Goal,
    OutboxMessage,
    OutboxState,
    Suppression,
    Wave,
)
from navid.campaigns.policy import RULE_ORDER, Rule
from navid.campaigns.tests.factories import CampaignFactory, ChannelPlanFactory
from navid.core.errors import Conflict, NotFound, ValidationFailed
from navid.customers.models import Consent, Customer, ProductHolding
from navid.interactions.models import Interaction
from navid.segments.models import Segment, Snapshot, StaticMember
from navid.segments.services import snapshot_request, snapshot_take

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# A Monday, 10:00 in Tehran (06:30 UTC): inside the open hours of the default policy.
MONDAY_MORNING = dt.datetime(2030, 1, 7, 6, 30, tzinfo=UTC)
NO_LIMITS: dict[str, Any] = {"max_contacts": None, "max_contacts_per_channel": None, "min_gap_days": 0}


# --- helpers ---


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Every campaign factory makes an owner; the real hasher would spend seconds on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def customers(n: int, *, email: bool = True, phone: bool = True, **fields: Any) -> list[Customer]:
    """`n` customers written at once, with an email address and a mobile number unless told otherwise."""
    start = Customer.objects.count()
    rows = [
        Customer(
            first_name="Ali",
            last_name=f"Test{start + i}",
            email=f"c{start + i}@mail.example" if email else "",
            phone=f"+98912{start + i:07d}" if phone else "",
            language="fa",
            **fields,
        )
        for i in range(n)
    ]
    return Customer.objects.bulk_create(rows)


def consent(
    people: Iterable[Customer], channel: str, granted: bool = True, purpose: str = "marketing"
) -> None:
    Consent.objects.bulk_create(
        [
            Consent(customer=c, channel=channel, purpose=purpose, granted=granted, source="test")
            for c in people
        ]
    )


def static_segment(people: Iterable[Customer], name: str = "audience") -> Segment:
    segment = Segment.objects.create(name=name, kind=Segment.Kind.STATIC)
    StaticMember.objects.bulk_create([StaticMember(segment=segment, customer=c) for c in people])
    return segment


def campaign_for(
    people: Iterable[Customer],
    *,
    channels: Sequence[str] = (CampaignChannel.EMAIL,),
    control_percent: str = "0",
    exclude: Iterable[Customer] = (),
    **fields: Any,
) -> Campaign:
    fields.setdefault("starts_at", MONDAY_MORNING)
    campaign = CampaignFactory(control_percent=Decimal(control_percent), **fields)
    campaign.target_segments.add(static_segment(people))
    excluded = list(exclude)
    if excluded:
        campaign.exclusion_segments.add(static_segment(excluded, name="exclusions"))
    for priority, channel in enumerate(channels, start=1):
        ChannelPlanFactory(campaign=campaign, channel=channel, priority=priority)
    return campaign


def take_snapshots(campaign: Campaign) -> None:
    """Freeze the campaign's target segments now, as a campaign manager may do before launch."""
    for segment in campaign.target_segments.all():
        snapshot = snapshot_take(snapshot_id=snapshot_request(actor=None, segment=segment).pk)
        campaign.snapshots.add(snapshot)


def set_policy(**values: Any) -> ContactPolicy:
    policy = ContactPolicy.load()
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def decisions(campaign: Campaign) -> dict[int, tuple[str, str, str]]:
    return {d.customer_id: (d.group, d.rule, d.channel) for d in Decision.objects.filter(campaign=campaign)}


def other_campaign_message(
    customer: Customer, *, channel: str, state: str, sent_at: dt.datetime | None
) -> None:
    other = Campaign.objects.filter(name="Earlier campaign").first() or CampaignFactory(
        name="Earlier campaign"
    )
    n = OutboxMessage.objects.count()
    OutboxMessage.objects.create(
        campaign=other,
        customer=customer,
        channel=channel,
        language="fa",
        address="x",
        idempotency_key=f"{other.pk}:1:{customer.pk}:{channel}:{n}",
        state=state,
        sent_at=sent_at,
    )


# --- decision rows and rules ---


def test_given_one_customer_failing_each_rule_when_materialised_then_each_carries_its_own_rule() -> None:
    set_policy(max_contacts=2, max_contacts_per_channel=1, period_days=30, min_gap_days=3)
    (
        ok,
        deleted,
        merged,
        in_exclusion,
        dnc,
        no_consent,
        refused,
        no_address,
        suppressed,
        busy,
        recent,
        channel_busy,
    ) = customers(12)
    Customer.objects.filter(pk=dnc.pk).update(do_not_contact=True)
    Customer.objects.filter(pk=no_address.pk).update(email="")
    everyone = [
        ok,
        deleted,
        merged,
        in_exclusion,
        dnc,
        no_consent,
        refused,
        no_address,
        suppressed,
        busy,
        recent,
    ]
    everyone.append(channel_busy)
    consent([c for c in everyone if c not in (no_consent, refused)], "email")
    consent([refused], "email", granted=False)
    Suppression.objects.create(channel="email", address=suppressed.email, reason="hard_bounce")
    ten_days_ago = MONDAY_MORNING - dt.timedelta(days=10)
    for _ in range(2):
        other_campaign_message(busy, channel="sms", state=OutboxState.DELIVERED, sent_at=ten_days_ago)
    other_campaign_message(
        recent, channel="sms", state=OutboxState.SENT, sent_at=MONDAY_MORNING - dt.timedelta(days=1)
    )
    other_campaign_message(channel_busy, channel="email", state=OutboxState.SENT, sent_at=ten_days_ago)
    campaign = campaign_for(everyone, exclude=[in_exclusion])
    take_snapshots(campaign)
    # Deleted and merged after the snapshot was taken: a snapshot taken now would leave them out already.
    Customer.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    Customer.objects.filter(pk=merged.pk).update(merged_into=ok)

    result = campaign_materialise(campaign_id=campaign.pk)

    assert decisions(campaign) == {
        ok.pk: ("treatment", "", "email"),
        deleted.pk: ("excluded", Rule.DELETED, ""),
        merged.pk: ("excluded", Rule.DELETED, ""),
        in_exclusion.pk: ("excluded", Rule.EXCLUSION_SEGMENT, ""),
        dnc.pk: ("excluded", Rule.DO_NOT_CONTACT, ""),
        no_consent.pk: ("excluded", Rule.CONSENT, ""),
        refused.pk: ("excluded", Rule.CONSENT, ""),
        no_address.pk: ("excluded", Rule.NO_ADDRESS, ""),
        suppressed.pk: ("excluded", Rule.SUPPRESSED, ""),
        busy.pk: ("excluded", Rule.FREQUENCY, ""),
        recent.pk: ("excluded", Rule.MIN_GAP, ""),
        channel_busy.pk: ("excluded", Rule.CHANNEL_FREQUENCY, ""),
    }
    assert result.written is True
    assert (result.audience, result.treatment, result.control, result.messages) == (12, 1, 0, 1)
    assert list(result.excluded) == list(RULE_ORDER)
    assert result.excluded == {
        "deleted": 2,
        "exclusion_segment": 1,
        "do_not_contact": 1,
        "consent": 2,
        "no_address": 1,
        "suppressed": 1,
        "frequency": 1,
        "min_gap": 1,
        "channel_frequency": 1,
    }


def test_given_a_customer_failing_several_rules_then_the_first_in_the_order_is_recorded() -> None:
    (person,) = customers(1, email=False)
    Customer.objects.filter(pk=person.pk).update(do_not_contact=True)  # and no consent, and no address
    campaign = campaign_for([person])

    campaign_materialise(campaign_id=campaign.pk)

    assert decisions(campaign) == {person.pk: ("excluded", Rule.DO_NOT_CONTACT, "")}


def test_given_no_email_consent_then_the_customer_falls_back_to_sms_and_no_record_follows_the_policy() -> (
    None
):
    set_policy(email_without_consent=False, sms_without_consent=True, **NO_LIMITS)
    email_ok, email_refused, sms_refused, no_phone = customers(4)
    consent([email_ok], "email")
    consent([email_refused], "email", granted=False)
    consent([sms_refused], "sms", granted=False)
    Customer.objects.filter(pk=no_phone.pk).update(phone="")
    campaign = campaign_for(
        [email_ok, email_refused, sms_refused, no_phone],
        channels=(CampaignChannel.EMAIL, CampaignChannel.SMS),
    )

    campaign_materialise(campaign_id=campaign.pk)

    assert decisions(campaign) == {
        email_ok.pk: ("treatment", "", "email"),
        email_refused.pk: ("treatment", "", "sms"),  # no SMS record: allowed by this policy
        sms_refused.pk: ("excluded", Rule.CONSENT, ""),  # no email record (opt-in) and SMS refused
        no_phone.pk: ("excluded", Rule.NO_ADDRESS, ""),  # SMS allowed, but no number
    }


def test_given_a_satisfaction_campaign_then_the_surveys_consent_counts_not_marketing() -> None:
    set_policy(**NO_LIMITS)
    surveys_only, marketing_only = customers(2)
    consent([surveys_only], "email", purpose="surveys")
    consent([marketing_only], "email", purpose="marketing")
    campaign = campaign_for([surveys_only, marketing_only], goal=Goal.SATISFACTION)

    campaign_materialise(campaign_id=campaign.pk)

    assert decisions(campaign) == {
        surveys_only.pk: ("treatment", "", "email"),
        marketing_only.pk: ("excluded", Rule.CONSENT, ""),
    }


def test_given_pending_messages_of_another_campaign_then_they_count_against_the_cap() -> None:
    set_policy(max_contacts=1, max_contacts_per_channel=None, min_gap_days=0)
    waiting, free = customers(2)
    consent([waiting, free], "email")
    other_campaign_message(waiting, channel="email", state=OutboxState.PENDING, sent_at=None)
    other_campaign_message(free, channel="email", state=OutboxState.FAILED, sent_at=None)  # never went out
    campaign = campaign_for([waiting, free])

    campaign_materialise(campaign_id=campaign.pk)

    assert decisions(campaign) == {
        waiting.pk: ("excluded", Rule.FREQUENCY, ""),
        free.pk: ("treatment", "", "email"),
    }


def test_given_contacts_outside_the_period_and_campaign_interactions_then_they_do_not_count() -> None:
    set_policy(max_contacts=1, max_contacts_per_channel=None, period_days=30, min_gap_days=0)
    old, called, campaign_touch = customers(3)
    consent([old, called, campaign_touch], "email")
    other_campaign_message(
        old, channel="email", state=OutboxState.SENT, sent_at=MONDAY_MORNING - dt.timedelta(days=31)
    )
    touch = {
        "kind": "call",
        "channel": "phone",
        "direction": "outbound",
        "occurred_at": MONDAY_MORNING,
        "source": "t",
    }
    Interaction.objects.create(
        customer=called, **{**touch, "occurred_at": MONDAY_MORNING - dt.timedelta(days=2)}
    )
    # A message of a campaign is counted through its outbox row, not through the interaction it leaves.
    Interaction.objects.create(customer=campaign_touch, campaign_id=999, **touch)
    campaign = campaign_for([old, called, campaign_touch])

    campaign_materialise(campaign_id=campaign.pk)

    assert decisions(campaign) == {
        old.pk: ("treatment", "", "email"),
        called.pk: ("excluded", Rule.FREQUENCY, ""),
        campaign_touch.pk: ("treatment", "", "email"),
    }


def test_a_contact_exactly_the_minimum_gap_ago_is_allowed_a_minute_later_is_not() -> None:
    set_policy(max_contacts=None, max_contacts_per_channel=None, min_gap_days=2)
    two_days, nearly = customers(2)
    consent([two_days, nearly], "email")
    gap = dt.timedelta(days=2)
    other_campaign_message(two_days, channel="email", state=OutboxState.SENT, sent_at=MONDAY_MORNING - gap)
    later = MONDAY_MORNING - gap + dt.timedelta(minutes=1)
    other_campaign_message(nearly, channel="email", state=OutboxState.SENT, sent_at=later)
    campaign = campaign_for([two_days, nearly])

    campaign_materialise(campaign_id=campaign.pk)

    assert decisions(campaign) == {
        two_days.pk: ("treatment", "", "email"),
        nearly.pk: ("excluded", Rule.MIN_GAP, ""),
    }


# --- the outbox ---


def test_outbox_messages_carry_channel_language_address_key_and_send_after_in_the_customers_time_zone() -> (
    None
):
    set_policy(
        quiet_start=dt.time(21, 0),
        quiet_end=dt.time(8, 0),
        quiet_channels=["sms"],
        weekend_days=[4],
        **NO_LIMITS,
    )
    moscow = RegionFactory(code="moscow", time_zone="Europe/Moscow")
    tehran = RegionFactory(code="tehran")  # no zone of its own: the bank's (Asia/Tehran)
    by_email, by_sms, in_moscow, postal = customers(4)
    Customer.objects.filter(pk=by_email.pk).update(language="ru", region=moscow)
    Customer.objects.filter(pk=by_sms.pk).update(region=tehran, email="")
    Customer.objects.filter(pk=in_moscow.pk).update(region=moscow, email="")
    Customer.objects.filter(pk=postal.pk).update(
        email="", phone="", address="Vali-Asr 12", city="Tehran", postal_code="1234567890", language="en"
    )
    consent([by_email], "email")
    consent([by_sms, in_moscow], "sms")
    # Thursday 22:00 in Tehran (18:30 UTC), Friday is the day off: SMS waits for Saturday 08:00 local time.
    thursday_night = dt.datetime(2030, 1, 10, 18, 30, tzinfo=UTC)
    campaign = campaign_for(
        [by_email, by_sms, in_moscow, postal],
        channels=(CampaignChannel.EMAIL, CampaignChannel.SMS, CampaignChannel.MAIL),
        starts_at=thursday_night,
    )

    result = campaign_materialise(campaign_id=campaign.pk)

    rows = {
        m.customer_id: (m.wave, m.channel, m.language, m.address, m.idempotency_key, m.state, m.send_after)
        for m in OutboxMessage.objects.filter(campaign=campaign)
    }
    key = f"{campaign.pk}:1:"
    assert rows == {
        by_email.pk: (
            1,
            "email",
            "ru",
            by_email.email,
            f"{key}{by_email.pk}:email",
            "pending",
            thursday_night,
        ),
        by_sms.pk: (
            1,
            "sms",
            "fa",
            by_sms.phone,
            f"{key}{by_sms.pk}:sms",
            "pending",
            dt.datetime(2030, 1, 12, 4, 30, tzinfo=UTC),  # Saturday 08:00 Tehran (UTC+3:30)
        ),
        in_moscow.pk: (
            1,
            "sms",
            "fa",
            in_moscow.phone,
            f"{key}{in_moscow.pk}:sms",
            "pending",
            dt.datetime(2030, 1, 12, 5, 0, tzinfo=UTC),  # Saturday 08:00 Moscow (UTC+3)
        ),
        postal.pk: (
            1,
            "mail",
            "en",
            "Vali-Asr 12, Tehran, 1234567890",
            f"{key}{postal.pk}:mail",
            "pending",
            thursday_night,
        ),
    }
    assert result.messages == 4
    assert list(Wave.objects.filter(campaign=campaign).values_list("number", "state", "messages")) == [
        (1, "written", 4)
    ]


def test_given_a_campaign_materialised_once_when_called_again_then_nothing_more_is_written() -> None:
    set_policy(**NO_LIMITS)
    people = customers(30)
    consent(people, "email")
    campaign = campaign_for(people, control_percent="20")
    first = campaign_materialise(campaign_id=campaign.pk)
    decided = decisions(campaign)

    again = campaign_materialise(campaign_id=campaign.pk)

    assert again.written is False
    assert (again.audience, again.treatment, again.control, again.messages) == (
        first.audience,
        first.treatment,
        first.control,
        first.messages,
    )
    assert decisions(campaign) == decided
    assert OutboxMessage.objects.filter(campaign=campaign).count() == first.messages == first.treatment
    assert Wave.objects.filter(campaign=campaign).count() == 1


def test_materialise_sets_the_timestamps_and_plans_later_waves() -> None:
    set_policy(**NO_LIMITS)
    people = customers(3)
    consent(people, "email")
    campaign = campaign_for(people, waves_max=3, repeat_every_days=7)

    campaign_materialise(campaign_id=campaign.pk)

    campaign.refresh_from_db()
    assert campaign.materialised_at is not None
    assert list(
        Wave.objects.filter(campaign=campaign).values_list("number", "scheduled_at", "state", "messages")
    ) == [
        (1, MONDAY_MORNING, "written", 3),
        (2, MONDAY_MORNING + dt.timedelta(days=7), "planned", 0),
        (3, MONDAY_MORNING + dt.timedelta(days=14), "planned", 0),
    ]


def test_unknown_campaign_wave_zero_and_campaigns_without_segments_or_channels_are_refused() -> None:
    with pytest.raises(NotFound):
        campaign_materialise(campaign_id=987654)
    with pytest.raises(ValidationFailed) as wave:
        campaign_materialise(campaign_id=987654, wave=0)
    assert list(wave.value.errors) == ["wave"]
    bare = CampaignFactory()
    with pytest.raises(ValidationFailed) as no_channel:
        campaign_materialise(campaign_id=bare.pk)
    assert list(no_channel.value.errors) == ["channel_plans"]
    ChannelPlanFactory(campaign=bare)
    with pytest.raises(ValidationFailed) as no_segment:
        campaign_materialise(campaign_id=bare.pk)
    assert list(no_segment.value.errors) == ["target_segments"]
    assert not Decision.objects.exists()


# --- snapshots ---


def test_given_no_snapshot_then_one_is_taken_and_recorded_and_an_existing_one_is_used_as_is() -> None:
    set_policy(**NO_LIMITS)
    first, second, later = customers(3)
    consent([first, second, later], "email")
    campaign = campaign_for([first, second])
    segment = campaign.target_segments.get()

    campaign_materialise(campaign_id=campaign.pk)

    (snapshot,) = campaign.snapshots.all()
    assert (snapshot.segment_id, snapshot.state, snapshot.member_count) == (
        segment.pk,
        Snapshot.State.DONE,
        2,
    )
    # A second campaign that already holds that snapshot uses it, even though the segment has grown since.
    StaticMember.objects.create(segment=segment, customer=later)
    other = campaign_for([], channels=(CampaignChannel.EMAIL,))
    other.target_segments.set([segment])
    other.snapshots.add(snapshot)
    campaign_materialise(campaign_id=other.pk)
    assert set(decisions(other)) == {first.pk, second.pk}
    assert Snapshot.objects.count() == 1


def test_two_target_segments_are_united_and_each_customer_decided_once() -> None:
    set_policy(**NO_LIMITS)
    a, b, both = customers(3)
    consent([a, b, both], "email")
    campaign = campaign_for([a, both])
    campaign.target_segments.add(static_segment([b, both], name="second"))

    result = campaign_materialise(campaign_id=campaign.pk)

    assert sorted(decisions(campaign)) == sorted([a.pk, b.pk, both.pk])
    assert result.audience == 3
    assert campaign.snapshots.count() == 2


# --- the control group ---


def test_control_group_is_drawn_among_eligible_customers_with_the_recorded_seed() -> None:
    set_policy(**NO_LIMITS)
    people = customers(2000)
    consent(people[:1800], "email")  # the last 200 cannot be contacted
    campaign = campaign_for(people, control_percent="10", control_seed=777)

    result = campaign_materialise(campaign_id=campaign.pk)

    expected_control = {c.pk for c in people[:1800] if control_bucket(c.pk, 777) < 1000}
    groups = decisions(campaign)
    control = {pk for pk, (group, _rule, _channel) in groups.items() if group == "control"}
    assert control == expected_control  # the database computes exactly the Python draw
    assert 0.08 <= len(control) / 1800 <= 0.12
    assert (result.treatment, result.control, result.excluded["consent"]) == (
        1800 - len(control),
        len(control),
        200,
    )
    assert all(groups[c.pk] == ("excluded", "consent", "") for c in people[1800:])
    # The control group has its channel too, so that treatment and control can be compared per channel.
    assert {groups[pk][2] for pk in control} == {"email"}
    assert not OutboxMessage.objects.filter(campaign=campaign, customer_id__in=control).exists()


def test_same_seed_and_audience_give_the_same_control_group_and_an_empty_seed_is_set() -> None:
    set_policy(**NO_LIMITS)
    people = customers(500)
    consent(people, "email")
    one = campaign_for(people, control_percent="25", control_seed=123456789012)
    two = campaign_for(people, control_percent="25", control_seed=123456789012)
    three = campaign_for(people, control_percent="25", control_seed=None)

    for campaign in (one, two, three):
        campaign_materialise(campaign_id=campaign.pk)

    def control_of(campaign: Campaign) -> set[int]:
        return set(
            Decision.objects.filter(campaign=campaign, group="control").values_list("customer_id", flat=True)
        )

    assert control_of(one) == control_of(two)
    three.refresh_from_db()
    assert three.control_seed is not None
    assert control_of(three) == {c.pk for c in people if control_bucket(c.pk, three.control_seed) < 2500}


def test_the_python_draw_is_uniform_and_depends_on_the_seed() -> None:
    buckets = [control_bucket(pk, 42) for pk in range(1, 20001)]
    assert all(0 <= b < 10_000 for b in buckets)
    assert 0.09 <= sum(b < 1000 for b in buckets) / 20000 <= 0.11
    assert 0.48 <= sum(b < 5000 for b in buckets) / 20000 <= 0.52
    other_seed = [control_bucket(pk, 43) for pk in range(1, 20001)]
    overlap = sum(a < 1000 and b < 1000 for a, b in zip(buckets, other_seed, strict=True))
    assert overlap < 300  # about 1 % of 20,000 if independent, 2,000 if the seed did not matter


# --- the dry run ---


def test_dry_run_counts_what_materialise_then_writes_and_writes_nothing() -> None:
    set_policy(max_contacts=None, max_contacts_per_channel=None, min_gap_days=0)
    people = customers(200)
    consent(people[:150], "email")
    consent(people[150:170], "sms")
    Customer.objects.filter(pk__in=[c.pk for c in people[:10]]).update(do_not_contact=True)
    campaign = campaign_for(
        people,
        channels=(CampaignChannel.EMAIL, CampaignChannel.SMS),
        control_percent="10",
        exclude=people[190:],
    )
    tables = (Decision, OutboxMessage, Snapshot, Wave)
    before = [model.objects.count() for model in tables]

    dry = policy_dry_run(campaign=campaign)

    assert [model.objects.count() for model in tables] == before
    assert dry.audience == 200
    assert dry.excluded == {
        "deleted": 0,
        "exclusion_segment": 10,
        "do_not_contact": 10,
        "consent": 20,
        "no_address": 0,
        "suppressed": 0,
        "frequency": 0,
        "min_gap": 0,
        "channel_frequency": 0,
    }
    assert dry.eligible == 160
    assert list(dry) == list(dry.excluded.items())  # (rule, customers removed), in the rules' order
    assert dry.channels == {"email": 140, "sms": 20}
    result = campaign_materialise(campaign_id=campaign.pk)
    assert result.excluded == dry.excluded
    assert (result.treatment, result.control) == (dry.treatment, dry.control)


def test_dry_run_without_a_seed_reports_no_control_split() -> None:
    (person,) = customers(1)
    consent([person], "email")
    dry = policy_dry_run(campaign=campaign_for([person], control_seed=None))
    assert (dry.eligible, dry.control, dry.treatment) == (1, None, None)


# --- waves ---


def test_second_wave_goes_to_treatment_customers_who_have_not_responded() -> None:
    set_policy(**NO_LIMITS)
    silent, replied, clicked, converted, withdrew = customers(5)
    people = [silent, replied, clicked, converted, withdrew]
    consent(people, "email")
    campaign = campaign_for(people, waves_max=2, repeat_every_days=7)
    campaign_materialise(campaign_id=campaign.pk)
    Interaction.objects.create(
        customer=replied,
        kind="email",
        channel="email",
        direction="inbound",
        occurred_at=MONDAY_MORNING + dt.timedelta(days=1),
        campaign_id=campaign.pk,
        source="test",
    )
    OutboxMessage.objects.filter(campaign=campaign, customer=clicked).update(clicked_at=MONDAY_MORNING)
    ProductHolding.objects.create(
        customer=converted, product_type=campaign.offer.product_type, opened_on=dt.date(2030, 1, 9)
    )
    Consent.objects.filter(customer=withdrew).update(granted=False)
    OutboxMessage.objects.filter(campaign=campaign).update(
        state=OutboxState.DELIVERED, sent_at=MONDAY_MORNING
    )

    result = campaign_materialise(campaign_id=campaign.pk, wave=2)

    assert list(
        OutboxMessage.objects.filter(campaign=campaign, wave=2).values_list("customer_id", "idempotency_key")
    ) == [(silent.pk, f"{campaign.pk}:2:{silent.pk}:email")]
    assert (result.written, result.audience, result.messages) == (True, 2, 1)
    assert result.excluded["consent"] == 1
    assert list(Wave.objects.filter(campaign=campaign).values_list("number", "state", "messages")) == [
        (1, "written", 5),
        (2, "written", 1),
    ]
    again = campaign_materialise(campaign_id=campaign.pk, wave=2)
    assert (again.written, again.messages) == (False, 1)
    assert OutboxMessage.objects.filter(campaign=campaign, wave=2).count() == 1


def test_later_waves_keep_the_policy_the_earlier_wave_counts_as_a_contact() -> None:
    set_policy(max_contacts=1, max_contacts_per_channel=None, min_gap_days=0)
    people = customers(2)
    consent(people, "email")
    campaign = campaign_for(people, waves_max=2)
    campaign_materialise(campaign_id=campaign.pk)

    result = campaign_materialise(campaign_id=campaign.pk, wave=2)

    assert (result.messages, result.excluded["frequency"]) == (0, 2)


def test_waves_out_of_order_or_beyond_the_maximum_are_refused() -> None:
    people = customers(1)
    campaign = campaign_for(people, waves_max=3)
    with pytest.raises(Conflict):
        campaign_materialise(campaign_id=campaign.pk, wave=2)
    campaign_materialise(campaign_id=campaign.pk)
    with pytest.raises(Conflict):
        campaign_materialise(campaign_id=campaign.pk, wave=3)
    with pytest.raises(ValidationFailed):
        campaign_materialise(campaign_id=campaign.pk, wave=4)


def test_the_statement_is_one_insert_select_whatever_the_audience_size() -> None:
    set_policy(**NO_LIMITS)
    people = customers(300)
    consent(people, "email")
    campaign = campaign_for(people, control_percent="10")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        campaign_materialise(campaign_id=campaign.pk)

    inserts = [q["sql"] for q in queries.captured_queries if 'INSERT INTO "campaigns_decision"' in q["sql"]]
    assert len(inserts) == 1
    assert len(queries.captured_queries) < 40  # no statement per customer
    assert Decision.objects.filter(campaign=campaign).aggregate(n=Count("id"))["n"] == 300
    assert materialise.control_threshold(campaign) == 1000


# --- property: random consents, flags, suppressions, contacts and policies ---

# Most customers pass the first rules, so that the later ones are reached often.
CONSENT_STATES = ("none", "granted", "granted", "refused")
rarely = st.integers(0, 9).map(lambda n: n == 0)
mostly = st.integers(0, 4).map(lambda n: n != 0)
customer_specs = st.fixed_dictionaries(
    {
        "deleted": rarely,
        "excluded": rarely,
        "dnc": rarely,
        "email": mostly,
        "phone": mostly,
        "consent_email": st.sampled_from(CONSENT_STATES),
        "consent_sms": st.sampled_from(CONSENT_STATES),
        "suppressed_email": rarely,
        "suppressed_phone": rarely,
        # Messages of another campaign: channel and days before the start (None: still waiting to go out).
        "contacts": st.lists(
            st.tuples(st.sampled_from(["email", "sms"]), st.none() | st.integers(0, 40)), max_size=3
        ),
    }
)
policy_specs = st.fixed_dictionaries(
    {
        "email_without_consent": st.booleans(),
        "sms_without_consent": st.booleans(),
        "max_contacts": st.none() | st.integers(1, 3),
        "max_contacts_per_channel": st.none() | st.integers(1, 3),
        "period_days": st.integers(1, 30),
        "min_gap_days": st.integers(0, 5),
    }
)
CHANNEL_ORDERS = [("email",), ("sms",), ("email", "sms"), ("sms", "email")]


def expected_decision(
    spec: dict[str, Any], policy: dict[str, Any], channels: Sequence[str]
) -> tuple[str, str]:
    """The rule or channel the documented order gives one customer, computed in Python."""
    if spec["deleted"]:
        return Rule.DELETED, ""
    if spec["excluded"]:
        return Rule.EXCLUSION_SEGMENT, ""
    if spec["dnc"]:
        return Rule.DO_NOT_CONTACT, ""
    address = {"email": spec["email"], "sms": spec["phone"]}
    suppressed = {"email": spec["suppressed_email"], "sms": spec["suppressed_phone"]}

    def consented(ch: str) -> bool:
        state = spec[f"consent_{ch}"]
        return state == "granted" if state != "none" else policy[f"{ch}_without_consent"]

    allowed = [ch for ch in channels if consented(ch)]
    if not allowed:
        return Rule.CONSENT, ""
    reachable = [ch for ch in allowed if address[ch]]
    if not reachable:
        return Rule.NO_ADDRESS, ""
    clean = [ch for ch in reachable if not suppressed[ch]]
    if not clean:
        return Rule.SUPPRESSED, ""
    look_back = max(policy["period_days"], policy["min_gap_days"])
    ages = [
        (ch, 0 if days is None else days)
        for ch, days in spec["contacts"]
        if days is None or days <= look_back
    ]
    in_period = [ch for ch, age in ages if age <= policy["period_days"]]
    if policy["max_contacts"] is not None and len(in_period) >= policy["max_contacts"]:
        return Rule.FREQUENCY, ""
    if policy["min_gap_days"] and any(age < policy["min_gap_days"] for _ch, age in ages):
        return Rule.MIN_GAP, ""
    cap = policy["max_contacts_per_channel"]
    usable = [ch for ch in clean if cap is None or in_period.count(ch) < cap]
    if not usable:
        return Rule.CHANNEL_FREQUENCY, ""
    return "", usable[0]


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run, so that the suite is deterministic
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(customer_specs, min_size=1, max_size=10),
    policy=policy_specs,
    channels=st.sampled_from(CHANNEL_ORDERS),
    control_percent=st.sampled_from(["0", "10", "50"]),
)
def test_property_no_message_reaches_an_opted_out_do_not_contact_or_suppressed_customer(
    specs: list[dict[str, Any]], policy: dict[str, Any], channels: tuple[str, ...], control_percent: str
) -> None:
    with transaction.atomic():
        set_policy(**policy)
        people = customers(len(specs))
        for person, spec in zip(people, specs, strict=True):
            changes: dict[str, Any] = {"do_not_contact": spec["dnc"]}
            if not spec["email"]:
                changes["email"] = ""
            if not spec["phone"]:
                changes["phone"] = ""
            Customer.objects.filter(pk=person.pk).update(**changes)
            for ch in ("email", "sms"):
                if spec[f"consent_{ch}"] != "none":
                    consent([person], ch, granted=spec[f"consent_{ch}"] == "granted")
            if spec["suppressed_email"] and spec["email"]:
                Suppression.objects.create(channel="email", address=person.email, reason="hard_bounce")
            if spec["suppressed_phone"] and spec["phone"]:
                Suppression.objects.create(channel="sms", address=person.phone, reason="invalid_number")
            for ch, days in spec["contacts"]:
                sent_at = None if days is None else MONDAY_MORNING - dt.timedelta(days=days)
                state = OutboxState.PENDING if days is None else OutboxState.DELIVERED
                other_campaign_message(person, channel=ch, state=state, sent_at=sent_at)
        excluded = [p for p, spec in zip(people, specs, strict=True) if spec["excluded"]]
        campaign = campaign_for(
            people, channels=channels, control_percent=control_percent, exclude=excluded, control_seed=99
        )
        take_snapshots(campaign)
        deleted = [p.pk for p, spec in zip(people, specs, strict=True) if spec["deleted"]]
        Customer.objects.filter(pk__in=deleted).update(deleted_at=timezone.now())

        dry = policy_dry_run(campaign=campaign)
        result = campaign_materialise(campaign_id=campaign.pk)

        decided = decisions(campaign)
        assert Decision.objects.filter(campaign=campaign).count() == len(people)  # exactly one decision each
        threshold = int(Decimal(control_percent) * 100)
        for person, spec in zip(people, specs, strict=True):
            rule, channel = expected_decision(spec, policy, channels)
            if rule:
                assert decided[person.pk] == ("excluded", rule, "")
            else:
                group = "control" if control_bucket(person.pk, 99) < threshold else "treatment"
                assert decided[person.pk] == (group, "", channel)
        for message in OutboxMessage.objects.filter(campaign=campaign).select_related("customer"):
            customer = message.customer
            assert not customer.do_not_contact and customer.deleted_at is None
            assert not Consent.objects.filter(
                customer=customer, channel=message.channel, granted=False
            ).exists()
            assert not Suppression.objects.filter(address=message.address).exists()
            assert decided[customer.pk] == ("treatment", "", message.channel)
        assert dry.excluded == result.excluded
        assert (dry.treatment, dry.control) == (result.treatment, result.control)
        transaction.set_rollback(True)
