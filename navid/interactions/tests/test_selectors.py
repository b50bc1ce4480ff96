"""Timeline order, filter and pages; signals counted at a fixed moment; what a role's scope lets through."""

import datetime as dt
from typing import Any

import pytest

from navid.accounts.roles import Role
from navid.accounts.tests.factories import BranchFactory
from navid.core.errors import NotFound, ValidationFailed
from navid.customers.tests.factories import CustomerFactory
from navid.interactions import selectors
from navid.interactions.models import Interaction
from navid.interactions.selectors import CustomerSignals
from navid.interactions.tests.factories import NOW, InteractionFactory

pytestmark = pytest.mark.django_db


def test_timeline_is_newest_first_with_ties_by_latest_recorded() -> None:
    customer = CustomerFactory()
    older = InteractionFactory(customer=customer, occurred_at=NOW - dt.timedelta(days=3))
    tie_first = InteractionFactory(customer=customer, occurred_at=NOW - dt.timedelta(days=1))
    tie_second = InteractionFactory(customer=customer, occurred_at=NOW - dt.timedelta(days=1))
    newest = InteractionFactory(customer=customer, occurred_at=NOW)
    InteractionFactory(occurred_at=NOW)  # another customer's
    page = selectors.customer_timeline(customer=customer)
    assert list(page.object_list) == [newest, tie_second, tie_first, older]


def test_timeline_filters_by_kind_and_pages() -> None:
    customer = CustomerFactory()
    kinds = ["call", "sms", "complaint", "call", "sms", "call"]
    made = [
        InteractionFactory(customer=customer, kind=k, occurred_at=NOW - dt.timedelta(hours=n))
        for n, k in enumerate(kinds)
    ]
    calls = selectors.customer_timeline(customer=customer, kinds=["call"], page_size=2)
    assert (calls.paginator.count, calls.paginator.num_pages, list(calls.object_list)) == (
        3,
        2,
        [made[0], made[3]],
    )
    second = selectors.customer_timeline(customer=customer, kinds=["call"], page=2, page_size=2)
    assert list(second.object_list) == [made[5]]
    both = selectors.customer_timeline(customer=customer, kinds=["complaint", "sms"])
    assert list(both.object_list) == [made[1], made[2], made[4]]
    assert selectors.customer_timeline(customer=customer, kinds=[""]).paginator.count == 6
    with pytest.raises(ValidationFailed):
        selectors.customer_timeline(customer=customer, kinds=["fax"])


def test_signals_at_a_fixed_moment() -> None:
    customer = CustomerFactory()
    day = dt.timedelta(days=1)
    InteractionFactory(customer=customer, occurred_at=NOW - 2 * day)
    InteractionFactory(
        customer=customer, occurred_at=NOW - 30 * day
    )  # on the 30-day edge: not within 30 days
    InteractionFactory(customer=customer, kind="complaint", occurred_at=NOW - 45 * day, request_open=True)
    InteractionFactory(customer=customer, kind="request", occurred_at=NOW - 89 * day, request_open=True)
    InteractionFactory(customer=customer, kind="complaint", occurred_at=NOW - 200 * day)
    InteractionFactory(customer=customer, kind="request", occurred_at=NOW - 100 * day, request_open=False)
    InteractionFactory(customer=customer, kind="complaint", occurred_at=NOW + day)  # after `now`: not counted
    InteractionFactory(kind="complaint", occurred_at=NOW - day)  # another customer's
    assert selectors.customer_signals(customer=customer, now=NOW) == CustomerSignals(
        last_contact_at=NOW - 2 * day,
        contacts_30d=1,
        contacts_90d=4,
        complaints=2,
        open_requests=2,
    )


def test_signals_of_a_customer_without_interactions() -> None:
    assert selectors.customer_signals(customer=CustomerFactory(), now=NOW) == CustomerSignals(
        last_contact_at=None, contacts_30d=0, contacts_90d=0, complaints=0, open_requests=0
    )


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (Role.BRANCH_OFFICER, ["own branch"]),
        (Role.RELATIONSHIP_MANAGER, ["own portfolio"]),
        (Role.AGENT, ["own branch", "own portfolio", "elsewhere"]),
        (Role.MARKETING_ANALYST, ["own branch", "own portfolio", "elsewhere"]),
    ],
)
def test_interactions_are_scoped_like_their_customers(make_user: Any, role: Role, sees: list[str]) -> None:
    mine, theirs = BranchFactory(), BranchFactory()
    user = make_user(role, branch=mine)
    notes = {
        "own branch": CustomerFactory(branch=mine),
        "own portfolio": CustomerFactory(branch=theirs, relationship_manager=user),
        "elsewhere": CustomerFactory(branch=theirs),
    }
    for note, customer in notes.items():
        InteractionFactory(customer=customer, notes=note)
    visible = selectors.interactions_visible_to(user=user)
    assert sorted(visible.values_list("notes", flat=True)) == sorted(sees)
    hidden = Interaction.objects.exclude(notes__in=sees)
    for interaction in hidden:
        with pytest.raises(NotFound):
            selectors.interaction_get(user=user, pk=interaction.pk)
