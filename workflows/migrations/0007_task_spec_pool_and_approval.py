from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0006_task_spec_environment"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskspec",
            name="pool",
            field=models.CharField(
                blank=True, help_text="The pool it takes a slot of.", max_length=100
            ),
        ),
        migrations.AddField(
            model_name="taskspec",
            name="priority",
            field=models.IntegerField(default=0, help_text="Higher starts first in a full pool."),
        ),
        migrations.AlterField(
            model_name="taskspec",
            name="kind",
            field=models.CharField(
                choices=[
                    ("python", "Python"),
                    ("shell", "Shell command"),
                    ("approval", "Approval step"),
                ],
                max_length=10,
            ),
        ),
    ]
