from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0008_segment_live_dedup"),
    ]

    operations = []
