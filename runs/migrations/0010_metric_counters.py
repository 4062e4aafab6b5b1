from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0009_notifications"),
    ]

    operations = [
        migrations.CreateModel(
            name="MetricCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("labels", models.CharField(blank=True, default="{}", max_length=500)),
                ("value", models.PositiveBigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("name", "labels"), name="metric_counter_unique")
                ],
            },
        ),
    ]
