"""Deterministic, fast demo interactions for the customers already stored, and the default complaint categories.

Rows are built as database-ready text and written with COPY on PostgreSQL and with `executemany` in one
transaction a batch on SQLite, so that five million interactions take minutes, not hours.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from navid.accounts.roles import Role
from navid.customers.demo import copy_value
from navid.customers.models import Customer, ProductType
from navid.interactions.models import ComplaintCategory, Interaction

# (code, English, Persian, Russian)
COMPLAINT_CATEGORIES: tuple[tuple[str, str, str, str], ...] = (
    ("cards-atm", "Cards and ATMs", "کارت و خودپرداز", "Карты и банкоматы"),
    ("fees", "Fees and charges", "کارمزدها", "Комиссии"),
    ("service-quality", "Staff and service quality", "کیفیت خدمات و رفتار کارکنان", "Качество обслуживания"),
    ("waiting-time", "Waiting time", "زمان انتظار", "Время ожидания"),
    ("online-banking", "Internet and mobile banking", "اینترنت‌بانک و همراه‌بانک", "Интернет- и мобильный банк"),
    ("loans", "Loans and credit", "وام و تسهیلات", "Кредиты"),
    ("transfers", "Transfers and payments", "انتقال وجه و پرداخت", "Переводы и платежи"),
    ("fraud", "Fraud and security", "کلاهبرداری و امنیت", "Мошенничество и безопасность"),
    ("other", "Other", "سایر", "Другое"),
)  # fmt: skip


def complaint_categories_ensure() -> dict[str, int]:
    """Create the default complaint categories that are missing (by code; edited ones stay); return code -> id."""
    codes = [c[0] for c in COMPLAINT_CATEGORIES]
    with transaction.atomic():
        existing = set(ComplaintCategory.objects.filter(code__in=codes).values_list("code", flat=True))
        ComplaintCategory.objects.bulk_create(
            [
                ComplaintCategory(code=code, name_en=en, name_fa=fa, name_ru=ru, sort_order=10 * (i + 1))
                for i, (code, en, fa, ru) in enumerate(COMPLAINT_CATEGORIES)
                if code not in existing
            ],
            ignore_conflicts=True,
        )
    return dict(ComplaintCategory.objects.filter(code__in=codes).values_list("code", "id"))


# ---------------------------------------------------------------------------------------------------------
# What happens, how often
# ---------------------------------------------------------------------------------------------------------


def _slots(weights: Sequence[tuple[Any, int]]) -> tuple[Any, ...]:
    """A lookup table where each value appears `weight` times, so one random index draws by weight."""
    return tuple(value for value, weight in weights for _ in range(weight))


_IN, _OUT = "inbound", "outbound"
# (kind, channel, direction), weight: per 100 interactions of a person who is a customer
_PERSON = _slots(
    (
        (("call", "phone", _IN), 14),
        (("call", "phone", _OUT), 10),
        (("sms", "sms", _OUT), 22),
        (("sms", "sms", _IN), 1),
        (("email", "email", _OUT), 8),
        (("email", "email", _IN), 2),
        (("letter", "post", _OUT), 3),
        (("branch_visit", "branch", _IN), 12),
        (("web_visit", "web", _IN), 6),
        (("web_visit", "mobile_app", _IN), 6),
        (("inquiry", "phone", _IN), 3),
        (("inquiry", "web", _IN), 1),
        (("complaint", "phone", _IN), 2),
        (("complaint", "branch", _IN), 1),
        (("complaint", "mobile_app", _IN), 1),
        (("request", "branch", _IN), 3),
        (("request", "mobile_app", _IN), 2),
        (("meeting", "branch", _IN), 1),
        (("referral", "branch", _IN), 1),
        (("social", "social", _IN), 1),
    )
)
_ORGANISATION = _slots(
    (
        (("call", "phone", _IN), 14),
        (("call", "phone", _OUT), 14),
        (("sms", "sms", _OUT), 8),
        (("email", "email", _OUT), 14),
        (("email", "email", _IN), 8),
        (("letter", "post", _OUT), 5),
        (("branch_visit", "branch", _IN), 8),
        (("web_visit", "web", _IN), 8),
        (("inquiry", "email", _IN), 3),
        (("complaint", "phone", _IN), 2),
        (("complaint", "email", _IN), 1),
        (("request", "branch", _IN), 4),
        (("request", "email", _IN), 2),
        (("meeting", "field", _OUT), 6),
        (("meeting", "branch", _IN), 3),
    )
)
_PROSPECT = _slots(
    (
        (("call", "phone", _OUT), 30),
        (("sms", "sms", _OUT), 25),
        (("email", "email", _OUT), 10),
        (("letter", "post", _OUT), 5),
        (("web_visit", "web", _IN), 10),
        (("branch_visit", "branch", _IN), 5),
        (("inquiry", "phone", _IN), 6),
        (("referral", "branch", _IN), 5),
        (("meeting", "field", _OUT), 2),
        (("social", "social", _IN), 2),
    )
)
# Customers have more to do with the bank than prospects; with 70 % customers the mean stays as asked.
_CUSTOMER_ACTIVITY, _PROSPECT_ACTIVITY = 1.15, 0.65
_MARKETING = frozenset({("call", _OUT), ("sms", _OUT), ("email", _OUT)})

_OUTCOMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("call", _OUT): _slots(
        (
            ("completed", 35),
            ("no_answer", 25),
            ("busy", 8),
            ("interested", 8),
            ("not_interested", 12),
            ("callback", 12),
        )
    ),
    ("call", _IN): _slots((("completed", 65), ("resolved", 30), ("other", 5))),
    ("sms", _OUT): _slots((("completed", 94), ("failed", 6))),
    ("email", _OUT): _slots((("completed", 92), ("failed", 8))),
    ("letter", _OUT): _slots((("completed", 97), ("failed", 3))),
    ("sms", _IN): ("completed",),
    ("email", _IN): _slots((("completed", 70), ("resolved", 30))),
    ("branch_visit", _IN): _slots((("completed", 75), ("resolved", 25))),
    ("web_visit", _IN): ("",),
    ("inquiry", _IN): _slots((("resolved", 80), ("completed", 20))),
    ("meeting", _IN): _slots((("completed", 55), ("interested", 30), ("not_interested", 15))),
    ("meeting", _OUT): _slots((("completed", 50), ("interested", 35), ("not_interested", 15))),
    ("referral", _IN): _slots((("interested", 60), ("completed", 40))),
    ("social", _IN): _slots((("completed", 60), ("other", 40))),
}
# (mu, sigma, cap) of a log-normal duration in seconds; kinds not listed have none.
_DURATIONS: dict[str, tuple[float, float, int]] = {
    "call": (math.log(170), 0.6, 3600),
    "inquiry": (math.log(150), 0.5, 3600),
    "complaint": (math.log(320), 0.5, 5400),
    "branch_visit": (math.log(900), 0.5, 7200),
    "request": (math.log(600), 0.5, 7200),
    "meeting": (math.log(2700), 0.4, 14400),
}
_SHORT_CALLS = {"no_answer": (20, 25), "busy": (3, 6)}  # (least, spread) in seconds
# Cost per contact, in rials and in roubles: (per minute of a call, SMS, email, letter, field meeting).
_COSTS = {"fa": (2000, 1500, 50, 250_000, 2_000_000), "ru": (2.0, 3.5, 0.05, 85.0, 1500.0)}
_RATINGS = _slots(((5, 45), (4, 30), (3, 13), (2, 7), (1, 5)))
_COMPLAINT_RATINGS = _slots(((1, 25), (2, 25), (3, 25), (4, 15), (5, 10)))
_RATED = frozenset({"call", "branch_visit", "meeting", "complaint", "request", "inquiry"})
_CATEGORY_SLOTS = _slots(
    (
        ("cards-atm", 22),
        ("fees", 18),
        ("service-quality", 12),
        ("waiting-time", 14),
        ("online-banking", 16),
        ("loans", 6),
        ("transfers", 7),
        ("fraud", 2),
        ("other", 3),
    )
)
_RETURNABLE = ("credit-card", "debit-card", "safe-deposit-box", "internet-banking")
# Notes in the customer's language: (Persian, Russian)
_COMPLAINT_NOTES: dict[str, tuple[tuple[str, str], ...]] = {
    "cards-atm": (("کارت در دستگاه خودپرداز ماند", "Банкомат не вернул карту"),
                  ("پول از حساب کم شد ولی خودپرداز پرداخت نکرد", "Деньги списаны, но банкомат их не выдал")),
    "fees": (("کارمزد انتقال دو بار کسر شد", "Комиссия за перевод списана дважды"),
             ("از کارمزد نگهداری حساب راضی نیست", "Недоволен платой за обслуживание счёта")),
    "service-quality": (("برخورد نامناسب کارمند باجه", "Грубость сотрудника в отделении"),),
    "waiting-time": (("بیش از یک ساعت در صف منتظر ماند", "Ждал в очереди больше часа"),),
    "online-banking": (("ورود به همراه‌بانک ممکن نیست", "Не удаётся войти в мобильный банк"),
                       ("رمز یکبار مصرف دیر می‌رسد", "Одноразовый код приходит с опозданием")),
    "loans": (("تأخیر در بررسی درخواست وام", "Долго рассматривают заявку на кредит"),),
    "transfers": (("انتقال پایا هنوز به مقصد نرسیده", "Перевод до сих пор не зачислен получателю"),),
    "fraud": (("تراکنش ناشناس با کارت", "Неизвестная операция по карте"),),
    "other": (("درخواست تماس با مدیر شعبه", "Просит связаться с управляющим отделением"),),
}  # fmt: skip
_REQUEST_NOTES = (
    ("درخواست صورت‌حساب سه ماه اخیر", "Запрос выписки за три месяца"),
    ("درخواست افزایش سقف انتقال", "Просит увеличить лимит переводов"),
    ("درخواست صدور کارت جدید", "Заявка на перевыпуск карты"),
    ("تغییر نشانی و شماره تماس", "Смена адреса и телефона"),
)
_RETURN_NOTES = (("بستن کارت و بازگرداندن آن", "Закрытие и возврат карты"),)
_MEETING_NOTES = (
    ("معرفی سپرده مدت‌دار جدید", "Презентация нового срочного вклада"),
    ("بررسی نیاز به تسهیلات سرمایه در گردش", "Обсуждение кредита на пополнение оборотных средств"),
)
# Relative activity by local hour: nothing at night, busy office hours.
_HOUR_WEIGHTS = (0, 0, 0, 0, 0, 0, 0.2, 1, 4, 7, 8, 8, 7, 6, 7, 7, 6, 5, 4, 3, 2, 1.5, 1, 0.3)
_UTC_OFFSET = {"fa": 3 * 3600 + 1800, "ru": 3 * 3600}
_SOD_SIZE = 1 << 14
_COLUMNS = (
    "customer", "kind", "channel", "direction", "occurred_at", "outcome", "duration_seconds", "cost",
    "employee", "campaign_id", "notes", "rating", "complaint_category", "returned_product", "request_open",
    "created_at", "source",
)  # fmt: skip
_SOURCE = "demo"


def _second_of_day_table() -> list[int]:
    """Inverse distribution of the local second of the day: a uniform index gives a realistic time."""
    total = sum(_HOUR_WEIGHTS)
    table: list[int] = []
    for hour, weight in enumerate(_HOUR_WEIGHTS):
        count = round(_SOD_SIZE * weight / total)
        table.extend(hour * 3600 + (3600 * i) // max(1, count) for i in range(count))
    return table


# ---------------------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------------------


@dataclass
class InteractionsDemoResult:
    """What interactions_generate wrote and how long it took."""

    customers: int
    interactions: int
    seconds: float


@dataclass(frozen=True)
class _Staff:
    agents: tuple[int, ...]
    branch: tuple[int, ...]
    managers: tuple[int, ...]


def _staff() -> _Staff:
    """Ids of the users who talk to customers, by role (empty when there are none)."""
    users = get_user_model().objects.filter(is_active=True).order_by("id")

    def of(role: Role) -> tuple[int, ...]:
        return tuple(users.filter(groups__name=role.value).values_list("id", flat=True))

    return _Staff(of(Role.AGENT), of(Role.BRANCH_OFFICER), of(Role.RELATIONSHIP_MANAGER))


class _Generator:
    """Builds interaction rows, as tuples of database-ready values, from one seeded random stream per batch."""

    def __init__(self, *, seed: int, mean: float, months: int, now: dt.datetime) -> None:
        self.seed = seed
        self.mean = mean
        ops = connection.ops
        self.now = now
        self.now_db = ops.adapt_datetimefield_value(now)
        sample = ops.adapt_datetimefield_value(dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
        sample_text = sample.isoformat(sep=" ") if isinstance(sample, dt.datetime) else str(sample)
        if not sample_text.startswith("2001-02-03 04:05:06"):
            raise ImproperlyConfigured(f"unexpected datetime format from the database adapter: {sample_text}")
        suffix = sample_text[19:]
        today = now.astimezone(dt.UTC).date()
        self.days = max(1, round(months * 30.436875))
        first = today - dt.timedelta(days=self.days)
        self.base = int(dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC).timestamp())
        self.now_ts = int(now.timestamp())
        # Timestamps as text: a day prefix and a time-of-day suffix, exactly as Django's adapter writes them.
        self.day_text = [f"{(first + dt.timedelta(days=d)).isoformat()} " for d in range(self.days + 2)]
        self.second_text = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]
        self.sod = _second_of_day_table()
        self.categories = complaint_categories_ensure()
        products = dict(ProductType.objects.values_list("code", "id"))
        self.returnable = tuple(products[c] for c in _RETURNABLE if c in products) or tuple(products.values())
        self.staff = _staff()

    def rows(self, customers: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Rows for one batch of customers: (id, status, kind, language, do_not_contact, relationship manager)."""
        rng = random.Random(f"navid-interactions:{self.seed}:{customers[0][0] if customers else 0}")
        rand, gauss, exp = rng.random, rng.gauss, math.exp
        staff, sod, days = self.staff, self.sod, self.days
        sod_size = len(sod)
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        for cid, status, party_kind, language, do_not_contact, manager in customers:
            is_customer = status == "customer"
            if not is_customer:
                slots, activity = _PROSPECT, _PROSPECT_ACTIVITY
            elif party_kind == "organisation":
                slots, activity = _ORGANISATION, _CUSTOMER_ACTIVITY
            else:
                slots, activity = _PERSON, _CUSTOMER_ACTIVITY
            mean = self.mean * activity * exp(gauss(-0.125, 0.5))
            # Poisson by multiplying uniforms: exact and cheap for the small means used here.
            limit, n, p = exp(-mean), 0, rand()
            while p > limit and n < 500:
                n += 1
                p *= rand()
            lang = "ru" if language == "ru" else "fa"
            costs = _COSTS[lang]
            tz = _UTC_OFFSET[lang]
            for _ in range(n):
                kind, channel, direction = slots[int(rand() * len(slots))]
                if do_not_contact and (kind, direction) in _MARKETING:
                    continue
                day = int(rand() * days)
                ts = self.base + day * 86400 + sod[int(rand() * sod_size)] - tz
                if ts < self.base:
                    ts += 86400
                elif ts >= self.now_ts:
                    ts -= 86400
                age_days = (self.now_ts - ts) // 86400
                day_index, second = divmod(ts - self.base, 86400)
                occurred = self.day_text[day_index] + self.second_text[second]

                outcome = ""
                request_open = False
                if kind in ("complaint", "request"):
                    chance = 0.6 if age_days < 14 else 0.2 if age_days < 60 else 0.03
                    request_open = rand() < chance
                    outcome = "open" if request_open else "resolved"
                else:
                    choices = _OUTCOMES[kind, direction]
                    outcome = choices[int(rand() * len(choices))]

                duration: int | None = None
                if kind == "call" and outcome in _SHORT_CALLS:
                    least, spread = _SHORT_CALLS[outcome]
                    duration = least + int(rand() * spread)
                elif kind in _DURATIONS and channel not in ("web", "mobile_app", "email"):
                    mu, sigma, cap = _DURATIONS[kind]
                    duration = min(cap, int(exp(mu + sigma * gauss(0.0, 1.0))))

                cost = 0.0
                if direction == _OUT:
                    if kind == "call":
                        cost = ((duration or 0) + 59) // 60 * costs[0]
                    elif kind == "sms":
                        cost = costs[1]
                    elif kind == "email":
                        cost = costs[2]
                    elif kind == "letter":
                        cost = costs[3]
                    elif kind == "meeting":
                        cost = costs[4]

                employee = None
                if kind == "meeting":
                    employee = manager or (
                        staff.managers[int(rand() * len(staff.managers))] if staff.managers else None
                    )
                elif channel == "branch" and staff.branch:
                    employee = staff.branch[int(rand() * len(staff.branch))]
                elif channel == "phone" and staff.agents:
                    employee = staff.agents[int(rand() * len(staff.agents))]

                rating = None
                if kind in _RATED and outcome not in ("no_answer", "busy", "open") and rand() < 0.25:
                    table = _COMPLAINT_RATINGS if kind == "complaint" else _RATINGS
                    rating = table[int(rand() * len(table))]

                category = product = None
                notes = ""
                pick = 0 if lang == "fa" else 1
                if kind == "complaint":
                    code = _CATEGORY_SLOTS[int(rand() * len(_CATEGORY_SLOTS))]
                    category = self.categories.get(code)
                    phrases = _COMPLAINT_NOTES[code]
                    notes = phrases[int(rand() * len(phrases))][pick]
                elif kind == "request":
                    if self.returnable and rand() < 0.08:
                        product = self.returnable[int(rand() * len(self.returnable))]
                        notes = _RETURN_NOTES[0][pick]
                    else:
                        notes = _REQUEST_NOTES[int(rand() * len(_REQUEST_NOTES))][pick]
                elif kind == "meeting":
                    notes = _MEETING_NOTES[int(rand() * len(_MEETING_NOTES))][pick]

                append(
                    (
                        cid,
                        kind,
                        channel,
                        direction,
                        occurred,
                        outcome,
                        duration,
                        f"{cost:.2f}",
                        employee,
                        None,
                        notes,
                        rating,
                        category,
                        product,
                        request_open,
                        self.now_db,
                        _SOURCE,
                    )
                )
        return rows


class _Writer:
    """Writes rows: COPY on PostgreSQL, one executemany a batch elsewhere, inside the caller's transaction."""

    def __init__(self) -> None:
        meta = Interaction._meta
        qn = connection.ops.quote_name
        columns = [meta.get_field(name).column for name in _COLUMNS]  # type: ignore[union-attr]
        self.target = f"{qn(meta.db_table)} ({', '.join(qn(str(c)) for c in columns)})"
        self.vendor = connection.vendor
        marks = ", ".join(["?" if self.vendor == "sqlite" else "%s"] * len(columns))
        self.insert = f"INSERT INTO {self.target} VALUES ({marks})"  # noqa: S608 - names from the model

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                payload = "".join("\t".join([copy_value(v) for v in row]) + "\n" for row in rows)
                with cursor.cursor.copy(f"COPY {self.target} FROM STDIN") as copy:
                    copy.write(payload)
            elif self.vendor == "sqlite":
                # The driver's own executemany: Django would rewrite, and in DEBUG log, every parameter.
                connection.connection.executemany(self.insert, rows)
            else:
                cursor.executemany(self.insert, rows)


def _customers_after(last_id: int, limit: int, max_id: int | None) -> list[tuple[Any, ...]]:
    """The next live customers by id, with what the generator needs of them."""
    qs = Customer.objects.filter(deleted_at__isnull=True, pk__gt=last_id)
    if max_id is not None:
        qs = qs.filter(pk__lte=max_id)
    fields = ("id", "status", "kind", "language", "do_not_contact", "relationship_manager_id")
    return list(qs.order_by("id").values_list(*fields)[:limit])


def interactions_generate(
    *,
    seed: int,
    per_customer_mean: float = 5,
    months: int = 12,
    min_customer_id: int | None = None,
    max_customer_id: int | None = None,
    batch: int = 20_000,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> InteractionsDemoResult:
    """Append realistic interactions of the last `months` months for the live customers in the id range.

    The same seed, customers, batch size and `now` give the same rows. `progress(customers, interactions)`
    is called after each batch.
    """
    if per_customer_mean < 0 or months < 1 or batch < 1:
        raise ValueError("per_customer_mean must be >= 0, months >= 1 and batch >= 1")
    started = time.perf_counter()
    gen = _Generator(seed=seed, mean=per_customer_mean, months=months, now=now or timezone.now())
    writer = _Writer()
    customers = written = 0
    chunk = _customers_after((min_customer_id or 1) - 1, batch, max_customer_id)
    # Rows of the next batch are built in a second thread (pure Python, no database) while the database
    # stores the current batch: on PostgreSQL the server's index and foreign-key work then overlaps.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="navid-demo-interactions") as pool:
        pending: Future[list[tuple[Any, ...]]] | None = pool.submit(gen.rows, chunk) if chunk else None
        while pending is not None:
            rows = pending.result()
            current = chunk
            chunk = _customers_after(current[-1][0], batch, max_customer_id)
            pending = pool.submit(gen.rows, chunk) if chunk else None
            with transaction.atomic():
                writer.write(rows)
            customers += len(current)
            written += len(rows)
            if progress is not None:
                progress(customers, written)
    return InteractionsDemoResult(
        customers=customers, interactions=written, seconds=time.perf_counter() - started
    )
