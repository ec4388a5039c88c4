from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0009_recommender_training"),
    ]

    operations = []
