"""Factories for users, regions and branches."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from navid.accounts.models import Branch, Region, StaffProfile
from navid.accounts.roles import Role
from navid.accounts.services import user_role_add


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"region-{n}")
    name_en = factory.Sequence(lambda n: f"Region {n}")
    name_fa = factory.Sequence(lambda n: f"استان {n}")
    name_ru = factory.Sequence(lambda n: f"Регион {n}")


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"branch-{n}")
    name_en = factory.Sequence(lambda n: f"Branch {n}")
    name_fa = factory.Sequence(lambda n: f"شعبه {n}")
    name_ru = factory.Sequence(lambda n: f"Филиал {n}")
    region = factory.SubFactory(RegionFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def role(self, create: bool, extracted: Role | None, **kwargs: Any) -> None:
        if create and extracted is not None:
            user_role_add(user=self, role=extracted)

    @factory.post_generation
    def branch(self, create: bool, extracted: Branch | None, **kwargs: Any) -> None:
        if create and extracted is not None:
            StaffProfile.objects.update_or_create(user=self, defaults={"branch": extracted})
