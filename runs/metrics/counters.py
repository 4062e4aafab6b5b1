"""Counters of events no table keeps a row of (environments built, containers started).

``increment("container_starts", kind="container")`` adds one to a row of
``MetricCounter`` with one INSERT … ON CONFLICT DO UPDATE, so every process on every
machine adds to the same number and ``/metrics`` reads the total from the database.
"""

import json
import logging

from django.db import DatabaseError, connection, models, transaction

logger = logging.getLogger(__name__)

# name → (help text, label names): the counters there are, as /metrics describes them.
COUNTERS = {
    "environment_builds": (
        "Isolated task environments built (uv), by outcome.",
        ("outcome",),
    ),
    "container_starts": (
        "Containers started for container steps, by outcome.",
        ("outcome",),
    ),
}


class UnknownCounter(ValueError):
    """``increment`` was given a name or labels that ``COUNTERS`` does not declare."""


class MetricCounter(models.Model):
    """One counter of ``COUNTERS`` for one set of label values (``labels`` is JSON text)."""

    name = models.CharField(max_length=100)
    labels = models.CharField(max_length=500, blank=True, default="{}")
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "labels"], name="metric_counter_unique")
        ]

    def __str__(self):
        return f"{self.name} {self.labels} = {self.value}"

    @property
    def label_values(self) -> dict:
        return json.loads(self.labels)


def increment(name: str, **labels: str) -> None:
    """Add one to counter ``name`` for these label values.

    Call it after the event happened, outside long transactions (the row is locked
    until commit). A database error is logged, not raised: a lost count must not
    fail the build or the task that was counted.
    """
    help_text, label_names = COUNTERS.get(name, (None, ()))
    if help_text is None or set(labels) != set(label_names):
        raise UnknownCounter(
            f"Counter {name!r} with labels {sorted(labels)} is not declared in COUNTERS."
        )
    key = json.dumps({k: str(v) for k, v in labels.items()}, sort_keys=True)
    table = connection.ops.quote_name(MetricCounter._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (name, labels, value) VALUES (%s, %s, 1) "
                f"ON CONFLICT (name, labels) DO UPDATE SET value = {table}.value + 1",
                [name, key],
            )
    except DatabaseError as exc:
        logger.warning("Counter %s %s not counted: %s", name, key, exc)
