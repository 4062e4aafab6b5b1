"""The Dramatiq actor: one message = "run one attempt of TaskRun <id>".

Dramatiq's own retries stay off (no Retries middleware): attempts are Baton's,
recorded in the database. The queue is chosen per message (see ``runs.dispatch``).
"""

import dramatiq

from .dispatch import ACTOR_NAME, DEFAULT_QUEUE
from .execution.runner import run_task_run


# Baton enforces each task's own timeout; Dramatiq's TimeLimit must not cut it at 10 minutes.
@dramatiq.actor(actor_name=ACTOR_NAME, queue_name=DEFAULT_QUEUE, time_limit=float("inf"))
def execute_task_run(task_run_id: int) -> None:
    """Run one attempt of a TaskRun; a duplicate or late message does nothing."""
    run_task_run(task_run_id)
