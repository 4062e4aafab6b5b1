from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0010_metric_counters"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="taskrun", name="taskrun_map_instances"),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(
                condition=models.Q(("map_index__isnull", False)),
                fields=["run", "map_parent", "state"],
                name="taskrun_map_instance_states",
            ),
        ),
    ]
