"""PostgreSQL: drop the `varchar_pattern_ops` indexes Django adds beside the unique indexes of the external ID and
the national ID. They serve only `LIKE 'prefix%'`, which Navid never runs on these columns (search goes through
the search text), and every imported row paid for two more index entries.
"""

from typing import Any

from django.db import migrations

_INDEXES = {
    "external_id": "customers_customer_external_id_b1779fc4_like",
    "national_id": "customers_customer_national_id_8bc372ca_like",
}


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in _INDEXES.values():
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for column, name in _INDEXES.items():
            schema_editor.execute(f'CREATE INDEX "{name}" ON "customers_customer" ("{column}" varchar_pattern_ops)')


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_transaction_customer_index"),
    ]

    operations = [migrations.RunPython(_drop, _create)]
