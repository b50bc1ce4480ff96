"""The evaluation parameters a bank starts with; it edits the list afterwards (Django admin)."""

from typing import Any

from django.db import migrations

PARAMETERS = [
    ("speed", "Speed of service", "سرعت ارائه خدمات", "Скорость обслуживания"),
    ("courtesy", "Staff courtesy", "ادب و احترام کارکنان", "Вежливость сотрудников"),
    ("environment", "Branch environment", "محیط شعبه", "Обстановка в отделении"),
    ("mobile_app", "Mobile app", "همراه‌بانک", "Мобильное приложение"),
    ("fees", "Clarity of fees", "شفافیت کارمزدها", "Понятность комиссий"),
    ("advice", "Quality of advice", "کیفیت مشاوره", "Качество консультаций"),
]


def forwards(apps: Any, schema_editor: Any) -> None:
    EvaluationParameter = apps.get_model("surveys", "EvaluationParameter")
    for order, (code, en, fa, ru) in enumerate(PARAMETERS, start=1):
        EvaluationParameter.objects.get_or_create(
            code=code, defaults={"name_en": en, "name_fa": fa, "name_ru": ru, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
