from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0006_segments_profiles"),
    ]

    operations = []
