from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0007_process_heartbeats"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskrun",
            name="image_digest",
            field=models.CharField(
                blank=True,
                help_text="A container step's image, as its attempt ran it.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="taskattempt",
            name="image_digest",
            field=models.CharField(blank=True, max_length=300),
        ),
    ]
