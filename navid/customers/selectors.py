"""Reads of the customers app: what a user may see, search, filters, trash, duplicates, history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from pydantic import BaseModel, ConfigDict, Field

from navid.accounts.roles import Scope
from navid.accounts.selectors import audit_entries_for_record, user_branch_id, user_scope
from navid.core.errors import NotFound
from navid.core.phones import InvalidPhone, normalize_phone
from navid.core.text import digits_only, search_key
from navid.customers.models import ContactPoint, Customer, ImportJob
from navid.customers.validation import REFERENCE_MODELS

# Below this many characters a search cannot use the trigram index and scans instead.
_TRIGRAM = 3


def customers_visible_to(*, user: Any, trash: bool = False) -> QuerySet[Customer]:
    """The customers a user may see: all, their branch's, or their own portfolio (R9)."""
    qs = Customer.objects.filter(deleted_at__isnull=not trash)
    if trash:
        qs = qs.filter(merged_into__isnull=True)
    scope = user_scope(user=user)
    if scope == Scope.BRANCH:
        branch_id = user_branch_id(user=user)
        qs = qs.filter(branch_id=branch_id) if branch_id is not None else qs.none()
    elif scope == Scope.PORTFOLIO:
        qs = qs.filter(relationship_manager_id=user.pk)
    return qs


def _glob_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


def _text_match(key: str) -> Q:
    if len(key) >= _TRIGRAM and connection.vendor == "sqlite":
        # The FTS5 trigram index (migration customers/0002) serves GLOB; it does not serve LIKE with ESCAPE.
        return Q(
            id__in=RawSQL(
                "SELECT rowid FROM customer_search WHERE search_text GLOB %s", (f"*{_glob_escape(key)}*",)
            )
        )
    return Q(search_text__contains=key)


def customer_search_filter(query: str) -> Q:
    """Match a name, national ID, email or phone typed in any letter form or digits."""
    key = search_key(query)
    if not key:
        return Q()
    digits = digits_only(query)
    if len(digits) >= 7 and len(digits) >= len(query.replace(" ", "")) - 2:
        try:
            phone = normalize_phone(query, default_region=settings.NAVID_DEFAULT_PHONE_REGION)
        except InvalidPhone:
            pass  # not a whole phone number: searched as text below
        else:
            # A phone number is matched exactly (as a phone, an extra contact phone, or a national ID with the
            # same digits) through three indexed lookups; digit substrings are too common for the trigram index,
            # and an OR of the lookups would make PostgreSQL scan the table.
            by_id = Customer.objects.filter(national_id=digits).order_by().values("id")
            by_phone = Customer.objects.filter(phone=phone).order_by().values("id")
            by_contact = (
                ContactPoint.objects.filter(kind=ContactPoint.Kind.PHONE, value=phone)
                .order_by()
                .values("customer_id")
            )
            return Q(id__in=by_id.union(by_phone, by_contact))
    condition = Q()
    for word in key.split(" ")[:5]:
        condition &= _text_match(word)
    return condition


class CustomerFilters(BaseModel):
    """Filters of the customer list, shared by the pages and the API; every one is optional."""

    model_config = ConfigDict(frozen=True)

    q: Annotated[str, Field(max_length=200)] = ""
    status: str = ""
    kind: str = ""
    region: int | None = None
    branch: int | None = None
    prospect_type: int | None = None
    prospect_rank: int | None = None
    prospect_status: int | None = None
    industry: int | None = None
    relationship_manager: int | None = None


def customer_list(*, user: Any, filters: CustomerFilters, trash: bool = False) -> QuerySet[Customer]:
    """Customers visible to `user` that pass `filters`, newest first, with their lists joined."""
    qs = customers_visible_to(user=user, trash=trash)
    if filters.q:
        qs = qs.filter(customer_search_filter(filters.q))
    for name in ("status", "kind"):
        if value := getattr(filters, name):
            qs = qs.filter(**{name: value})
    for name in (*REFERENCE_MODELS, "relationship_manager"):
        if (value := getattr(filters, name)) is not None:
            qs = qs.filter(**{f"{name}_id": value})
    return qs.select_related("region", "branch", "prospect_status").order_by("-id")


def customer_get(*, user: Any, pk: int, trash: bool = False) -> Customer:
    """One customer the user may see, or NotFound (another branch's customer is not found)."""
    customer = customers_visible_to(user=user, trash=trash).filter(pk=pk).first()
    if customer is None:
        raise NotFound(pk)
    return customer


def customer_history(*, customer: Customer) -> QuerySet[Any]:
    """Every audited change of the customer and of the records merged into it, newest first."""
    ids = [str(customer.pk), *(str(pk) for pk in customer.merged_from.values_list("pk", flat=True))]
    return audit_entries_for_record(record_model=Customer._meta.label_lower, record_ids=ids)


@dataclass(frozen=True)
class DuplicateGroup:
    """Live customers that share a phone, email or national ID."""

    reason: str
    value: str
    customers: list[Customer]


def duplicate_groups(*, user: Any, limit: int = 50) -> list[DuplicateGroup]:
    """Groups of customers that look like the same party: same phone or email."""
    base = customers_visible_to(user=user)
    groups: list[DuplicateGroup] = []
    for field in ("phone", "email"):
        values = (
            base.exclude(**{field: ""})
            .values(field)
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("-n", field)[:limit]
        )
        for row in values:
            members = list(base.filter(**{field: row[field]}).order_by("id")[:10])
            groups.append(DuplicateGroup(reason=field, value=row[field], customers=members))
    return groups[:limit]


def import_job_with_progress(job: ImportJob) -> ImportJob:
    """The job with its latest progress: a running import reports it in a file (see import_job_run)."""
    if job.state == ImportJob.State.RUNNING:
        try:
            reported = json.loads(job.progress_path.read_text())
        except (FileNotFoundError, ValueError):
            return job  # not started yet, or just finished: the row is current
        job.rows_done, job.rows_total = int(reported["done"]), int(reported["total"])
    return job
