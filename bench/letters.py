"""Direct-mail benchmark: PDF letters per second from the mail adapter (half Persian, half Russian).

    .venv/bin/python bench/letters.py --letters 1000 --batch 200 --runs 3

No database: the adapter gets rendered letters and writes one PDF and one manifest per batch into a
temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

from navid.channels.base import Outgoing
from navid.channels.mail import (
    HEADER_BRAND_FOOTER,
    HEADER_BRAND_HEADER,
    HEADER_POSTAL_CODE,
    HEADER_RECIPIENT,
    MailAdapter,
    PostageTable,
)

PERSIAN = (
    "{name} گرامی،\nبانک نوید سپرده‌ی بلندمدت تازه‌ای با سود سالانه‌ی ۲۳ درصد برای شما آماده کرده است. "
    "برای افتتاح آن کافی است تا پایان ماه به یکی از شعبه‌های ما سر بزنید یا از همراه‌بانک اقدام کنید.\n"
    "با احترام،\nبانک نوید"
)
RUSSIAN = (
    "Уважаемый(ая) {name}!\nБанк «Навид» предлагает вам новый срочный вклад под 23 % годовых. "
    "Чтобы открыть его, зайдите до конца месяца в любое отделение или воспользуйтесь мобильным банком.\n"
    "С уважением,\nБанк «Навид»"
)


def letters(count: int) -> list[Outgoing]:
    result = []
    for n in range(count):
        persian = n % 2 == 0
        name = f"مریم احمدی {n}" if persian else f"Иван Петров {n}"
        result.append(
            Outgoing(
                key=f"1:1:{n}:mail",
                to="تهران، خیابان ولیعصر، پلاک ۱۲" if persian else "Москва, Тверская ул., 1",
                language="fa" if persian else "ru",
                subject="پیشنهاد ویژه" if persian else "Специальное предложение",
                text=(PERSIAN if persian else RUSSIAN).format(name=name),
                headers={
                    HEADER_POSTAL_CODE: "1415913311",
                    HEADER_RECIPIENT: name,
                    HEADER_BRAND_HEADER: "بانک نوید" if persian else "Банк «Навид»",
                    HEADER_BRAND_FOOTER: "Navid Bank, 1 Ferdowsi Square",
                },
            )
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    batch = letters(args.letters)
    times = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            adapter = MailAdapter(output_dir=folder, postage=PostageTable(Decimal("25000"), Decimal("5000")))
            started = time.perf_counter()
            for offset in range(0, len(batch), args.batch):
                results = adapter.send_many(batch[offset : offset + args.batch])
                assert all(result.ok for result in results)
            times.append(time.perf_counter() - started)
            size = sum(p.stat().st_size for p in Path(folder).glob("*.pdf"))
        print(
            f"run {run}: {times[-1]:.2f} s, {args.letters / times[-1]:,.0f} letters/s, PDFs {size / 1e6:.1f} MB"
        )
    median = statistics.median(times)
    print(f"median {median:.2f} s: {args.letters / median:,.0f} letters/s")


if __name__ == "__main__":
    main()
