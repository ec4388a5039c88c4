from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0007_segmentation_pipeline"),
    ]

    operations = []
