from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0005_event_fk_indexes_covered"),
    ]

    operations = []
