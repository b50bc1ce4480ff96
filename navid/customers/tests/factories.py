"""Factories for customers and their lists; valid national IDs and phones by construction."""

from __future__ import annotations

import factory

from navid.customers.models import Customer, Industry, ProductType, ProspectStatus
from navid.customers.validation import customer_search_text


def ir_national_code(n: int) -> str:
    """A valid Iranian national code derived from n."""
    body = f"{n % 10**9:09d}"
    if len(set(body)) == 1:
        body = f"{(n + 1) % 10**9:09d}"
    total = sum(int(body[i]) * (10 - i) for i in range(9))
    rem = total % 11
    return body + str(rem if rem < 2 else 11 - rem)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kind = "person"
    status = "prospect"
    first_name = "علی"
    last_name = factory.Sequence(lambda n: f"رضایی{n}")
    national_id = factory.Sequence(lambda n: ir_national_code(100000 + n))
    phone = factory.Sequence(lambda n: f"+98912{1000000 + n:07d}")
    language = "fa"
    search_text = factory.LazyAttribute(
        lambda o: customer_search_text(
            {
                "first_name": o.first_name,
                "last_name": o.last_name,
                "organisation_name": "",
                "national_id": o.national_id,
                "phone": o.phone,
                "email": "",
            }
        )
    )


class ProspectStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProspectStatus
        django_get_or_create = ("code",)

    code = "new"
    name_en = "New"
    name_fa = "جدید"
    name_ru = "Новый"


class IndustryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Industry
        django_get_or_create = ("code",)

    code = "retail"
    name_en = "Retail"
    name_fa = "خرده‌فروشی"
    name_ru = "Розничная торговля"


class ProductTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductType
        django_get_or_create = ("code",)

    code = "deposit"
    name_en = "Deposit"
    name_fa = "سپرده"
    name_ru = "Вклад"
