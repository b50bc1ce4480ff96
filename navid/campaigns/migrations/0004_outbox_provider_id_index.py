# Delivery receipts find their message by the provider's id. A partial index (only sent messages have one) kept
# out of the model's Meta so that the shared model definition stays as it is; same SQL on SQLite and PostgreSQL.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0003_contact_policy")]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX outbox_provider_id_idx ON campaigns_outboxmessage (provider_id) WHERE provider_id <> ''",
            reverse_sql="DROP INDEX outbox_provider_id_idx",
        )
    ]
