"""Transactions lose their single-column customer index: the (customer, occurred_at) index serves the same
lookups, and PostgreSQL picked the narrower one for time windows, reading every transaction of a customer.

Dropped directly, because on SQLite Django would rebuild the whole transactions table to change the field.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_lean_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "customers_transaction_customer_id_40a7dbb7"',
                    reverse_sql='CREATE INDEX "customers_transaction_customer_id_40a7dbb7" '
                    'ON "customers_transaction" ("customer_id")',
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="transaction",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="transactions",
                        to="customers.customer",
                    ),
                ),
            ],
        ),
    ]
