"""Who gets a lead: the bank's distribution rules in order, then the fallback, never unassigned if anyone can take it.

A rule matches a lead when each of its criteria that is set (region, branch, product, customer's language) equals
the lead's. Its managers are its *active* users; a rule whose managers are all inactive is passed over. Strategies:

- round robin: the next manager by id after the one who got the rule's last lead (wrapping round);
- least loaded: the manager with the fewest open leads now (ties: the lowest id);
- fixed: the rule's one manager (the first by id if several are named).

Fallback when no rule gives a manager: the least-loaded active relationship manager of the customer's branch,
else of the bank. Only when the bank has no active relationship manager does a lead stay unassigned.

`Assigner` loads the rules, the managers and the open-lead counts once, so that the periodic task assigns
thousands of leads with a handful of queries; counts are kept current as it assigns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count

from navid.accounts.models import StaffProfile
from navid.accounts.roles import Role
from navid.sales.models import OPEN_STAGES, DistributionRule, DistributionStrategy, Lead


@dataclass(frozen=True)
class LeadFacts:
    """What the rules look at."""

    region_id: int | None
    branch_id: int | None
    product_type_id: int | None
    language: str


@dataclass(frozen=True)
class Assignment:
    user_id: int | None
    rule: DistributionRule | None


class Assigner:
    """Assigns leads by the rules and the fallback; call `save()` once at the end to keep round-robin cursors."""

    def __init__(self) -> None:
        user_model = get_user_model()
        # Locked so that two processes assigning at once do not both read the same round-robin cursor.
        self.rules = list(
            DistributionRule.objects.select_for_update().filter(is_active=True).order_by("position", "pk")
        )
        members: dict[int, list[int]] = defaultdict(list)
        through = DistributionRule.managers.through
        for rule_id, user_id in (
            through.objects.filter(distributionrule__in=[r.pk for r in self.rules], user__is_active=True)
            .order_by("user_id")
            .values_list("distributionrule_id", "user_id")
        ):
            members[rule_id].append(user_id)
        self.members = members
        self.load: dict[int, int] = defaultdict(int)
        for user_id, n in (
            Lead.objects.filter(stage__in=OPEN_STAGES, assignee__isnull=False)
            .order_by()
            .values_list("assignee_id")
            .annotate(n=Count("pk"))
        ):
            self.load[user_id] = n
        managers = user_model.objects.filter(is_active=True, groups__name=Role.RELATIONSHIP_MANAGER.value)
        self.bank_managers = sorted(set(managers.values_list("pk", flat=True)))
        by_branch: dict[int, list[int]] = defaultdict(list)
        for user_id, branch_id in StaffProfile.objects.filter(
            user_id__in=self.bank_managers, branch__isnull=False
        ).values_list("user_id", "branch_id"):
            by_branch[branch_id].append(user_id)
        self.branch_managers = by_branch
        self._moved: set[int] = set()

    @staticmethod
    def matches(rule: DistributionRule, facts: LeadFacts) -> bool:
        return (
            (rule.region_id is None or rule.region_id == facts.region_id)
            and (rule.branch_id is None or rule.branch_id == facts.branch_id)
            and (rule.product_type_id is None or rule.product_type_id == facts.product_type_id)
            and (not rule.language or rule.language == facts.language)
        )

    def _least_loaded(self, candidates: list[int]) -> int | None:
        return min(candidates, key=lambda pk: (self.load[pk], pk), default=None)

    def _pick(self, rule: DistributionRule) -> int | None:
        candidates = self.members.get(rule.pk, [])
        if not candidates:
            return None
        if rule.strategy == DistributionStrategy.FIXED:
            return candidates[0]
        if rule.strategy == DistributionStrategy.LEAST_LOADED:
            return self._least_loaded(candidates)
        after = [pk for pk in candidates if rule.last_assignee_id is None or pk > rule.last_assignee_id]
        chosen = (after or candidates)[0]
        rule.last_assignee_id = chosen
        self._moved.add(rule.pk)
        return chosen

    def assign(self, facts: LeadFacts) -> Assignment:
        """The manager (and rule) for one lead; the counts are updated as if the lead were saved."""
        for rule in self.rules:
            if self.matches(rule, facts):
                chosen = self._pick(rule)
                if chosen is not None:
                    self.load[chosen] += 1
                    return Assignment(chosen, rule)
        local = self.branch_managers.get(facts.branch_id, []) if facts.branch_id is not None else []
        chosen = self._least_loaded(local) or self._least_loaded(self.bank_managers)
        if chosen is not None:
            self.load[chosen] += 1
        return Assignment(chosen, None)

    def save(self) -> None:
        """Store the round-robin cursors that moved."""
        for rule in self.rules:
            if rule.pk in self._moved:
                DistributionRule.objects.filter(pk=rule.pk).update(last_assignee_id=rule.last_assignee_id)
        self._moved.clear()
