"""Sending "run TaskRun 42" messages to the broker, once the database has committed.

The broker only carries task run ids; the database holds the truth. A message
lost here (broker down) leaves its TaskRun ``queued``, and the scheduler
re-sends what stayed queued too long.
"""

import functools
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from uuid import uuid4

import dramatiq
from django.db import transaction
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from dramatiq.encoder import JSONEncoder
from dramatiq.errors import DramatiqError
from dramatiq.message import Message
from dramatiq.middleware import Middleware
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ACTOR_NAME = "execute_task_run"
DEFAULT_QUEUE = "default"


def send_task_run(task_run_id: int, queue: str, *, delay: timedelta | None = None) -> None:
    """Enqueue one message now (not waiting for a commit); ``delay`` defers its delivery."""
    broker = dramatiq.get_broker()
    # Queues are declared on demand: a workflow may name any queue, and the
    # in-process worker starts consuming a queue as soon as it is declared.
    broker.declare_queue(queue)
    message = Message(
        queue_name=queue, actor_name=ACTOR_NAME, args=(task_run_id,), kwargs={}, options={}
    )
    delay_ms = None if delay is None else max(0, int(delay.total_seconds() * 1000))
    broker.enqueue(message, delay=delay_ms)


def send_after_commit(items: Iterable[tuple[int, str]], *, delay: timedelta | None = None) -> None:
    """Enqueue ``(task_run_id, queue)`` pairs when the current transaction commits."""
    items = list(items)
    if items:
        transaction.on_commit(lambda: _send_all(items, delay))


# The direct hand-off (see runs.actors): the messages an attempt's commits send, held back.
_held_by_thread = threading.local()


class HeldSends:
    """What this thread's commits sent, not yet given to the broker."""

    def __init__(self):
        self.items: list[tuple[int, str]] = []

    def take_one(self, runs_here: Callable[[str], bool]) -> tuple[int, str] | None:
        """The one ``(task_run_id, queue)`` held, if exactly one and ``runs_here(queue)``:
        its message is then never sent, the caller runs it."""
        if len(self.items) == 1 and runs_here(self.items[0][1]):
            return self.items.pop()
        return None


@contextmanager
def sends_held() -> Iterator[HeldSends]:
    """Hold back the messages this thread's commits send until the block ends, when what
    was not taken (``HeldSends.take_one``) is sent, on an error too. Delayed ones go at once.

    A task taken so runs in this thread without a broker round trip, and no duplicate
    message makes another worker claim it in vain. If the thread dies before claiming it,
    the task stays queued and the scheduler re-sends it (``runs.recovery``).
    """
    held = _held_by_thread.current = HeldSends()
    try:
        yield held
    finally:
        _held_by_thread.current = None
        if held.items:
            _send_all(held.items, None)


def _send_all(items: list[tuple[int, str]], delay: timedelta | None) -> None:
    held = getattr(_held_by_thread, "current", None)
    if held is not None and delay is None:
        held.items.extend(items)
        return
    broker = dramatiq.get_broker()
    if delay is None and len(items) > 1 and isinstance(broker, RedisBroker):
        try:
            _enqueue_in_one_pipeline(broker, items)
        except (DramatiqError, RedisError, OSError):
            # Committed already: the task runs stay queued and the scheduler re-sends them.
            logger.exception("Could not enqueue %d task runs", len(items))
        return
    for task_run_id, queue in items:
        try:
            send_task_run(task_run_id, queue, delay=delay)
        except (DramatiqError, RedisError, OSError):
            # Committed already: the task run stays queued and the scheduler re-sends it.
            logger.exception("Could not enqueue task run %s on queue %r", task_run_id, queue)


def _enqueue_in_one_pipeline(broker: RedisBroker, items: list[tuple[int, str]]) -> None:
    """What ``RedisBroker.enqueue`` does for each message, in one round trip to Redis.

    A fan-out of 5,000 sent one message at a time spends most of its commit waiting
    for Redis's answers; one script call per message, even pipelined, still costs
    0.2 s of CPU. Per queue, this makes the two writes of Dramatiq 2.x's ``enqueue``
    (its dispatch script: the message into the queue's hash, its id onto the queue's
    list) once for all its messages, in one MULTI, so a consumer reads them as any
    others. The script's occasional maintenance (a dead worker's messages put back)
    goes on with the workers' own fetches.
    """
    by_queue = defaultdict(list)
    for task_run_id, queue in items:
        by_queue[queue].append(task_run_id)
    hooked = _enqueue_is_hooked(broker)
    sent_at, sent = current_millis(), []
    with broker.client.pipeline(transaction=True) as pipeline:
        for queue, task_run_ids in by_queue.items():
            broker.declare_queue(queue)
            if hooked:
                messages = _hooked_messages(broker, queue, task_run_ids)
                sent.extend(messages)
                encoded = {m.options["redis_message_id"]: m.encode() for m in messages}
            else:
                encoded = _encoded_messages(queue, task_run_ids, sent_at)
            name = f"{broker.namespace}:{queue}"
            pipeline.hset(f"{name}.msgs", mapping=encoded)
            pipeline.rpush(name, *encoded)
            if hasattr(broker, "nudge_channel"):  # runs.broker's: wake the idle consumers
                pipeline.publish(broker.nudge_channel(queue), "")
        pipeline.execute()
    for message in sent:
        broker.emit_after("enqueue", message, None)


def _enqueue_is_hooked(broker: RedisBroker) -> bool:
    """A middleware acts on each message sent, or messages are not Dramatiq's usual JSON."""
    if type(dramatiq.get_encoder()) is not JSONEncoder:
        return True
    return any(
        type(middleware).before_enqueue is not Middleware.before_enqueue
        or type(middleware).after_enqueue is not Middleware.after_enqueue
        for middleware in broker.middleware
    )


def _hooked_messages(broker: RedisBroker, queue: str, task_run_ids: list[int]) -> list[Message]:
    messages = []
    for task_run_id in task_run_ids:
        message = Message(
            queue_name=queue,
            actor_name=ACTOR_NAME,
            args=(task_run_id,),
            kwargs={},
            options={"redis_message_id": str(uuid4())},
        )
        broker.emit_before("enqueue", message, None)
        messages.append(message)
    return messages


def _encoded_messages(queue: str, task_run_ids: list[int], sent_at: int) -> dict[str, bytes]:
    """Redis message id → the message as ``Message.encode()`` makes it, from a template.

    One id serves as the message's own id and as its Redis id: both need only be
    unique, and a uuid4 each is a tenth of the cost of 5,000 messages.
    """
    template, encoded = _message_template(queue), {}
    for task_run_id in task_run_ids:
        message_id = str(uuid4())
        values = {"task_run": task_run_id, "id": message_id, "sent_at": sent_at}
        encoded[message_id] = (template % values).encode()
    return encoded


@functools.lru_cache(maxsize=256)
def _message_template(queue: str) -> str:
    """The JSON of a message to ``queue``, with %-slots for what differs between messages."""
    mark = uuid4().hex
    slots = {"task_run": "%(task_run)d", "id": '"%(id)s"', "sent_at": "%(sent_at)d"}
    message = Message(
        queue_name=queue,
        actor_name=ACTOR_NAME,
        args=(f"{mark}task_run",),
        kwargs={},
        options={"redis_message_id": f"{mark}id"},
        message_id=f"{mark}id",
        message_timestamp=f"{mark}sent_at",
    )
    template = message.encode().decode().replace("%", "%%")
    for name, slot in slots.items():
        template = template.replace(f'"{mark}{name}"', slot)
    return template
