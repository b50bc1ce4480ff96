"""Deterministic, fast demo data: the bank's default lists, customers, products held, transactions, consent."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
import queue
import random
import re
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import mul
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from navid.accounts.models import Branch, Region
from navid.customers.models import (
    Channel,
    Consent,
    ConsentPurpose,
    Customer,
    Industry,
    Language,
    PartyKind,
    PartyStatus,
    ProductHolding,
    ProductType,
    ProspectRank,
    ProspectStatus,
    ProspectType,
    Transaction,
)
from navid.customers.validation import customer_search_text

# ---------------------------------------------------------------------------------------------------------
# Reference lists
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RegionSpec:
    code: str
    name_en: str
    name_fa: str
    name_ru: str
    country: str  # "ir" or "ru"
    weight: int  # share of the country's customers
    utc_offset: int  # seconds; transactions follow local business hours
    city_en: str
    city_fa: str
    city_ru: str
    id_prefixes: tuple[str, ...]  # Iranian national-code city codes, or the Russian INN region code
    postal_prefix: str
    branches: tuple[tuple[str, str, str], ...]  # (en, fa, ru) neighbourhood names


_TEHRAN_TZ = 3 * 3600 + 1800
_MOSCOW_TZ = 3 * 3600

REGIONS: tuple[_RegionSpec, ...] = (
    _RegionSpec(
        "tehran", "Tehran", "تهران", "Тегеран", "ir", 35, _TEHRAN_TZ, "Tehran", "تهران", "Тегеран",
        ("001", "002", "003", "004", "005", "006", "007", "008"), "1",
        (("Vanak", "ونک", "Ванак"), ("Tajrish", "تجریش", "Таджриш"),
         ("Enghelab", "انقلاب", "Энгелаб"), ("Narmak", "نارمک", "Нармак")),
    ),
    _RegionSpec(
        "isfahan", "Isfahan", "اصفهان", "Исфахан", "ir", 12, _TEHRAN_TZ, "Isfahan", "اصفهان", "Исфахан",
        ("127", "128", "129", "130"), "8",
        (("Chaharbagh", "چهارباغ", "Чахар-Баг"), ("Nazar", "نظر", "Назар"), ("Jolfa", "جلفا", "Джульфа")),
    ),
    _RegionSpec(
        "fars", "Fars", "فارس", "Фарс", "ir", 9, _TEHRAN_TZ, "Shiraz", "شیراز", "Шираз",
        ("228", "229", "230"), "7",
        (("Zand", "زند", "Занд"), ("Maaliabad", "معالی‌آباد", "Маалиабад")),
    ),
    _RegionSpec(
        "khorasan-razavi", "Razavi Khorasan", "خراسان رضوی", "Хорасан-Резави", "ir", 12, _TEHRAN_TZ,
        "Mashhad", "مشهد", "Мешхед",
        ("092", "093", "094"), "9",
        (("Ahmadabad", "احمدآباد", "Ахмадабад"), ("Sajjad", "سجاد", "Саджад"),
         ("Vakilabad", "وکیل‌آباد", "Вакилабад")),
    ),
    _RegionSpec(
        "east-azerbaijan", "East Azerbaijan", "آذربایجان شرقی", "Восточный Азербайджан", "ir", 9, _TEHRAN_TZ,
        "Tabriz", "تبریز", "Тебриз",
        ("136", "137", "138"), "5",
        (("Valiasr", "ولیعصر", "Валиаср"), ("Abresan", "آبرسان", "Абресан")),
    ),
    _RegionSpec(
        "khuzestan", "Khuzestan", "خوزستان", "Хузестан", "ir", 8, _TEHRAN_TZ, "Ahvaz", "اهواز", "Ахваз",
        ("175", "176"), "6",
        (("Kianpars", "کیانپارس", "Кианпарс"), ("Golestan", "گلستان", "Голестан")),
    ),
    _RegionSpec(
        "mazandaran", "Mazandaran", "مازندران", "Мазендеран", "ir", 8, _TEHRAN_TZ, "Sari", "ساری", "Сари",
        ("208", "209"), "4",
        (("Central", "مرکزی", "Центральное"), ("Farhang", "فرهنگ", "Фарханг")),
    ),
    _RegionSpec(
        "gilan", "Gilan", "گیلان", "Гилян", "ir", 7, _TEHRAN_TZ, "Rasht", "رشت", "Решт",
        ("265", "266"), "4",
        (("Golsar", "گلسار", "Гольсар"), ("Sabzeh Meydan", "سبزه‌میدان", "Сабзе-Мейдан")),
    ),
    _RegionSpec(
        "moscow", "Moscow", "مسکو", "Москва", "ru", 45, _MOSCOW_TZ, "Moscow", "مسکو", "Москва",
        ("77",), "1",
        (("Tverskaya", "تورسکایا", "Тверская"), ("Arbat", "آربات", "Арбат"),
         ("Taganka", "تاگانکا", "Таганка"), ("Sokolniki", "سوکولنیکی", "Сокольники")),
    ),
    _RegionSpec(
        "saint-petersburg", "Saint Petersburg", "سن پترزبورگ", "Санкт-Петербург", "ru", 25, _MOSCOW_TZ,
        "Saint Petersburg", "سن پترزبورگ", "Санкт-Петербург",
        ("78",), "19",
        (("Nevsky", "نوسکی", "Невский"), ("Vasilyevsky Island", "جزیره واسیلیفسکی", "Васильевский остров")),
    ),
    _RegionSpec(
        "kazan", "Kazan (Tatarstan)", "قازان (تاتارستان)", "Казань (Татарстан)", "ru", 15, _MOSCOW_TZ,
        "Kazan", "قازان", "Казань",
        ("16",), "420",
        (("Kremlyovskaya", "کرملیوفسکایا", "Кремлёвская"), ("Baumana", "باومانا", "Баумана")),
    ),
    _RegionSpec(
        "novosibirsk", "Novosibirsk", "نووسیبیرسک", "Новосибирск", "ru", 15, 7 * 3600,
        "Novosibirsk", "نووسیبیرسک", "Новосибирск",
        ("54",), "630",
        (("Krasny Prospekt", "کراسنی پراسپکت", "Красный проспект"),
         ("Akademgorodok", "آکادم‌گرادوک", "Академгородок")),
    ),
)  # fmt: skip

# (code, en, fa, ru, is_credit)
PRODUCT_TYPES: tuple[tuple[str, str, str, str, bool], ...] = (
    ("current-account", "Current account", "حساب جاری", "Текущий счёт", False),
    ("savings-deposit", "Savings deposit", "سپرده پس‌انداز", "Сберегательный вклад", False),
    ("term-deposit", "Term deposit", "سپرده مدت‌دار", "Срочный вклад", False),
    ("loan", "Loan", "وام", "Кредит", True),
    ("mortgage", "Mortgage", "وام مسکن", "Ипотека", True),
    ("credit-card", "Credit card", "کارت اعتباری", "Кредитная карта", True),
    ("debit-card", "Debit card", "کارت بانکی", "Дебетовая карта", False),
    ("internet-banking", "Internet banking", "اینترنت‌بانک", "Интернет-банк", False),
    ("safe-deposit-box", "Safe deposit box", "صندوق امانات", "Банковская ячейка", False),
)
PROSPECT_TYPES: tuple[tuple[str, str, str, str], ...] = (
    ("individual", "Individual", "شخص حقیقی", "Физическое лицо"),
    ("sme", "Small or medium business", "کسب‌وکار کوچک و متوسط", "Малый и средний бизнес"),
    ("corporate", "Corporate", "شرکت بزرگ", "Крупный бизнес"),
    ("government", "Government", "دولتی", "Государственный сектор"),
)
PROSPECT_RANKS: tuple[tuple[str, str, str, str], ...] = (
    ("a", "A (most promising)", "الف (بسیار امیدوارکننده)", "А (самый перспективный)"),
    ("b", "B", "ب", "Б"),
    ("c", "C", "ج", "В"),
    ("d", "D (least promising)", "د (کم‌امید)", "Г (наименее перспективный)"),
)
PROSPECT_STATUSES: tuple[tuple[str, str, str, str], ...] = (
    ("new", "New", "جدید", "Новый"),
    ("contacted", "Contacted", "تماس گرفته شده", "Установлен контакт"),
    ("interested", "Interested", "علاقه‌مند", "Заинтересован"),
    ("negotiating", "Negotiating", "در حال مذاکره", "Переговоры"),
    ("lost", "Lost", "از دست رفته", "Потерян"),
)
INDUSTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("retail", "Retail", "خرده‌فروشی", "Розничная торговля"),
    ("manufacturing", "Manufacturing", "تولید", "Производство"),
    ("construction", "Construction", "ساخت و ساز", "Строительство"),
    ("agriculture", "Agriculture", "کشاورزی", "Сельское хозяйство"),
    ("oil-gas", "Oil and gas", "نفت و گاز", "Нефть и газ"),
    ("it", "Information technology", "فناوری اطلاعات", "Информационные технологии"),
    ("healthcare", "Healthcare", "بهداشت و درمان", "Здравоохранение"),
    ("education", "Education", "آموزش", "Образование"),
    ("transport", "Transport and logistics", "حمل و نقل", "Транспорт и логистика"),
    ("trade", "Wholesale trade", "بازرگانی", "Оптовая торговля"),
)


def _ensure(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Create the missing rows by code (existing ones are left as the bank edited them); return code -> id."""
    codes = [row["code"] for row in rows]
    manager = model._default_manager
    existing = set(manager.filter(code__in=codes).values_list("code", flat=True))
    missing = [model(**row) for row in rows if row["code"] not in existing]
    if missing:
        manager.bulk_create(missing, ignore_conflicts=True)
    return dict(manager.filter(code__in=codes).values_list("code", "id"))


def _named(items: Iterable[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    return [
        {"code": code, "name_en": en, "name_fa": fa, "name_ru": ru, "sort_order": 10 * (i + 1)}
        for i, (code, en, fa, ru) in enumerate(items)
    ]


def reference_lists_ensure() -> None:
    """Create (idempotently, by code) the bank's default regions, branches, products and prospect lists."""
    _ensure_all()


@dataclass(frozen=True)
class _Refs:
    regions: dict[str, int]
    branches: dict[str, list[int]]  # region code -> branch ids
    products: dict[str, int]
    prospect_types: dict[str, int]
    prospect_ranks: dict[str, int]
    prospect_statuses: dict[str, int]
    industries: dict[str, int]


def _ensure_all() -> _Refs:
    with transaction.atomic():
        regions = _ensure(
            Region,
            [
                {"code": r.code, "name_en": r.name_en, "name_fa": r.name_fa, "name_ru": r.name_ru,
                 "sort_order": 10 * (i + 1)}
                for i, r in enumerate(REGIONS)
            ],
        )  # fmt: skip
        branch_rows: list[dict[str, Any]] = []
        for r in REGIONS:
            for n, (en, fa, ru) in enumerate(r.branches, start=1):
                branch_rows.append(
                    {
                        "code": f"{r.code}-{n:02d}",
                        "name_en": f"{r.city_en} {en} branch",
                        "name_fa": f"شعبه {fa} {r.city_fa}",
                        "name_ru": f"{r.city_ru}, отделение {ru}",
                        "sort_order": n * 10,
                        "region_id": regions[r.code],
                    }
                )
        branches = _ensure(Branch, branch_rows)
        products = _ensure(
            ProductType,
            [
                {"code": code, "name_en": en, "name_fa": fa, "name_ru": ru, "is_credit": credit,
                 "sort_order": 10 * (i + 1)}
                for i, (code, en, fa, ru, credit) in enumerate(PRODUCT_TYPES)
            ],
        )  # fmt: skip
        refs = _Refs(
            regions=regions,
            branches={
                r.code: [branches[f"{r.code}-{n:02d}"] for n in range(1, len(r.branches) + 1)]
                for r in REGIONS
            },
            products=products,
            prospect_types=_ensure(ProspectType, _named(PROSPECT_TYPES)),
            prospect_ranks=_ensure(ProspectRank, _named(PROSPECT_RANKS)),
            prospect_statuses=_ensure(ProspectStatus, _named(PROSPECT_STATUSES)),
            industries=_ensure(Industry, _named(INDUSTRIES)),
        )
    return refs


# ---------------------------------------------------------------------------------------------------------
# Names, written as they are stored: Persian ی and ک, Russian with ё where it belongs
# ---------------------------------------------------------------------------------------------------------

# (Persian, ASCII transliteration for e-mail addresses)
_FA_MALE: tuple[tuple[str, str], ...] = (
    ("علی", "ali"), ("محمد", "mohammad"), ("حسین", "hossein"), ("رضا", "reza"), ("مهدی", "mahdi"),
    ("امیر", "amir"), ("حسن", "hasan"), ("سعید", "saeed"), ("مجید", "majid"), ("حمید", "hamid"),
    ("جواد", "javad"), ("محسن", "mohsen"), ("مصطفی", "mostafa"), ("کامران", "kamran"), ("بهرام", "bahram"),
    ("فرهاد", "farhad"), ("داریوش", "dariush"), ("کوروش", "kourosh"), ("آرش", "arash"), ("بابک", "babak"),
    ("پیمان", "peyman"), ("نیما", "nima"), ("سینا", "sina"), ("امید", "omid"), ("یاسر", "yaser"),
    ("هادی", "hadi"), ("مرتضی", "morteza"), ("کیوان", "keyvan"), ("پویا", "pouya"), ("سیاوش", "siavash"),
    ("ابوالفضل", "abolfazl"), ("اکبر", "akbar"),
)  # fmt: skip
_FA_FEMALE: tuple[tuple[str, str], ...] = (
    ("فاطمه", "fatemeh"), ("زهرا", "zahra"), ("مریم", "maryam"), ("سارا", "sara"), ("نرگس", "narges"),
    ("لیلا", "leila"), ("مینا", "mina"), ("شیما", "shima"), ("نازنین", "nazanin"), ("الهام", "elham"),
    ("سمیرا", "samira"), ("پریسا", "parisa"), ("نیلوفر", "niloufar"), ("مهسا", "mahsa"), ("فرشته", "fereshteh"),
    ("آزاده", "azadeh"), ("شیرین", "shirin"), ("ترانه", "taraneh"), ("یاسمن", "yasaman"), ("هانیه", "hanieh"),
    ("کیمیا", "kimia"), ("ستاره", "setareh"), ("بهاره", "bahareh"), ("گلناز", "golnaz"), ("رویا", "roya"),
    ("سحر", "sahar"), ("نگار", "negar"), ("آیدا", "aida"), ("مهناز", "mahnaz"), ("پرستو", "parastoo"),
)  # fmt: skip
_FA_LAST: tuple[tuple[str, str], ...] = (
    ("محمدی", "mohammadi"), ("احمدی", "ahmadi"), ("حسینی", "hosseini"), ("رضایی", "rezaei"),
    ("کریمی", "karimi"), ("موسوی", "mousavi"), ("جعفری", "jafari"), ("صادقی", "sadeghi"),
    ("رحیمی", "rahimi"), ("هاشمی", "hashemi"), ("قاسمی", "ghasemi"), ("نوری", "nouri"),
    ("عباسی", "abbasi"), ("کاظمی", "kazemi"), ("مرادی", "moradi"), ("حیدری", "heydari"),
    ("اکبری", "akbari"), ("ابراهیمی", "ebrahimi"), ("یوسفی", "yousefi"), ("اسدی", "asadi"),
    ("صالحی", "salehi"), ("طاهری", "taheri"), ("زارعی", "zarei"), ("فراهانی", "farahani"),
    ("شریفی", "sharifi"), ("تهرانی", "tehrani"), ("اصفهانی", "esfahani"), ("شیرازی", "shirazi"),
    ("کرمانی", "kermani"), ("نجفی", "najafi"), ("بهرامی", "bahrami"), ("امینی", "amini"),
    ("سلیمانی", "soleimani"), ("مختاری", "mokhtari"), ("نظری", "nazari"), ("خسروی", "khosravi"),
    ("فتحی", "fathi"), ("باقری", "bagheri"), ("ملکی", "maleki"), ("جمالی", "jamali"),
    ("رستمی", "rostami"), ("کامرانی", "kamrani"), ("پاکزاد", "pakzad"), ("نیک‌نام", "niknam"),
    ("فرهادی", "farhadi"), ("سعیدی", "saeedi"), ("توکلی", "tavakoli"), ("میرزایی", "mirzaei"),
    ("قربانی", "ghorbani"), ("افشار", "afshar"), ("پورمحمدی", "pourmohammadi"), ("دلاوری", "delavari"),
    ("شجاعی", "shojaei"), ("عزیزی", "azizi"), ("بابایی", "babaei"), ("علوی", "alavi"),
    ("منصوری", "mansouri"), ("یزدانی", "yazdani"), ("سبحانی", "sobhani"), ("کیانی", "kiani"),
)  # fmt: skip
_RU_MALE: tuple[str, ...] = (
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Василий", "Виктор", "Владимир",
    "Дмитрий", "Евгений", "Иван", "Игорь", "Илья", "Кирилл", "Константин", "Максим", "Михаил", "Никита",
    "Николай", "Олег", "Павел", "Пётр", "Роман", "Сергей", "Степан", "Тимур", "Фёдор", "Юрий",
)  # fmt: skip
_RU_FEMALE: tuple[str, ...] = (
    "Александра", "Алина", "Анастасия", "Анна", "Валентина", "Вера", "Виктория", "Галина", "Дарья",
    "Екатерина", "Елена", "Елизавета", "Ирина", "Ксения", "Людмила", "Марина", "Мария", "Наталья",
    "Надежда", "Ольга", "Полина", "Светлана", "София", "Татьяна", "Ульяна", "Юлия", "Яна", "Вероника",
    "Алёна", "Кристина",
)  # fmt: skip
# Masculine forms; the feminine form is derived by _ru_feminine.
_RU_LAST: tuple[str, ...] = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
    "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
    "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
    "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров",
    "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов",
    "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров",
    "Давыдов", "Калинин", "Вишневский", "Покровский", "Троицкий", "Толстой",
)  # fmt: skip

_CYRILLIC_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
        "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
        "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
        "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", " ": "-", "„": "", "“": "",
    }
)  # fmt: skip


def _latin(text: str) -> str:
    return text.lower().translate(_CYRILLIC_LATIN)


def _ru_feminine(surname: str) -> str:
    """Иванов -> Иванова, Вишневский -> Вишневская, Толстой -> Толстая."""
    if surname.endswith(("ский", "цкий", "ой")):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


_RU_MALE_NAMES = tuple((name, _latin(name)) for name in _RU_MALE)
_RU_FEMALE_NAMES = tuple((name, _latin(name)) for name in _RU_FEMALE)
_RU_LAST_MALE = tuple((name, _latin(name)) for name in _RU_LAST)
_RU_LAST_FEMALE = tuple((name, _latin(name)) for name in map(_ru_feminine, _RU_LAST))

# (Persian brand, ASCII)
_FA_BRANDS: tuple[tuple[str, str], ...] = (
    ("آریا", "arya"), ("پارس", "pars"), ("البرز", "alborz"), ("سپهر", "sepehr"), ("کاوه", "kaveh"),
    ("زاگرس", "zagros"), ("دماوند", "damavand"), ("آفتاب", "aftab"), ("مهر", "mehr"), ("نگین", "negin"),
    ("کیان", "kian"), ("پاسارگاد", "pasargad"), ("آرمان", "arman"), ("توس", "toos"), ("کارون", "karoon"),
)  # fmt: skip
_FA_BRAND_TAILS: tuple[tuple[str, str], ...] = (
    ("", ""), ("", ""), (" گستر", "gostar"), (" نوین", "novin"), (" سازان", "sazan"), (" پویا", "pouya"),
)  # fmt: skip
# industry -> (Persian name template, ASCII word for the e-mail domain)
_FA_ORG: dict[str, tuple[str, str]] = {
    "retail": ("فروشگاه‌های زنجیره‌ای {b}", "market"),
    "manufacturing": ("صنایع {b}", "industries"),
    "construction": ("شرکت ساختمانی {b}", "construction"),
    "agriculture": ("کشت و صنعت {b}", "agro"),
    "oil-gas": ("شرکت خدمات نفت و گاز {b}", "oilgas"),
    "it": ("شرکت فناوری اطلاعات {b}", "it"),
    "healthcare": ("شرکت تجهیزات پزشکی {b}", "medical"),
    "education": ("موسسه آموزشی {b}", "academy"),
    "transport": ("شرکت حمل و نقل {b}", "transport"),
    "trade": ("شرکت بازرگانی {b}", "trading"),
}
_FA_LEGAL_FORMS = (" (سهامی خاص)",) * 6 + (" (با مسئولیت محدود)",) * 3 + (" (سهامی عام)",)
_RU_BRANDS: tuple[str, ...] = (
    "Волга", "Урал", "Сибирь", "Нева", "Кама", "Байкал", "Алтай", "Север", "Восток", "Вектор",
    "Гранит", "Меридиан", "Аврора", "Орион", "Ладога", "Енисей",
)  # fmt: skip
_RU_ORG: dict[str, tuple[str, str]] = {
    "retail": ("«{b}торг»", "torg"),
    "manufacturing": ("«{b}маш»", "mash"),
    "construction": ("«{b}строй»", "stroy"),
    "agriculture": ("«{b}агро»", "agro"),
    "oil-gas": ("«{b}нефтегаз»", "neftegaz"),
    "it": ("«{b}софт»", "soft"),
    "healthcare": ("«{b}мед»", "med"),
    "education": ("«Учебный центр „{b}“»", "edu"),
    "transport": ("«{b}транс»", "trans"),
    "trade": ("«Торговый дом „{b}“»", "td"),
}
_RU_LEGAL_FORMS = ("ООО",) * 7 + ("АО",) * 2 + ("ПАО",)
_RU_TAILS = ("",) * 7 + ("-Плюс", "-Групп", "-М")

_FA_STREETS = (
    "خیابان ولیعصر", "خیابان آزادی", "خیابان انقلاب", "بلوار کشاورز", "خیابان شریعتی", "خیابان امام خمینی",
    "بلوار فردوسی", "خیابان حافظ", "خیابان سعدی", "خیابان بهار", "بلوار ملت", "خیابان نیایش",
)  # fmt: skip
_RU_STREETS = (
    "Ленина", "Пушкина", "Гагарина", "Советская", "Мира", "Садовая", "Молодёжная", "Школьная", "Лесная",
    "Набережная", "Чехова", "Кирова",
)  # fmt: skip
_EMAIL_DOMAINS = ("mail.example", "post.example", "inbox.example", "webmail.example")

# Mobile number blocks that phonenumbers accepts for every subscriber number behind them.
_IR_MOBILE = ("910", "911", "912", "913", "914", "915", "916", "917", "918", "919") * 3 + (
    "930", "933", "935", "936", "937", "938", "939", "901", "902", "903", "904", "905", "920", "921", "922",
)  # fmt: skip
_RU_MOBILE = tuple(f"9{a}{b}" for a in "012456789" for b in "0123456789") + tuple(
    f"93{b}" for b in "123456789"
)

_ORG_PROSPECT_TYPES = ("sme",) * 6 + ("corporate",) * 3 + ("government",)
_PROSPECT_RANK_SLOTS = ("a",) * 15 + ("b",) * 30 + ("c",) * 35 + ("d",) * 20
_PROSPECT_STATUS_SLOTS: tuple[str, ...] = (
    ("new",) * 35 + ("contacted",) * 25 + ("interested",) * 20 + ("negotiating",) * 10
)
_PROSPECT_STATUS_SLOTS += ("lost",) * 10
# Plain strings: enum member access is slow in loops that run millions of times.
_ORGANISATION, _PERSON = PartyKind.ORGANISATION.value, PartyKind.PERSON.value
_CUSTOMER, _PROSPECT = PartyStatus.CUSTOMER.value, PartyStatus.PROSPECT.value
_RU, _FA = Language.RU.value, Language.FA.value
_MARKETING = ConsentPurpose.MARKETING.value
_CONSENT_CHANNELS = (Channel.SMS.value, Channel.EMAIL.value, Channel.PHONE.value)
_PREFERRED_CHANNELS: tuple[str, ...] = ("",) * 30 + (Channel.SMS.value,) * 25 + (Channel.PHONE.value,) * 20
_PREFERRED_CHANNELS += (Channel.EMAIL.value,) * 15 + (Channel.BRANCH.value,) * 7 + (Channel.MAIL.value,) * 3

# ---------------------------------------------------------------------------------------------------------
# National identifiers with valid check digits
# ---------------------------------------------------------------------------------------------------------

_IR_PERSON_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_IR_LEGAL_WEIGHTS = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _ir_national_code(body: str) -> str:
    """Append the check digit to 9 digits (weights 10..2 modulo 11)."""
    remainder = sum(map(mul, map(int, body), _IR_PERSON_WEIGHTS)) % 11
    return body + str(remainder if remainder < 2 else 11 - remainder)


def _ir_legal_id(body: str) -> str:
    """Append the check digit to 10 digits of an Iranian legal-entity ID."""
    shift = int(body[9]) + 2
    remainder = (sum(map(mul, map(int, body), _IR_LEGAL_WEIGHTS)) + shift * sum(_IR_LEGAL_WEIGHTS)) % 11
    return body + str(0 if remainder == 10 else remainder)


def _inn_digit(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(map(mul, map(int, digits), weights)) % 11 % 10)


def _ru_inn_legal(body: str) -> str:
    return body + _inn_digit(body, _INN10)


def _ru_inn_person(body: str) -> str:
    body += _inn_digit(body, _INN11)
    return body + _inn_digit(body, _INN12)


def _luhn(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str(-total % 10)


def _iban_ir(bban: str) -> str:
    # ISO 13616: move "IR00" to the end, letters as numbers (I=18, R=27), check = 98 - n mod 97.
    check = 98 - int(bban + "182700") % 97
    return f"IR{check:02d}{bban}"


def _ru_account(prefix8: str, branch: int, serial: int) -> str:
    """A 20-digit Russian account number with its control key (computed against a demo BIC ending 000)."""
    account = f"{prefix8}0{branch % 10000:04d}{serial % 10_000_000:07d}"
    total = sum(int(c) * w for c, w in zip("000" + account, (7, 1, 3) * 8, strict=False)) % 10
    return account[:8] + str(total * 3 % 10) + account[9:]


# ---------------------------------------------------------------------------------------------------------
# Products and transactions
# ---------------------------------------------------------------------------------------------------------


def _pick(rand: Callable[[], float], seq: Sequence[Any]) -> Any:
    return seq[int(rand() * len(seq))]


def _digits(rand: Callable[[], float], n: int) -> str:
    return f"{int(rand() * 10**n):0{n}d}"


def _slots(weights: Sequence[tuple[Any, int]]) -> tuple[Any, ...]:
    """A lookup table where each value appears `weight` times, so one random index draws by weight."""
    return tuple(value for value, weight in weights for _ in range(weight))


_HOLDING_COUNTS = _slots(((1, 35), (2, 35), (3, 20), (4, 10)))
_PERSON_FIRST = _slots((("current-account", 85), ("savings-deposit", 15)))
_PERSON_EXTRA = _slots(
    (
        ("debit-card", 30),
        ("savings-deposit", 22),
        ("internet-banking", 20),
        ("credit-card", 12),
        ("term-deposit", 10),
        ("loan", 8),
        ("mortgage", 4),
        ("safe-deposit-box", 2),
    )
)
_ORG_EXTRA = _slots(
    (
        ("internet-banking", 30),
        ("loan", 25),
        ("term-deposit", 20),
        ("savings-deposit", 10),
        ("credit-card", 10),
        ("safe-deposit-box", 5),
    )
)
# product -> (log-normal mu of the balance in rials, in roubles)
_BALANCE_MU: dict[str, tuple[float, float]] = {
    "current-account": (17.0, 10.5),
    "savings-deposit": (17.5, 11.0),
    "term-deposit": (19.0, 12.0),
    "loan": (19.5, 12.0),
    "mortgage": (21.0, 14.5),
    "credit-card": (16.5, 10.0),
    "debit-card": (16.0, 9.5),
    "internet-banking": (0.0, 0.0),
    "safe-deposit-box": (0.0, 0.0),
}
_ORG_BALANCE_SHIFT = 2.0
_NO_BALANCE = frozenset({"internet-banking", "safe-deposit-box"})
_MAX_AMOUNT = 1e15  # well inside max_digits=18, decimal_places=2

_TX = Transaction.TxKind
_CH = Transaction.TxChannel
# product -> (share of the customer's transactions, ((kind, channel, weight, shift of log-amount), ...))
_TX_PROFILES: dict[str, tuple[float, tuple[tuple[str, str, int, float], ...]]] = {
    "current-account": (
        1.0,
        (
            (_TX.DEPOSIT, _CH.BRANCH, 10, 0.7),
            (_TX.DEPOSIT, _CH.INTERNET, 5, 0.7),
            (_TX.WITHDRAWAL, _CH.ATM, 15, 0.0),
            (_TX.WITHDRAWAL, _CH.BRANCH, 5, 0.5),
            (_TX.TRANSFER, _CH.INTERNET, 15, 0.5),
            (_TX.TRANSFER, _CH.MOBILE, 20, 0.3),
            (_TX.PAYMENT, _CH.MOBILE, 12, 0.0),
            (_TX.PAYMENT, _CH.INTERNET, 8, 0.0),
            (_TX.FEE, _CH.BRANCH, 3, -4.0),
        ),
    ),
    "debit-card": (
        1.2,
        (
            (_TX.PAYMENT, _CH.POS, 60, -0.3),
            (_TX.WITHDRAWAL, _CH.ATM, 25, 0.0),
            (_TX.PAYMENT, _CH.INTERNET, 12, 0.0),
            (_TX.FEE, _CH.ATM, 3, -4.0),
        ),
    ),
    "credit-card": (
        0.8,
        (
            (_TX.PAYMENT, _CH.POS, 60, -0.2),
            (_TX.PAYMENT, _CH.INTERNET, 25, 0.0),
            (_TX.DEPOSIT, _CH.MOBILE, 10, 1.0),
            (_TX.FEE, _CH.INTERNET, 5, -3.5),
        ),
    ),
    "savings-deposit": (
        0.3,
        (
            (_TX.DEPOSIT, _CH.BRANCH, 30, 1.0),
            (_TX.DEPOSIT, _CH.MOBILE, 30, 0.7),
            (_TX.TRANSFER, _CH.INTERNET, 20, 0.7),
            (_TX.WITHDRAWAL, _CH.BRANCH, 20, 0.8),
        ),
    ),
    "term-deposit": (0.1, ((_TX.DEPOSIT, _CH.BRANCH, 60, 2.0), (_TX.TRANSFER, _CH.INTERNET, 40, 1.5))),
    "loan": (
        0.35,
        (
            (_TX.PAYMENT, _CH.BRANCH, 40, 1.5),
            (_TX.PAYMENT, _CH.INTERNET, 30, 1.5),
            (_TX.PAYMENT, _CH.MOBILE, 30, 1.5),
        ),
    ),
    "mortgage": (
        0.35,
        (
            (_TX.PAYMENT, _CH.BRANCH, 30, 2.5),
            (_TX.PAYMENT, _CH.INTERNET, 40, 2.5),
            (_TX.PAYMENT, _CH.MOBILE, 30, 2.5),
        ),
    ),
    "internet-banking": (0.0, ((_TX.TRANSFER, _CH.INTERNET, 1, 0.0),)),
    "safe-deposit-box": (0.03, ((_TX.FEE, _CH.BRANCH, 1, -2.0),)),
}
# currency -> (log-amount mu, sigma, format, scale, offset): rials go up to the next thousand, roubles
# keep their kopecks. Formatting `scale * amount + offset` with one % is the cheapest rounding there is.
_TxSlot = tuple[str, str, float, float, str, float, float]  # kind, channel, mu, sigma, format, scale, offset
_TX_SCALE = {"IRR": (15.5, 1.4, "%d000.00", 0.001, 1.0), "RUB": (7.3, 1.3, "%.2f", 1.0, 0.0)}
_ORG_TX_SHIFT = 1.5
_TX_PER_MONTH = 3.0
_DAYS_PER_MONTH = 30.436875
# Relative activity by local hour: quiet nights, busy office hours and evenings.
_HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 6, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 5, 4, 3, 2)
_SOD_SIZE = 1 << 17
_NORMAL_SIZE = 1 << 15


def _second_of_day_table() -> list[int]:
    """Inverse distribution of the local second of the day: a uniform index gives a realistic time."""
    total = sum(_HOUR_WEIGHTS)
    table: list[int] = []
    bounds: list[float] = []
    acc = 0.0
    for w in _HOUR_WEIGHTS:
        acc += w / total
        bounds.append(acc)
    hour = 0
    for i in range(_SOD_SIZE):
        p = (i + 0.5) / _SOD_SIZE
        while hour < 23 and p > bounds[hour]:
            hour += 1
        low = bounds[hour - 1] if hour else 0.0
        within = (p - low) / (bounds[hour] - low)
        table.append(hour * 3600 + min(3599, int(within * 3600)))
    return table


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------

_CUSTOMER_FIELDS = (
    "id", "created_at", "updated_at", "external_id", "kind", "status", "first_name", "last_name",
    "organisation_name", "national_id", "birth_date", "phone", "email", "address", "city", "postal_code",
    "region", "branch", "language", "preferred_channel", "prospect_type", "prospect_rank", "prospect_status",
    "industry", "do_not_contact", "customer_since", "search_text",
)  # fmt: skip
_C_EXTERNAL, _C_FIRST, _C_LAST, _C_ORG, _C_NATIONAL, _C_PHONE, _C_EMAIL, _C_SEARCH = (
    _CUSTOMER_FIELDS.index(name)
    for name in (
        "external_id", "first_name", "last_name", "organisation_name", "national_id", "phone", "email",
        "search_text",
    )
)  # fmt: skip
_HOLDING_FIELDS = (
    "id", "created_at", "updated_at", "account_number", "opened_on", "balance", "currency", "customer",
    "product_type",
)  # fmt: skip
_TRANSACTION_FIELDS = ("occurred_at", "amount", "channel", "kind", "customer", "holding")
_CONSENT_FIELDS = (
    "created_at", "updated_at", "channel", "purpose", "granted", "source", "recorded_at", "customer",
)  # fmt: skip
_HOLDINGS_PER_CUSTOMER = max(_HOLDING_COUNTS)
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]").search


def _column(model: type[models.Model], name: str) -> str:
    """The database column of a model field."""
    column = getattr(model._meta.get_field(name), "column", None)
    if not isinstance(column, str):
        raise ImproperlyConfigured(f"{model._meta.label}.{name} has no column")
    return column


def copy_value(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = str(value)
    if _COPY_SPECIAL(text):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


# A batch's rows for one table, ready for the driver: COPY text on PostgreSQL, (sql, params) otherwise.
_Payload = str | list[tuple[str, list[Any]]]


@dataclass(frozen=True)
class _Table:
    """Where rows go and how they are written; encoding touches no connection, so a thread can do it."""

    name: str
    columns: tuple[str, ...]
    extra: tuple[Any, ...]  # constant values for columns added to the model after this code was written
    vendor: str
    rows_per_statement: int
    quoted: str  # the table and column list, quoted for SQL
    mark: str  # the driver's parameter placeholder

    @classmethod
    def of(cls, model: type[models.Model], fields: Sequence[str], now: Any) -> _Table:
        meta = model._meta
        columns = [_column(model, name) for name in fields]
        extra: list[Any] = []
        for f in meta.concrete_fields:
            if f.name in fields or f.primary_key or f.null:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            elif f.has_default():
                value = f.get_db_prep_save(f.get_default(), connection)
            else:
                raise ImproperlyConfigured(f"demo data cannot fill the required column {meta.label}.{f.name}")
            columns.append(_column(model, f.name))
            extra.append(value)
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        else:
            limit = connection.features.max_query_params or 10_000
        per = max(1, min(5000, int(limit) // len(columns)))
        qn = connection.ops.quote_name
        quoted = f"{qn(meta.db_table)} ({', '.join(qn(c) for c in columns)})"
        mark = "?" if connection.vendor == "sqlite" else "%s"
        return cls(meta.db_table, tuple(columns), tuple(extra), connection.vendor, per, quoted, mark)

    def _insert_sql(self, rows: int) -> str:
        one = "(" + ", ".join([self.mark] * len(self.columns)) + ")"
        # Names come from the model's metadata, quoted; values are parameters.
        return f"INSERT INTO {self.quoted} VALUES " + ", ".join([one] * rows)  # noqa: S608

    def encode(self, rows: Sequence[tuple[Any, ...]], *, plain: bool = False) -> _Payload:
        """The rows in the driver's bulk format; `plain` rows hold only str and int without tabs or newlines."""
        extra = self.extra
        if self.vendor == "postgresql":
            tail = "".join("\t" + copy_value(v) for v in extra) + "\n"
            if plain:
                line = "\t".join(["%s"] * (len(self.columns) - len(extra))) + tail.replace("%", "%%")
                return "".join([line % row for row in rows])
            return "".join(["\t".join([copy_value(v) for v in row]) + tail for row in rows])
        if extra:
            rows = [row + extra for row in rows]
        per = self.rows_per_statement
        full = self._insert_sql(per)
        payload: list[tuple[str, list[Any]]] = []
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            sql = full if len(chunk) == per else self._insert_sql(len(chunk))
            payload.append((sql, list(itertools.chain.from_iterable(chunk))))
        return payload

    def write(self, cursor: CursorWrapper, payload: _Payload) -> None:
        """Send encoded rows: COPY on PostgreSQL, multi-row INSERTs elsewhere."""
        if isinstance(payload, str):
            if payload:
                with cursor.cursor.copy(f"COPY {self.quoted} FROM STDIN") as copy:
                    copy.write(payload)
            return
        # The driver's own connection: Django would rewrite, and in DEBUG log, 30,000 parameters a time.
        # One multi-row statement per chunk also means one flush of SQLite's FTS index, not one per row.
        execute = connection.connection.execute if self.vendor == "sqlite" else cursor.cursor.execute
        for sql, params in payload:
            execute(sql, params)

    def max_id(self, cursor: CursorWrapper) -> int:
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(self.name)}")  # noqa: S608
        return int(cursor.fetchone()[0] or 0)

    def ids_taken(self, cursor: CursorWrapper, first: int, last: int) -> bool:
        cursor.execute(
            f"SELECT 1 FROM {connection.ops.quote_name(self.name)} WHERE id BETWEEN %s AND %s",  # noqa: S608
            [first, last],
        )
        return cursor.fetchone() is not None

    def reserve(self, cursor: CursorWrapper, last_id: int) -> None:
        """Move the id sequence to at least `last_id`, so other writers get ids past the ones written here."""
        if self.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(s, GREATEST(%s, COALESCE(pg_sequence_last_value(s), 0)))"
                " FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS s) AS seq",
                [last_id, self.name],
            )
        elif self.vendor == "sqlite":
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, %s) WHERE name = %s", [last_id, self.name]
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [self.name, last_id]
                )

    def release(self, cursor: CursorWrapper, reserved: int) -> None:
        """Give back the unused end of a reservation, unless another writer has drawn ids since."""
        top = self.max_id(cursor)
        if self.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(s, GREATEST(%s, 1), %s > 0)"
                " FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS s) AS seq"
                " WHERE pg_sequence_last_value(s) = %s",
                [top, top, self.name, reserved],
            )
        elif self.vendor == "sqlite":
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = %s WHERE name = %s AND seq = %s", [top, self.name, reserved]
            )


def _existing(table: _Table, cursor: CursorWrapper, column: str, values: Sequence[str]) -> set[str]:
    """Which of the values the column already holds."""
    if table.vendor == "postgresql":
        qn = connection.ops.quote_name
        cursor.cursor.execute(
            f"SELECT {qn(column)} FROM {qn(table.name)} WHERE {qn(column)} = ANY(%s)",  # noqa: S608
            [list(values)],
        )
        return {row[0] for row in cursor.cursor.fetchall()}
    found: set[str] = set()
    per = table.rows_per_statement * len(table.columns)  # the parameter limit
    for start in range(0, len(values), per):
        part = list(values[start : start + per])
        marks = ", ".join([table.mark] * len(part))
        qn = connection.ops.quote_name
        sql = f"SELECT {qn(column)} FROM {qn(table.name)} WHERE {qn(column)} IN ({marks})"  # noqa: S608
        # The driver directly: Django's DEBUG logging would quote every parameter of these big queries.
        rows = (
            connection.connection.execute(sql, part)
            if table.vendor == "sqlite"
            else _fetch(cursor, sql, part)
        )
        found.update(row[0] for row in rows)
    return found


def _fetch(cursor: CursorWrapper, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    cursor.cursor.execute(sql, params)
    return list(cursor.cursor.fetchall())


# ---------------------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    """What demo_generate wrote and how long it took."""

    customers: int
    holdings: int
    transactions: int
    seconds: float


@dataclass(slots=True)
class _Party:
    """What the second pass needs to know about a generated customer."""

    id: int
    russian: bool
    organisation: bool
    is_customer: bool
    since: int  # ordinal of customer_since, or of today for prospects
    branch: int
    utc_offset: int
    do_not_contact: bool


@dataclass
class _Batch:
    """One batch, generated and encoded, waiting to be written."""

    first_customer: int
    customers: list[list[Any]]  # lists: identifiers that clash with the table are replaced before writing
    customer_payload: _Payload
    parties: list[_Party]
    regions: list[_RegionSpec]
    first_holding: int
    holdings: int
    transactions: int
    payloads: list[tuple[_Table, _Payload]]  # holdings, consent, transactions


@dataclass(frozen=True)
class _Tables:
    customers: _Table
    holdings: _Table
    transactions: _Table
    consents: _Table


def _search_text(row: list[Any]) -> str:
    return customer_search_text(
        {
            "first_name": row[_C_FIRST],
            "last_name": row[_C_LAST],
            "organisation_name": row[_C_ORG],
            "national_id": row[_C_NATIONAL],
            "phone": row[_C_PHONE],
            "email": row[_C_EMAIL],
        }
    )


class _Generator:
    """Builds rows as tuples of database-ready values from one seeded random stream."""

    def __init__(
        self, refs: _Refs, tables: _Tables, rng: random.Random, months: int, now: dt.datetime
    ) -> None:
        self.refs = refs
        self.tables = tables
        self.rng = rng
        ops = connection.ops
        self.now_db = ops.adapt_datetimefield_value(now)
        today = now.astimezone(dt.UTC).date()
        self.today = today.toordinal()
        year, month0 = divmod(today.year * 12 + today.month - 1 - months, 12)
        start = dt.date(year, month0 + 1, min(today.day, calendar.monthrange(year, month0 + 1)[1]))
        self.window_start = start.toordinal()

        # Dates: Django's adapter once per day, then lookups (a birth date may lie 86 years back).
        self.date_base = self.today - 86 * 366
        self.dates = [
            ops.adapt_datefield_value(dt.date.fromordinal(o)) for o in range(self.date_base, self.today + 2)
        ]
        # Timestamps: day prefix + time-of-day suffix, in exactly the text Django's adapter produces.
        sample = ops.adapt_datetimefield_value(dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
        sample_text = sample.isoformat(sep=" ") if isinstance(sample, dt.datetime) else str(sample)
        if not sample_text.startswith("2001-02-03 04:05:06"):
            raise ImproperlyConfigured(f"unexpected datetime format from the database adapter: {sample_text}")
        suffix = sample_text[19:]
        self.ts_base = self.today - 11 * 366
        self.ts_days = [f"{dt.date.fromordinal(o).isoformat()} " for o in range(self.ts_base, self.today + 2)]
        self.ts_seconds = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]
        self.sod = _second_of_day_table()
        # Standard normal quantiles: one uniform draw and a lookup instead of random.gauss per amount.
        inv_cdf = statistics.NormalDist().inv_cdf
        self.normal = [inv_cdf((i + 0.5) / _NORMAL_SIZE) for i in range(_NORMAL_SIZE)]

        self.ir_regions = [r for r in REGIONS if r.country == "ir"]
        self.ru_regions = [r for r in REGIONS if r.country == "ru"]
        self.ir_region_slots = _slots([(r, r.weight) for r in self.ir_regions])
        self.ru_region_slots = _slots([(r, r.weight) for r in self.ru_regions])
        self.tx_slots: dict[tuple[str, str, bool], tuple[_TxSlot, ...]] = {}
        for product, (_share, entries) in _TX_PROFILES.items():
            for currency, (mu, sigma, fmt, scale, offset) in _TX_SCALE.items():
                for org in (False, True):
                    shift = _ORG_TX_SHIFT if org else 0.0
                    self.tx_slots[product, currency, org] = _slots(
                        [
                            ((str(k), str(c), mu + s + shift, sigma, fmt, scale, offset), w)
                            for k, c, w, s in entries
                        ]
                    )

    # -- values --------------------------------------------------------------------------------------

    def national_id(self, rand: Callable[[], float], region: _RegionSpec, organisation: bool) -> str:
        while True:
            if region.country == "ir":
                if organisation:
                    code = _ir_legal_id("10" + _digits(rand, 8))
                else:
                    code = _ir_national_code(_pick(rand, region.id_prefixes) + _digits(rand, 6))
            else:
                inspection = f"{1 + int(rand() * 30):02d}"
                if organisation:
                    code = _ru_inn_legal(region.id_prefixes[0] + inspection + _digits(rand, 5))
                else:
                    code = _ru_inn_person(region.id_prefixes[0] + inspection + _digits(rand, 6))
            if code != code[0] * len(code):  # a single repeated digit is never issued
                return code

    def phone(self, rand: Callable[[], float], russian: bool) -> str:
        if russian:
            return f"+7{_pick(rand, _RU_MOBILE)}{_digits(rand, 7)}"
        return f"+98{_pick(rand, _IR_MOBILE)}{_digits(rand, 7)}"

    def batch(self, first_customer: int, size: int, first_holding: int) -> _Batch:
        """Generate one batch, unique within itself, and encode it for the driver."""
        rows, parties, regions = self.customers(first_customer, size)
        for row in rows:
            row[_C_SEARCH] = _search_text(row)
        holding_rows, held = self.holdings(parties, first_holding)
        transactions = self.transactions(held)
        tables = self.tables
        item = _Batch(
            first_customer=first_customer,
            customers=rows,
            customer_payload="",
            parties=parties,
            regions=regions,
            first_holding=first_holding,
            holdings=len(holding_rows),
            transactions=len(transactions),
            payloads=[
                (tables.holdings, tables.holdings.encode(holding_rows)),
                (tables.consents, tables.consents.encode(self.consents(parties))),
                (tables.transactions, tables.transactions.encode(transactions, plain=True)),
            ],
        )
        _make_identifiers_unique(self, self.rng.random, item, lambda _name, _values: set())
        item.customer_payload = tables.customers.encode([tuple(row) for row in rows])
        return item

    def customers(self, first_id: int, count: int) -> tuple[list[list[Any]], list[_Party], list[_RegionSpec]]:
        """Customer rows (as lists, so clashing identifiers can still be replaced) and what pass two needs."""
        rng = self.rng
        rand = rng.random
        refs = self.refs
        dates, date_base, today = self.dates, self.date_base, self.today
        rows: list[list[Any]] = []
        parties: list[_Party] = []
        regions: list[_RegionSpec] = []
        for cid in range(first_id, first_id + count):
            u = rand()
            organisation = u >= 0.90
            russian = (0.65 <= u < 0.90) or (organisation and rand() < 0.4)
            region = _pick(rand, self.ru_region_slots if russian else self.ir_region_slots)
            branch_ids = refs.branches[region.code]
            branch = _pick(rand, branch_ids)
            is_customer = rand() < 0.70
            first = last = org_name = email = ""
            industry = None
            if organisation:
                industry = _pick(rand, INDUSTRIES)[0]
                if russian:
                    template, word = _RU_ORG[industry]
                    brand = _pick(rand, _RU_BRANDS)
                    tail = _pick(rand, _RU_TAILS)
                    form = "АНО ДПО" if industry == "education" else _pick(rand, _RU_LEGAL_FORMS)
                    org_name = f"{form} {template.format(b=brand + tail)}"
                    slug = f"{_latin(brand)}{word}"
                else:
                    template, word = _FA_ORG[industry]
                    brand, brand_latin = _pick(rand, _FA_BRANDS)
                    tail, tail_latin = _pick(rand, _FA_BRAND_TAILS)
                    form = "" if industry == "education" else _pick(rand, _FA_LEGAL_FORMS)
                    org_name = template.format(b=brand + tail) + form
                    slug = f"{brand_latin}{tail_latin}-{word}"
                if rand() < 0.6:
                    email = f"{('info', 'office', 'contact')[int(rand() * 3)]}@{slug}.example"
                born = today - 365 - int(rand() * 40 * 365.25)  # registration date
                adult = born
            else:
                female = rand() < 0.5
                if russian:
                    first, first_latin = _pick(rand, _RU_FEMALE_NAMES if female else _RU_MALE_NAMES)
                    last, last_latin = _pick(rand, _RU_LAST_FEMALE if female else _RU_LAST_MALE)
                else:
                    first, first_latin = _pick(rand, _FA_FEMALE if female else _FA_MALE)
                    last, last_latin = _pick(rand, _FA_LAST)
                born = today - int(rng.triangular(18.01, 85.0, 36.0) * 365.2425)
                adult = born + 6575  # eighteenth birthday, give or take a day
                if rand() < 0.6:
                    style = int(rand() * 4)
                    if style == 0:
                        local = f"{first_latin}.{last_latin}"
                    elif style == 1:
                        local = f"{first_latin[0]}.{last_latin}"
                    elif style == 2:
                        local = f"{first_latin}{last_latin}{dt.date.fromordinal(born).year % 100:02d}"
                    else:
                        local = f"{last_latin}.{first_latin}{1 + int(rand() * 99)}"
                    email = f"{local}@{_pick(rand, _EMAIL_DOMAINS)}"
            since = max(today - 1 - int(rand() * 3652), adult) if is_customer else today
            if russian:
                street = _pick(rand, _RU_STREETS)
                unit = "офис" if organisation else "кв."
                address = f"ул. {street}, д. {1 + int(rand() * 120)}, {unit} {1 + int(rand() * 300)}"
                postal = region.postal_prefix + _digits(rand, 6 - len(region.postal_prefix))
                city = region.city_ru
            else:
                street = _pick(rand, _FA_STREETS)
                address = f"{street}، کوچه {1 + int(rand() * 40)}، پلاک {1 + int(rand() * 150)}"
                postal = region.postal_prefix + "".join("13456789"[int(rand() * 8)] for _ in range(4))
                postal += _digits(rand, 5)
                city = region.city_fa
            do_not_contact = rand() < 0.03
            prospect: tuple[int | None, ...] = (None, None, None)
            if not is_customer:
                kind_code = _pick(rand, _ORG_PROSPECT_TYPES) if organisation else "individual"
                prospect = (
                    refs.prospect_types[kind_code],
                    refs.prospect_ranks[_pick(rand, _PROSPECT_RANK_SLOTS)],
                    refs.prospect_statuses[_pick(rand, _PROSPECT_STATUS_SLOTS)],
                )
            rows.append(
                [
                    cid,
                    self.now_db,
                    self.now_db,
                    f"DEMO-{cid:07d}",
                    _ORGANISATION if organisation else _PERSON,
                    _CUSTOMER if is_customer else _PROSPECT,
                    first,
                    last,
                    org_name,
                    self.national_id(rand, region, organisation),
                    dates[born - date_base],
                    self.phone(rand, russian),
                    email,
                    address,
                    city,
                    postal,
                    refs.regions[region.code],
                    branch,
                    _RU if russian else _FA,
                    _pick(rand, _PREFERRED_CHANNELS),
                    *prospect,
                    refs.industries[industry] if industry else None,
                    do_not_contact,
                    dates[since - date_base] if is_customer else None,
                    "",
                ]
            )
            parties.append(
                _Party(
                    cid, russian, organisation, is_customer, since, branch, region.utc_offset, do_not_contact
                )
            )
            regions.append(region)
        return rows, parties, regions

    def holdings(
        self, parties: Sequence[_Party], first_id: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[_Party, list[tuple[int, int, str, str]]]]]:
        """Holding rows, and per customer the (id, opening ordinal, product, currency) of each holding."""
        rand = self.rng.random
        lognormal = self.rng.lognormvariate
        products, dates, date_base, today = self.refs.products, self.dates, self.date_base, self.today
        rows: list[tuple[Any, ...]] = []
        held: list[tuple[_Party, list[tuple[int, int, str, str]]]] = []
        hid = first_id
        for party in parties:
            if not party.is_customer:
                continue
            count = _pick(rand, _HOLDING_COUNTS)
            if party.organisation:
                chosen = ["current-account"]
                extra = _ORG_EXTRA
            else:
                chosen = [_pick(rand, _PERSON_FIRST)]
                extra = _PERSON_EXTRA
            while len(chosen) < count:
                product = _pick(rand, extra)
                if product not in chosen:
                    chosen.append(product)
            currency = "RUB" if party.russian else "IRR"
            mine: list[tuple[int, int, str, str]] = []
            for n, product in enumerate(chosen):
                opened = party.since if n == 0 else party.since + int(rand() * (today - party.since))
                if product in _NO_BALANCE:
                    balance = "0.00"
                else:
                    mu = _BALANCE_MU[product][party.russian] + (
                        _ORG_BALANCE_SHIFT if party.organisation else 0
                    )
                    balance = f"{min(lognormal(mu, 1.5), _MAX_AMOUNT):.2f}"
                rows.append(
                    (
                        hid,
                        self.now_db,
                        self.now_db,
                        self._account_number(product, party, hid),
                        dates[opened - date_base],
                        balance,
                        currency,
                        party.id,
                        products[product],
                    )
                )
                mine.append((hid, opened, product, currency))
                hid += 1
            held.append((party, mine))
        return rows, held

    def _account_number(self, product: str, party: _Party, hid: int) -> str:
        if product in _NO_BALANCE:
            return ""
        if product in ("debit-card", "credit-card"):
            return _luhn(("220070" if party.russian else "627412") + f"{hid % 10**9:09d}")
        if party.russian:
            prefix = {
                "current-account": "40702810" if party.organisation else "40817810",
                "savings-deposit": "42301810",
                "term-deposit": "42104810" if party.organisation else "42305810",
            }.get(product, "45207810" if party.organisation else "45507810")
            return _ru_account(prefix, party.branch, hid)
        product_no = {"current-account": 100, "savings-deposit": 200, "term-deposit": 300}.get(product, 500)
        return _iban_ir(f"055{party.branch % 10000:04d}{product_no:03d}{hid % 10**12:012d}")

    def transactions(
        self, held: Sequence[tuple[_Party, list[tuple[int, int, str, str]]]]
    ) -> list[tuple[Any, ...]]:
        """About three transactions a month per customer, on the products they held at the time."""
        rng = self.rng
        rand, gauss, exp = rng.random, rng.gauss, math.exp
        normal = self.normal
        normal_size = float(len(normal))
        days, seconds, sod = self.ts_days, self.ts_seconds, self.sod
        sod_size = float(len(sod))
        # Local days from two days into the window up to yesterday: whatever the UTC offset, every
        # timestamp then lies inside the last `months` months and before now.
        ts_base, today, window_start = self.ts_base, self.today, self.window_start + 2
        per_day = _TX_PER_MONTH / _DAYS_PER_MONTH
        tx_slots = self.tx_slots
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        for party, mine in held:
            cid, tz = party.id, party.utc_offset
            spans: list[tuple[float, int, int, int, tuple[_TxSlot, ...]]] = []
            weight_total = share_total = 0.0
            for hid, opened, product, currency in mine:
                share = _TX_PROFILES[product][0]
                share_total += share
                start = max(window_start, opened + 1)
                span = today - start
                if span <= 0 or share == 0.0:
                    continue
                weight_total += share * span
                spans.append(
                    (
                        weight_total,
                        hid,
                        start - ts_base,
                        span,
                        tx_slots[product, currency, party.organisation],
                    )
                )
            if not spans:
                continue
            # Poisson with a per-customer activity level (mean 1): some customers are much busier.
            mean = per_day * weight_total / share_total * exp(gauss(-0.125, 0.5))
            if mean < 30.0:
                limit, n, p = exp(-mean), 0, rand()
                while p > limit:
                    n += 1
                    p *= rand()
            else:
                n = max(0, round(gauss(mean, math.sqrt(mean))))
            last = len(spans) - 1
            for _ in range(n):
                u = rand() * weight_total
                j = 0
                while j < last and u >= spans[j][0]:
                    j += 1
                _w, hid, start, span, slots = spans[j]
                kind, channel, mu, sigma, fmt, scale, offset = slots[int(rand() * len(slots))]
                x = rand() * span
                d = int(x)
                day, second = divmod((start + d) * 86400 + sod[int((x - d) * sod_size)] - tz, 86400)
                # The quantile table is bounded (|z| < 4.2), so amounts stay far below max_digits.
                amount = exp(mu + sigma * normal[int(rand() * normal_size)]) * scale + offset
                append((days[day] + seconds[second], fmt % amount, channel, kind, cid, hid))
        return rows

    def consents(self, parties: Sequence[_Party]) -> list[tuple[Any, ...]]:
        """Marketing consent by SMS, e-mail and phone for about 80 % of parties."""
        rand = self.rng.random
        days, seconds, sod = self.ts_days, self.ts_seconds, self.sod
        sod_size = len(sod)
        rows: list[tuple[Any, ...]] = []
        for party in parties:
            if rand() >= 0.8:
                continue
            start = (party.since if party.is_customer else self.today - 730) - self.ts_base
            span = max(1, self.today - self.ts_base - start)
            for channel in _CONSENT_CHANNELS:
                granted = not party.do_not_contact and rand() < 0.85
                day, second = divmod(
                    (start + int(rand() * span)) * 86400 + sod[int(rand() * sod_size)] - party.utc_offset,
                    86400,
                )
                rows.append(
                    (
                        self.now_db,
                        self.now_db,
                        channel,
                        _MARKETING,
                        granted,
                        "demo",
                        days[day] + seconds[second],
                        party.id,
                    )
                )
        return rows


_UNIQUE_COLUMNS = (("national_id", _C_NATIONAL), ("phone", _C_PHONE), ("external_id", _C_EXTERNAL))


def _make_unique(
    rows: list[list[Any]],
    column: int,
    name: str,
    taken: Callable[[str, list[str]], set[str]],
    regenerate: Callable[[int], str],
) -> set[int]:
    """Replace values that repeat within the rows or are `taken` in field `name`; return the rows changed."""
    changed: set[int] = set()
    while True:
        first: dict[str, int] = {}
        clashes: set[int] = set()
        for i, row in enumerate(rows):
            value = row[column]
            if value in first:
                clashes.add(i)
            else:
                first[value] = i
        clashes.update(first[value] for value in taken(name, list(first)))
        if not clashes:
            return changed
        for i in sorted(clashes):
            rows[i][column] = regenerate(i)
        changed |= clashes


def _make_identifiers_unique(
    gen: _Generator,
    rand: Callable[[], float],
    item: _Batch,
    taken: Callable[[str, list[str]], set[str]],
) -> set[int]:
    """Give every customer of the batch a national ID, phone and external ID nobody else has."""
    parties, regions = item.parties, item.regions
    regenerate: dict[int, Callable[[int], str]] = {
        _C_NATIONAL: lambda i: gen.national_id(rand, regions[i], parties[i].organisation),
        _C_PHONE: lambda i: gen.phone(rand, parties[i].russian),
        _C_EXTERNAL: lambda i: f"DEMO-{parties[i].id:07d}-{_digits(rand, 4)}",
    }
    changed: set[int] = set()
    for name, column in _UNIQUE_COLUMNS:
        changed |= _make_unique(item.customers, column, name, taken, regenerate[column])
    for i in changed:
        item.customers[i][_C_SEARCH] = _search_text(item.customers[i])
    return changed


def _write_batch(
    cursor: CursorWrapper, tables: _Tables, gen: _Generator, item: _Batch, fix_seed: str
) -> None:
    """Write one batch inside the caller's transaction, first making its identifiers unique in the table."""
    last_customer = item.first_customer + len(item.customers) - 1
    last_holding = item.first_holding + item.holdings - 1
    if tables.customers.ids_taken(cursor, item.first_customer, last_customer) or (
        item.holdings and tables.holdings.ids_taken(cursor, item.first_holding, last_holding)
    ):
        raise RuntimeError("another writer took ids reserved for demo data; run the generator again")

    def taken(name: str, values: list[str]) -> set[str]:
        return _existing(tables.customers, cursor, _column(Customer, name), values)

    # A separate stream, so fixing a clash does not shift the rows of the batches being generated meanwhile.
    rand = random.Random(f"{fix_seed}:{item.first_customer}").random
    if _make_identifiers_unique(gen, rand, item, taken):
        item.customer_payload = tables.customers.encode([tuple(row) for row in item.customers])
    tables.customers.write(cursor, item.customer_payload)
    for table, payload in item.payloads:
        table.write(cursor, payload)


def _produce(
    gen: _Generator,
    first_customer: int,
    first_holding: int,
    customers: int,
    batch: int,
    out: queue.Queue[_Batch | BaseException],
    stop: threading.Event,
) -> None:
    """Generate batches ahead of the writer, so Python builds rows while the database stores the last ones."""

    def hand_over(item: _Batch | BaseException) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        done = 0
        while done < customers:
            size = min(batch, customers - done)
            item = gen.batch(first_customer + done, size, first_holding)
            first_holding += item.holdings
            done += size
            if not hand_over(item):
                return
    except BaseException as exc:  # handed to the writing thread, which raises it
        hand_over(exc)


def demo_generate(
    *,
    customers: int,
    seed: int = 42,
    months: int = 12,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Append `customers` realistic customers with products, transactions and consent; same seed, same rows."""
    if customers < 0 or months < 0 or batch < 1:
        raise ValueError("customers and months must be >= 0 and batch >= 1")
    started = time.perf_counter()
    refs = _ensure_all()
    now = timezone.now()
    now_db = connection.ops.adapt_datetimefield_value(now)
    tables = _Tables(
        customers=_Table.of(Customer, _CUSTOMER_FIELDS, now_db),
        holdings=_Table.of(ProductHolding, _HOLDING_FIELDS, now_db),
        transactions=_Table.of(Transaction, _TRANSACTION_FIELDS, now_db),
        consents=_Table.of(Consent, _CONSENT_FIELDS, now_db),
    )
    # Explicit, contiguous ids let holdings and transactions be built before their parents are stored.
    # The sequences are moved past them first, so the application keeps inserting safely meanwhile.
    with transaction.atomic(), connection.cursor() as cursor:
        first_customer = tables.customers.max_id(cursor) + 1
        first_holding = tables.holdings.max_id(cursor) + 1
        customers_reserved = first_customer + customers - 1
        holdings_reserved = first_holding + _HOLDINGS_PER_CUSTOMER * customers - 1
        if customers:
            tables.customers.reserve(cursor, customers_reserved)
            tables.holdings.reserve(cursor, holdings_reserved)
    # The stream depends on what is already there, so a second run appends different people.
    offset = first_customer - 1
    gen = _Generator(refs, tables, random.Random(f"navid-demo:{seed}:{offset}"), months, now)
    fix_seed = f"navid-demo-fix:{seed}:{offset}"

    out: queue.Queue[_Batch | BaseException] = queue.Queue(maxsize=1)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce,
        args=(gen, first_customer, first_holding, customers, batch, out, stop),
        name="navid-demo-data",
        daemon=True,
    )
    producer.start()
    written_customers = written_holdings = written_transactions = 0
    try:
        while written_customers < customers:
            item = out.get()
            if isinstance(item, BaseException):
                raise item
            with transaction.atomic(), connection.cursor() as cursor:
                _write_batch(cursor, tables, gen, item, fix_seed)
            written_customers += len(item.customers)
            written_holdings += item.holdings
            written_transactions += item.transactions
            if progress is not None:
                progress(written_customers)
    finally:
        stop.set()
        producer.join()
    if customers:
        with transaction.atomic(), connection.cursor() as cursor:
            tables.customers.release(cursor, customers_reserved)
            tables.holdings.release(cursor, holdings_reserved)
    return DemoResult(
        customers=written_customers,
        holdings=written_holdings,
        transactions=written_transactions,
        seconds=time.perf_counter() - started,
    )
