"""The labels on every container Baton starts: which attempt it runs, for which Baton.

``baton.instance`` tells apart two Baton installations (say staging and production)
sharing one Docker daemon: each cleans up only its own containers.
"""

import hashlib

from django.db import connection

from ..execution.watch import worker_identity


def instance_id() -> str:
    """12 hex characters naming this Baton's database (the same in every process of it)."""
    db = connection.settings_dict
    where = "|".join(str(db.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))
    return hashlib.sha256(where.encode()).hexdigest()[:12]


def instance_labels() -> dict[str, str]:
    return {"baton.instance": instance_id()}


def attempt_labels(task_run) -> dict[str, str]:
    """The labels of one attempt's container (``task_run`` as the worker claimed it)."""
    return {
        **instance_labels(),
        "baton.workflow": task_run.run_info.workflow,
        "baton.run": str(task_run.run_id),
        "baton.task": task_run.task_name,
        "baton.task_run": str(task_run.pk),
        "baton.attempt": str(task_run.attempt),
        "baton.worker": worker_identity(),
    }
