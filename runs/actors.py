"""The Dramatiq actor: one message = "run one attempt of TaskRun <id>".

Dramatiq's own retries stay off (no Retries middleware): attempts are Baton's,
recorded in the database. The queue is chosen per message (see ``runs.dispatch``).
"""

import dramatiq

from .dispatch import ACTOR_NAME, DEFAULT_QUEUE, sends_held
from .execution.runner import run_task_run
from .worker_hooks import consumes_here

# Tasks run one after another on one message, at most (then the next goes by the broker).
HAND_OFFS = 50


# Baton enforces each task's own timeout; Dramatiq's TimeLimit must not cut it at 10 minutes.
@dramatiq.actor(actor_name=ACTOR_NAME, queue_name=DEFAULT_QUEUE, time_limit=float("inf"))
def execute_task_run(task_run_id: int) -> None:
    """Run one attempt of a TaskRun; a duplicate or late message does nothing.

    Direct hand-off: when the attempt made exactly one downstream task ready, on a
    queue this worker consumes, it runs next in this thread, and its message is never
    sent (``runs.dispatch.sends_held``).
    """
    for hop in range(1, HAND_OFFS + 1):
        with sends_held() as held:
            run_task_run(task_run_id)
            handed = held.take_one(consumes_here) if hop < HAND_OFFS else None
        if handed is None:
            return
        task_run_id = handed[0]
