"""Substring search over customers.search_text: pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite."""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE customer_search USING fts5("
    "search_text, content='customers_customer', content_rowid='id', tokenize='trigram')",
    # Rows written by an import are indexed by the importer in one statement, which is many times faster.
    "CREATE TRIGGER customer_search_ai AFTER INSERT ON customers_customer "
    "WHEN new.created_by_import_id IS NULL BEGIN "
    "INSERT INTO customer_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER customer_search_ad AFTER DELETE ON customers_customer BEGIN "
    "INSERT INTO customer_search(customer_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER customer_search_au AFTER UPDATE OF search_text ON customers_customer BEGIN "
    "INSERT INTO customer_search(customer_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO customer_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO customer_search(customer_search) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS customer_search_au",
    "DROP TRIGGER IF EXISTS customer_search_ad",
    "DROP TRIGGER IF EXISTS customer_search_ai",
    "DROP TABLE IF EXISTS customer_search",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer USING gin (search_text gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS customer_search_trgm"]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
