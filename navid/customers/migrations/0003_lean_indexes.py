"""Fewer indexes on customers, so that imports write less: phone and email keep one plain index each, and the
status index (two values; the list pages use region+status and branch+status) goes.

The field changes are made by dropping the indexes directly: on SQLite, Django would otherwise rebuild the
table, and the rebuild drops the search triggers of migration 0002.
"""

from django.db import migrations, models

_OLD_INDEXES = [
    "customers_customer_status_743673e0",
    "customers_customer_status_743673e0_like",
    "customers_customer_phone_01182399",
    "customers_customer_phone_01182399_like",
    "customers_customer_email_300e404b",
    "customers_customer_email_300e404b_like",
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_search_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in _OLD_INDEXES],
                    reverse_sql=[
                        'CREATE INDEX "customers_customer_status_743673e0" ON "customers_customer" ("status")',
                        'CREATE INDEX "customers_customer_phone_01182399" ON "customers_customer" ("phone")',
                        'CREATE INDEX "customers_customer_email_300e404b" ON "customers_customer" ("email")',
                    ],
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="email",
                    field=models.EmailField(blank=True, max_length=254, verbose_name="email"),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="phone",
                    field=models.CharField(blank=True, max_length=20, verbose_name="phone"),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="status",
                    field=models.CharField(
                        choices=[("prospect", "Prospect"), ("customer", "Customer")],
                        default="prospect",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["phone"], name="customer_phone_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["email"], name="customer_email_idx"),
        ),
    ]
