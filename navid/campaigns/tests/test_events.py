from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from navid.accounts.models import AuditEntry
from navid.accounts.tests.factories import UserFactory
from navid.campaigns import events
from navid.campaigns.models import Attendance, Campaign, Event, Group, Invitation, Rsvp
from navid.campaigns.tests.factories import CampaignFactory, ChannelPlanFactory
from navid.campaigns.tests.responses_helpers import decisions_make, fast_passwords
from navid.core.errors import Conflict, PermissionDenied, ValidationFailed
from navid.customers.tests.factories import CustomerFactory
from navid.interactions.models import Interaction

pytestmark = pytest.mark.django_db
__all__ = ["fast_passwords"]


def _staff(*codenames: str) -> Any:
    user = UserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames)
    )
    return type(user).objects.get(pk=user.pk)  # a fresh object: permissions are cached per instance


@pytest.fixture
def campaign() -> Campaign:
    campaign = CampaignFactory()
    ChannelPlanFactory(campaign=campaign, channel="event")
    return campaign


def _event(campaign: Campaign, *, starts_in: timedelta = timedelta(days=2), **fields: Any) -> Event:
    return Event.objects.create(
        campaign=campaign,
        title="Investor evening",
        place="Tehran",
        starts_at=timezone.now() + starts_in,
        **fields,
    )


def test_creating_the_event_writes_the_guest_list_from_the_treatment_group(campaign: Campaign) -> None:
    treated, control, excluded = CustomerFactory(), CustomerFactory(), CustomerFactory()
    decisions_make(
        campaign=campaign, groups={treated: Group.TREATMENT, control: Group.CONTROL, excluded: Group.EXCLUDED}
    )
    actor = _staff("add_event")

    event = events.event_create(
        actor=actor,
        campaign=campaign,
        title=" Investor evening ",
        place="Tehran",
        starts_at=timezone.now() + timedelta(days=5),
        capacity=40,
    )

    assert (event.title, event.capacity) == ("Investor evening", 40)
    assert list(Invitation.objects.values_list("customer_id", "rsvp", "attendance")) == [
        (treated.pk, "pending", "unknown")
    ]
    assert AuditEntry.objects.filter(model="campaigns.event", object_id=str(event.pk)).count() == 1
    # Later decisions (the campaign materialised after the event was planned) join on the next sync, once.
    late = CustomerFactory()
    decisions_make(campaign=campaign, groups={late: Group.TREATMENT})
    assert events.event_invitations_sync(event_id=event.pk) == 1
    assert events.event_invitations_sync(event_id=event.pk) == 0
    assert Invitation.objects.count() == 2


def test_event_create_checks_permission_channel_and_fields(campaign: Campaign) -> None:
    later = timezone.now() + timedelta(days=5)
    with pytest.raises(PermissionDenied):
        events.event_create(actor=_staff(), campaign=campaign, title="x", place="y", starts_at=later)
    actor = _staff("add_event")
    with pytest.raises(Conflict):
        events.event_create(actor=actor, campaign=CampaignFactory(), title="x", place="y", starts_at=later)
    with pytest.raises(ValidationFailed) as caught:
        events.event_create(
            actor=actor, campaign=campaign, title=" ", place="", starts_at=later, ends_at=later, capacity=0
        )
    assert sorted(caught.value.errors) == ["capacity", "ends_at", "place", "title"]
    assert not Event.objects.exists()


def test_guests_are_found_by_name_phone_or_customer_number(campaign: Campaign) -> None:
    event = _event(campaign)
    maryam = CustomerFactory(first_name="مریم", last_name="احمدی", phone="+989121112233")
    ivan = CustomerFactory(first_name="Ivan", last_name="Petrov", phone="+79161234567", external_id="C-77")
    Invitation.objects.bulk_create([Invitation(event=event, customer=c) for c in (maryam, ivan)])

    def found(query: str) -> list[int]:
        return [invitation.customer_id for invitation in events.event_guests(event=event, query=query)]

    assert found("") == [ivan.pk, maryam.pk]  # by last name
    assert found("احمدی") == [maryam.pk]
    assert found("petrov") == [ivan.pk]
    assert found("09121112233") == [maryam.pk]
    assert found("۰۹۱۲۱۱۱۲۲۳۳") == [maryam.pk]
    assert found(str(ivan.pk)) == [ivan.pk]
    assert found("C-77") == [ivan.pk]
    assert found("nobody") == []


def test_a_guest_is_checked_in_once_by_list_or_by_qr_code(campaign: Campaign) -> None:
    event = _event(campaign)
    guest = Invitation.objects.create(event=event, customer=CustomerFactory(), rsvp=Rsvp.YES)
    door = _staff("check_in_guests")

    code = events.invitation_code(invitation_id=guest.pk)
    assert events.invitation_from_code(event=event, code=code).pk == guest.pk
    checked = events.invitation_check_in(actor=door, invitation=guest)

    assert (checked.attendance, checked.checked_in_by_id) == (Attendance.ATTENDED, door.pk)
    with pytest.raises(Conflict):
        events.invitation_check_in(actor=door, invitation=guest)
    assert list(
        Interaction.objects.values_list(
            "kind", "channel", "direction", "outcome", "campaign_id", "employee_id"
        )
    ) == [("meeting", "field", "inbound", "completed", campaign.pk, door.pk)]
    with pytest.raises(PermissionDenied):
        events.invitation_check_in(actor=_staff("view_event"), invitation=guest)


def test_a_code_of_another_event_or_a_made_up_code_is_refused(campaign: Campaign) -> None:
    event = _event(campaign)
    other_campaign = CampaignFactory()
    other = Invitation.objects.create(event=_event(other_campaign), customer=CustomerFactory())

    with pytest.raises(ValidationFailed) as caught:
        events.invitation_from_code(event=event, code=events.invitation_code(invitation_id=other.pk))
    assert list(caught.value.errors) == ["code"]
    with pytest.raises(ValidationFailed):
        events.invitation_from_code(event=event, code="1:made-up")


def test_no_shows_are_those_who_said_yes_and_did_not_come_marked_after_the_event(campaign: Campaign) -> None:
    event = _event(campaign, starts_in=timedelta(hours=-3), ends_at=timezone.now() - timedelta(hours=1))
    came, stayed_away, declined, silent = (CustomerFactory() for _ in range(4))
    rows = {
        came: (Rsvp.YES, Attendance.ATTENDED),
        stayed_away: (Rsvp.YES, Attendance.UNKNOWN),
        declined: (Rsvp.NO, Attendance.UNKNOWN),
        silent: (Rsvp.PENDING, Attendance.UNKNOWN),
    }
    Invitation.objects.bulk_create(
        Invitation(event=event, customer=c, rsvp=r, attendance=a) for c, (r, a) in rows.items()
    )
    door = _staff("check_in_guests")

    assert events.event_no_shows_mark(actor=door, event=event) == 1
    assert events.event_no_shows_mark(actor=door, event=event) == 0

    assert dict(Invitation.objects.values_list("customer_id", "attendance")) == {
        came.pk: "attended",
        stayed_away.pk: "no_show",
        declined.pk: "unknown",
        silent.pk: "unknown",
    }
    interaction = Interaction.objects.get()
    assert (interaction.customer_id, interaction.kind, interaction.outcome, interaction.campaign_id) == (
        stayed_away.pk,
        "meeting",
        "failed",
        campaign.pk,
    )
    assert interaction.occurred_at == event.ends_at
    assert events.event_counts(event=event) == {"invited": 4, "yes": 2, "no": 1, "attended": 1, "no_show": 1}


def test_no_shows_cannot_be_marked_before_the_event_ends(campaign: Campaign) -> None:
    event = _event(campaign, starts_in=timedelta(hours=-1), ends_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(Conflict):
        events.event_no_shows_mark(actor=_staff("check_in_guests"), event=event)


def test_the_door_page_searches_checks_in_by_code_and_shows_the_badge(campaign: Campaign) -> None:
    event = _event(campaign)
    maryam = CustomerFactory(first_name="مریم", last_name="احمدی")
    guest = Invitation.objects.create(event=event, customer=maryam, rsvp=Rsvp.YES)
    Invitation.objects.create(event=event, customer=CustomerFactory(first_name="Ivan", last_name="Petrov"))
    client = Client()
    client.force_login(_staff("view_event", "check_in_guests"))
    url = f"/campaigns/events/{event.pk}/"

    page = client.get(url, {"q": "احمدی"})
    assert page.status_code == 200
    assert page.content.decode().count('data-invitation="') == 1

    checked = client.post(
        f"{url}check-in/", {"code": events.invitation_code(invitation_id=guest.pk)}, follow=True
    )
    assert checked.status_code == 200
    assert "مریم احمدی is checked in." in checked.content.decode()
    assert Invitation.objects.get(pk=guest.pk).attendance == "attended"

    badge = client.get(f"{url}badge/{guest.pk}/")
    assert badge.status_code == 200 and "<svg" in badge.content.decode()


def test_the_door_page_is_closed_to_staff_without_the_permissions(campaign: Campaign) -> None:
    event = _event(campaign)
    guest = Invitation.objects.create(event=event, customer=CustomerFactory())
    client = Client()
    client.force_login(_staff("view_event"))

    assert client.get(f"/campaigns/events/{event.pk}/").status_code == 200
    assert client.post(f"/campaigns/events/{event.pk}/check-in/", {"invitation": guest.pk}).status_code == 403
    assert Invitation.objects.get(pk=guest.pk).attendance == "unknown"


def test_a_planner_creates_the_event_from_the_list_of_event_campaigns_waiting_for_one(
    campaign: Campaign,
) -> None:
    treated = CustomerFactory()
    decisions_make(campaign=campaign, groups={treated: Group.TREATMENT})
    client = Client()
    client.force_login(_staff("view_event", "add_event"))

    listing = client.get("/campaigns/events/")
    assert f'href="/campaigns/events/new/{campaign.pk}/"' in listing.content.decode()
    form = client.get(f"/campaigns/events/new/{campaign.pk}/").content.decode()
    assert '<input type="datetime-local" name="starts_at"' in form

    refused = client.post(
        f"/campaigns/events/new/{campaign.pk}/",
        {
            "title": "Investor evening",
            "place": "Tehran",
            "starts_at": "2026-12-01T18:00",
            "ends_at": "2026-12-01T17:00",
        },
    )
    assert refused.status_code == 200
    assert "The event must end after it starts." in refused.content.decode()
    created = client.post(
        f"/campaigns/events/new/{campaign.pk}/",
        {"title": "Investor evening", "place": "Tehran", "starts_at": "2026-12-01T18:00", "capacity": "40"},
    )
    event = Event.objects.get(campaign=campaign)
    assert created["Location"] == f"/campaigns/events/{event.pk}/"
    assert (timezone.localtime(event.starts_at).strftime("%Y-%m-%d %H:%M"), event.capacity) == (
        "2026-12-01 18:00",
        40,
    )
    assert list(Invitation.objects.values_list("customer_id", flat=True)) == [treated.pk]
    assert f"/campaigns/events/new/{campaign.pk}/" not in client.get("/campaigns/events/").content.decode()


def test_a_planner_edits_the_event_from_its_page_and_seats_never_go_below_the_yes_answers(
    campaign: Campaign,
) -> None:
    event = _event(campaign, capacity=40)
    event.starts_at = timezone.make_aware(datetime(2026, 12, 1, 18, 0))
    event.save()
    for customer in (CustomerFactory(), CustomerFactory()):
        Invitation.objects.create(event=event, customer=customer, rsvp=Rsvp.YES)
    client = Client()
    client.force_login(_staff("view_event", "change_event"))

    assert (
        f'href="/campaigns/events/{event.pk}/edit/"'
        in client.get(f"/campaigns/events/{event.pk}/").content.decode()
    )
    form = client.get(f"/campaigns/events/{event.pk}/edit/").content.decode()
    assert 'value="2026-12-01T18:00"' in form and 'value="Investor evening"' in form
    refused = client.post(
        f"/campaigns/events/{event.pk}/edit/",
        {"title": "Investor evening", "place": "Tehran", "starts_at": "2026-12-01T18:00", "capacity": "1"},
    )
    assert "2 guests have said yes already." in refused.content.decode()
    saved = client.post(
        f"/campaigns/events/{event.pk}/edit/",
        {"title": "Investors' evening", "place": "Isfahan", "starts_at": "2026-12-02T19:30", "capacity": "2"},
    )
    assert saved["Location"] == f"/campaigns/events/{event.pk}/"
    event.refresh_from_db()
    assert (event.title, event.place, event.capacity) == ("Investors' evening", "Isfahan", 2)
    assert timezone.localtime(event.starts_at).strftime("%Y-%m-%d %H:%M") == "2026-12-02 19:30"
    assert AuditEntry.objects.filter(model="campaigns.event", action="update").count() == 1


def test_the_edit_page_is_closed_without_the_change_permission(campaign: Campaign) -> None:
    event = _event(campaign)
    client = Client()
    client.force_login(_staff("view_event", "add_event"))
    assert client.get(f"/campaigns/events/{event.pk}/edit/").status_code == 403
    assert "/edit/" not in client.get(f"/campaigns/events/{event.pk}/").content.decode()
