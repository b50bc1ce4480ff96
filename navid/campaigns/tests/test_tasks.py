from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from navid.campaigns import tasks
from navid.campaigns.models import Campaign, Decision, OutboxMessage, State
from navid.campaigns.tests.factories import CampaignFactory
from navid.campaigns.tests.sending import customers_bulk, outbox_write, running_campaign
from navid.celery import app
from navid.channels.tests.servers import SmtpServer, smtp_server_fixture  # noqa: F401
from navid.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    settings.NAVID_SMTP_HOST, settings.NAVID_SMTP_PORT = smtp_server.host, smtp_server.port
    settings.NAVID_SEND_WORKERS_PER_CHANNEL = 2
    return smtp_server


@pytest.fixture
def eager() -> Iterator[None]:
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_send_channel_sends_everything_due_completes_the_campaign_and_a_second_run_sends_nothing(
    smtp_settings: SmtpServer,
) -> None:
    campaign = running_campaign()
    outbox_write(campaign=campaign, customers=customers_bulk(count=5))

    assert tasks.send_channel.apply(args=(campaign.id, "email")).get() == "done"
    assert tasks.send_channel.apply(args=(campaign.id, "email")).get() == "not_running"

    assert len(smtp_settings.messages) == 5
    campaign.refresh_from_db()
    assert campaign.state == State.COMPLETED


def test_launch_materialises_wave_one_then_sends_every_channel(
    smtp_settings: SmtpServer, eager: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = running_campaign()
    customers = customers_bulk(count=3)
    calls = []

    def materialise(*, campaign_id: int, wave: int = 1) -> None:
        # Materialisation is another part of the campaign work; here it writes the outbox the same way.
        calls.append((campaign_id, wave))
        if not OutboxMessage.objects.filter(campaign_id=campaign_id).exists():
            outbox_write(campaign=Campaign.objects.get(pk=campaign_id), customers=customers)

    monkeypatch.setattr(tasks, "campaign_materialise", materialise)

    assert tasks.launch_campaign.apply(args=(campaign.id,)).get() == 2  # two send tasks for the one channel

    assert calls == [(campaign.id, 1)]
    assert sorted(m.recipients[0] for m in smtp_settings.messages) == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    ]
    campaign.refresh_from_db()
    assert campaign.state == State.COMPLETED


def test_launch_does_nothing_for_a_campaign_that_is_not_running(monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = running_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(state=State.APPROVED)
    monkeypatch.setattr(tasks, "campaign_materialise", lambda **kwargs: pytest.fail("must not materialise"))

    assert tasks.launch_campaign.apply(args=(campaign.id,)).get() == 0
    assert tasks.send_campaign.apply(args=(campaign.id,)).get() == 0


def test_letters_go_through_the_registry_into_one_pdf_and_manifest(settings: Any, tmp_path: Any) -> None:
    settings.NAVID_LETTERS_DIR = tmp_path
    campaign = running_campaign(channel="mail", unit_cost=Decimal("30000"))
    customers = customers_bulk(count=2)
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(
        address="12 Vali-e Asr Street, Tehran", postal_code="1434843111"
    )
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                campaign=campaign,
                customer_id=customer.id,
                channel="mail",
                language="en",
                address="12 Vali-e Asr Street, Tehran",
                idempotency_key=f"{campaign.id}:1:{customer.id}:mail",
            )
            for customer in customers
        ]
    )

    assert tasks.send_channel.apply(args=(campaign.id, "mail")).get() == "done"

    assert sorted(OutboxMessage.objects.filter(campaign=campaign).values_list("state", flat=True)) == [
        "sent",
        "sent",
    ]
    manifest = next(tmp_path.glob("*.csv")).read_text(encoding="utf-8").splitlines()
    assert len(list(tmp_path.glob("*.pdf"))) == 1
    assert manifest[0] == "key,name,address,postal_code,pages,postage"
    assert sorted(line.split(",")[0] for line in manifest[1:]) == sorted(
        f"{campaign.id}:1:{c.id}:mail" for c in customers
    )


def test_attribution_is_recounted_for_running_and_recently_finished_campaigns() -> None:
    now = timezone.now()
    running = CampaignFactory(state=State.RUNNING, starts_at=now - timedelta(days=2))
    recent = CampaignFactory(
        state=State.COMPLETED, starts_at=now - timedelta(days=60), finished_at=now - timedelta(days=30)
    )
    CampaignFactory(
        state=State.COMPLETED, starts_at=now - timedelta(days=430), finished_at=now - timedelta(days=400)
    )
    CampaignFactory(state=State.RUNNING)  # no start recorded: nothing to attribute yet
    CampaignFactory(state=State.DRAFT, starts_at=now)
    for campaign in (running, recent):
        customer = customers_bulk(count=1, start=campaign.pk * 10)[0]
        Decision.objects.create(campaign=campaign, customer_id=customer.pk, group="treatment")

    assert tasks.recompute_attribution.apply().get() == 2
