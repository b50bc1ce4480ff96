"""Demo users, one per role, for `navid demo`."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from navid.accounts.models import Branch, StaffProfile
from navid.accounts.roles import Role
from navid.accounts.services import roles_sync, user_role_add

DEMO_PASSWORD = "navid-demo"  # noqa: S105 - printed at start-up; demo databases only

DEMO_USERS: tuple[tuple[str, Role], ...] = (
    ("admin", Role.ADMINISTRATOR),
    ("director", Role.MARKETING_DIRECTOR),
    ("analyst", Role.MARKETING_ANALYST),
    ("campaigns", Role.CAMPAIGN_MANAGER),
    ("segments", Role.SEGMENT_MANAGER),
    ("channels", Role.CHANNEL_MANAGER),
    ("agent", Role.AGENT),
    ("branch", Role.BRANCH_OFFICER),
    ("rm", Role.RELATIONSHIP_MANAGER),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role


@transaction.atomic
def demo_users_ensure() -> list[DemoUser]:
    """Create (or reset) one user per role; the branch officer works at the first branch."""
    roles_sync()
    model = get_user_model()
    first_branch = Branch.objects.order_by("id").first()
    users = []
    for username, role in DEMO_USERS:
        user, _ = model.objects.get_or_create(username=username)
        user.set_password(DEMO_PASSWORD)
        user.is_staff = role == Role.ADMINISTRATOR
        user.is_superuser = role == Role.ADMINISTRATOR
        user.save()
        user_role_add(user=user, role=role)
        profile, _ = StaffProfile.objects.get_or_create(user=user)
        if role == Role.BRANCH_OFFICER and profile.branch_id is None:
            profile.branch = first_branch
            profile.save()
        users.append(DemoUser(username, DEMO_PASSWORD, role))
    return users
