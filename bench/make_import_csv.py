"""Write a customer CSV of N valid rows for the import benchmark.

python bench/make_import_csv.py --rows 1000000 --out var/bench/customers-1m.csv
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

FIRST_FA = ["علی", "محمد", "زهرا", "فاطمه", "حسین", "مریم", "رضا", "سارا", "مهدی", "نرگس", "امیر", "لیلا"]
LAST_FA = ["کریمی", "رضایی", "احمدی", "حسینی", "موسوی", "جعفری", "یاسینی", "کاظمی", "نوری", "صادقی"]
FIRST_RU = ["Иван", "Анна", "Сергей", "Мария", "Дмитрий", "Ольга", "Алексей", "Елена"]
LAST_RU = ["Иванов", "Петрова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Лебедев", "Козлова"]
REGIONS = ["tehran", "isfahan", "fars", "moscow", "saint-petersburg"]


def ir_code(n: int) -> str:
    body = f"{n:09d}"
    total = sum(int(body[i]) * (10 - i) for i in range(9))
    rem = total % 11
    return body + str(rem if rem < 2 else 11 - rem)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("var/bench/customers.csv"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "external_id",
                "first_name",
                "last_name",
                "national_id",
                "phone",
                "email",
                "status",
                "region",
                "birth_date",
            ]
        )
        for i in range(args.rows):
            persian = rng.random() < 0.7
            first = rng.choice(FIRST_FA if persian else FIRST_RU)
            last = rng.choice(LAST_FA if persian else LAST_RU)
            phone = f"0912{i % 10_000_000:07d}" if persian else f"+7916{i % 10_000_000:07d}"
            email = f"user{i}@mail.example" if rng.random() < 0.6 else ""
            writer.writerow(
                [
                    f"BENCH-{i:08d}",
                    first,
                    last,
                    ir_code(10_000_000 + i),
                    phone,
                    email,
                    "customer" if rng.random() < 0.7 else "prospect",
                    rng.choice(REGIONS),
                    f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                ]
            )


if __name__ == "__main__":
    main()
