"""Pools: at most ``slots`` task runs of a pool run at once, across all workflows.

The Pool row is the lock. A claim of a pooled task locks it, counts the pool's
running tasks and either claims the task (queued → running) or parks it
(→ waiting, holding no worker thread). A task leaving ``running`` frees its slot
in the transaction that records its end: under the same lock, the parked tasks
with the highest priority (then the oldest) go back to queued, as many as there
are free slots, and are sent on commit. Claims and releases of one pool thus take
turns, across processes, and the count a claim makes is never stale. The
scheduler's sweep (``promote_waiting_everywhere``) repairs what a lost message left.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .dispatch import send_after_commit
from .models import Pool, TaskRun
from .states import TaskState

# A task queued for its pool is about to take a slot: counted as in use, so two
# releases in a row do not both promote a task for the same free slot.
USING_A_SLOT = (TaskState.QUEUED, TaskState.RUNNING)


NO_POOL_BATCH = 500


class PoolMissing(Exception):
    """A task names a pool that no admin has created."""


def parked(pool: str):
    """The pool's tasks waiting for a slot (not those waiting for a check of their own)."""
    return TaskRun.objects.filter(pool=pool, state=TaskState.WAITING, next_attempt_at__isnull=True)


def park_or_claim(task_run_id: int, pool: str, claim) -> object | None:
    """Claim a pooled task if its pool has a free slot, else park it; ``claim()`` claims it.

    Returns what ``claim()`` returned, or None when the task was parked or not
    claimable. A pool nobody created does not park: the claim goes ahead and the
    attempt fails saying so (``require_pool``).
    """
    with transaction.atomic():
        locked = Pool.objects.select_for_update().filter(name=pool).first()
        if locked is None:
            return claim()
        running = TaskRun.objects.filter(pool=pool, state=TaskState.RUNNING).count()
        if running < locked.slots:
            return claim()
        due = Q(state__in=(TaskState.UP_FOR_RETRY, TaskState.WAITING))
        due &= Q(next_attempt_at__lte=timezone.now())
        TaskRun.objects.filter(Q(state=TaskState.QUEUED) | due, pk=task_run_id).move(
            TaskState.WAITING, next_attempt_at=None
        )
        return None


def release_slot(pool: str) -> int:
    """A task of ``pool`` left running: promote parked tasks into the free slots (locked).

    In the caller's transaction when there is one (a savepoint), else in its own.
    """
    with transaction.atomic():
        return _promote_parked(pool)


def _promote_parked(pool: str) -> int:
    locked = Pool.objects.select_for_update().filter(name=pool).first()
    if locked is None:
        # Deleted while tasks waited for it: they go on, to fail saying so (``require_pool``).
        free = NO_POOL_BATCH
    else:
        free = locked.slots - TaskRun.objects.filter(pool=pool, state__in=USING_A_SLOT).count()
    if free <= 0:
        return 0
    chosen = list(
        parked(pool).order_by("-priority", "queued_at", "pk").values_list("pk", "queue")[:free]
    )
    if not chosen:
        return 0
    moved = TaskRun.objects.filter(
        pk__in=[pk for pk, _queue in chosen], state=TaskState.WAITING
    ).move(TaskState.QUEUED, now=timezone.now())
    send_after_commit(chosen)
    return moved


def promote_waiting_everywhere() -> int:
    """Fill the free slots of every pool with parked tasks (the scheduler's sweep)."""
    names = (
        TaskRun.objects.filter(state=TaskState.WAITING, next_attempt_at__isnull=True)
        .exclude(pool="")
        .values_list("pool", flat=True)
        .distinct()
    )
    promoted = 0
    for name in list(names):
        promoted += release_slot(name)
    return promoted


def require_pool(name: str, *, file: str, line: int) -> None:
    """``PoolMissing`` naming the pool and where the task names it, if nobody created it."""
    if not Pool.objects.filter(name=name).exists():
        raise PoolMissing(
            _(
                "Pool '%(pool)s' does not exist (named at %(file)s:%(line)s): an admin creates "
                "it in the admin under Pools, with its number of slots, or fix pool= in the code."
            )
            % {"pool": name, "file": file, "line": line}
        )


@dataclass(frozen=True)
class PoolUse:
    name: str
    in_use: int
    slots: int | None  # None: no such pool

    def words(self) -> str:
        if self.slots is None:
            return _("Waiting for pool %(pool)s, which does not exist") % {"pool": self.name}
        return _("Waiting for pool %(pool)s (%(in_use)s of %(slots)s in use)") % {
            "pool": self.name,
            "in_use": self.in_use,
            "slots": self.slots,
        }


def pool_use(names) -> dict[str, PoolUse]:
    """How many slots of each pool are in use (running tasks), in two queries."""
    names = set(names)
    if not names:
        return {}
    slots = dict(Pool.objects.filter(name__in=names).values_list("name", "slots"))
    counts = dict(
        TaskRun.objects.filter(pool__in=names, state=TaskState.RUNNING)
        .values("pool")
        .annotate(n=Count("pk"))
        .values_list("pool", "n")
    )
    return {name: PoolUse(name, counts.get(name, 0), slots.get(name)) for name in names}


def note_pool_use(task_runs) -> None:
    """Attach to each task waiting for a pool slot its pool's use (two queries at most)."""
    parked_here = [
        t
        for t in task_runs
        if t.state == TaskState.WAITING and t.pool and t.next_attempt_at is None
    ]
    uses = pool_use(t.pool for t in parked_here)
    for task_run in parked_here:
        task_run.pool_use = uses[task_run.pool]
