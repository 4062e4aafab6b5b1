"""Starting a new run whose roots were queued as its task runs were inserted.

``start_run`` (runs.progress) reads a run's graph back and decides every pending
task; a run of 5,000 roots spends most of its start there. A new run's roots are
known from its definition, so ``insert_task_runs`` queues them in its own
statement, and all that is left is moving the run to running and sending them.
"""

from .dispatch import send_after_commit
from .models import WorkflowRun
from .progress import start_run
from .states import RunState
from .task_run_insert import QueuedRoots


def start_new_run(run: WorkflowRun, *, queued_roots: QueuedRoots | None, now) -> None:
    """Move the new ``run`` to running and send its queued roots after commit.

    ``queued_roots`` None: the insert queued none (see ``insert_task_runs``), so the
    run starts the usual way, which may even end it at once.
    """
    if queued_roots is None:
        start_run(run, now=now)
        return
    # Created queued in the caller's transaction: no one else has seen it to move it.
    WorkflowRun.objects.filter(pk=run.pk).move(RunState.RUNNING, now=now)
    run.state, run.started_at = RunState.RUNNING, now
    send_after_commit(queued_roots)
