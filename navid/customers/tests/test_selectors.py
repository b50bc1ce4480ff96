from typing import Any

import pytest

from navid.accounts.roles import Role
from navid.accounts.tests.factories import BranchFactory
from navid.core.errors import NotFound
from navid.customers import selectors
from navid.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _search(user: Any, q: str) -> list[int]:
    return list(
        selectors.customer_list(user=user, filters=selectors.CustomerFilters(q=q)).values_list(
            "pk", flat=True
        )
    )


def test_search_folds_arabic_and_persian_letters(analyst: Any) -> None:
    # given a customer stored from Arabic-letter input
    from navid.customers.services import customer_create

    customer = customer_create(actor=analyst, values={"first_name": "علي", "last_name": "ياسيني"})
    other = CustomerFactory(first_name="Иван", last_name="Петров")
    # when searched with Persian letters, partial words or Russian in another case
    assert _search(analyst, "علی یاسینی") == [customer.pk]
    assert _search(analyst, "یاسین") == [customer.pk]
    assert _search(analyst, "ПЕТРОВ") == [other.pk]
    assert _search(analyst, "ив") == [other.pk]


def test_search_by_phone_in_any_format_and_by_national_id(analyst: Any) -> None:
    customer = CustomerFactory(phone="+989121234567", national_id="0012345679")
    CustomerFactory()
    assert _search(analyst, "۰۹۱۲ ۱۲۳ ۴۵۶۷") == [customer.pk]
    assert _search(analyst, "0012345679") == [customer.pk]


def test_search_treats_wildcards_as_text(analyst: Any) -> None:
    CustomerFactory(last_name="abcd")
    star = CustomerFactory(last_name="ab*cd")
    for pattern in ("%", "a_c", "a*d", "ab?d", "[ab]"):
        assert _search(analyst, pattern) == [], pattern
    assert _search(analyst, "b*c") == [star.pk]


def test_branch_officer_sees_only_their_branch(make_user: Any) -> None:
    mine, theirs = BranchFactory(), BranchFactory()
    officer = make_user(Role.BRANCH_OFFICER, branch=mine)
    visible = CustomerFactory(branch=mine, region=mine.region)
    hidden = CustomerFactory(branch=theirs, region=theirs.region)
    assert list(selectors.customers_visible_to(user=officer)) == [visible]
    with pytest.raises(NotFound):
        selectors.customer_get(user=officer, pk=hidden.pk)


def test_branch_officer_without_branch_sees_nothing(make_user: Any) -> None:
    officer = make_user(Role.BRANCH_OFFICER)
    CustomerFactory()
    assert list(selectors.customers_visible_to(user=officer)) == []


def test_relationship_manager_sees_their_portfolio(make_user: Any) -> None:
    rm = make_user(Role.RELATIONSHIP_MANAGER)
    own = CustomerFactory(relationship_manager=rm)
    CustomerFactory()
    assert list(selectors.customers_visible_to(user=rm)) == [own]


def test_filters_combine(analyst: Any) -> None:
    branch = BranchFactory()
    match = CustomerFactory(status="customer", branch=branch)
    CustomerFactory(status="prospect", branch=branch)
    CustomerFactory(status="customer")
    found = selectors.customer_list(
        user=analyst, filters=selectors.CustomerFilters(status="customer", branch=branch.pk)
    )
    assert list(found) == [match]


def test_duplicate_groups_by_phone(admin_user: Any) -> None:
    a = CustomerFactory(phone="+989121111111")
    b = CustomerFactory(phone="+989121111111")
    CustomerFactory()
    groups = selectors.duplicate_groups(user=admin_user)
    assert [(g.reason, g.value, [c.pk for c in g.customers]) for g in groups] == [
        ("phone", "+989121111111", [a.pk, b.pk])
    ]
