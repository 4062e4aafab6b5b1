"""Sending "run TaskRun 42" messages to the broker, once the database has committed.

The broker only carries task run ids; the database holds the truth. A message
lost here (broker down) leaves its TaskRun ``queued``, and the scheduler
re-sends what stayed queued too long.
"""

import logging
import threading
from collections.abc import Iterable
from datetime import timedelta
from uuid import uuid4

import dramatiq
from django.db import transaction
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from dramatiq.errors import DramatiqError
from dramatiq.message import Message
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


# The direct hand-off (see runs.actors): what the commits of one attempt sent, per thread.
_sent_by_attempt = threading.local()


def count_sends() -> None:
    """From now on in this thread, the messages sent on commit are kept for ``hand_off()``."""
    _sent_by_attempt.items = []


def hand_off() -> tuple[int, str] | None:
    """The one ``(task_run_id, queue)`` sent since ``count_sends()``, if exactly one; stops."""
    items = getattr(_sent_by_attempt, "items", None) or []
    _sent_by_attempt.items = None
    return items[0] if len(items) == 1 else None


def _send_all(items: list[tuple[int, str]], delay: timedelta | None) -> None:
    counted = getattr(_sent_by_attempt, "items", None)
    if counted is not None:
        counted.extend(items if delay is None else items * 2)  # a delayed one is no hand-off
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

    A fan-out of 1,000 sent one message at a time spends most of its commit waiting
    for Redis's answers. This follows dramatiq 2.x's ``enqueue`` and ``_dispatch``
    (the same Lua script and arguments), sent through a pipeline.
    """
    for queue in {queue for _, queue in items}:
        broker.declare_queue(queue)
    dispatch, unpack_size = broker.scripts["dispatch"], broker._max_unpack_size()
    messages = [
        Message(
            queue_name=queue,
            actor_name=ACTOR_NAME,
            args=(task_run_id,),
            kwargs={},
            options={"redis_message_id": str(uuid4())},
        )
        for task_run_id, queue in items
    ]
    with broker.client.pipeline(transaction=False) as pipeline:
        for message in messages:
            broker.emit_before("enqueue", message, None)
            arguments = [
                *("enqueue", current_millis(), message.queue_name, broker.broker_id),
                *(broker.heartbeat_timeout, broker.dead_message_ttl),
                *(broker._should_do_maintenance("enqueue"), unpack_size),
                *(message.options["redis_message_id"], message.encode()),
            ]
            dispatch(keys=[broker.namespace], args=arguments, client=pipeline)
        if hasattr(broker, "nudge_channel"):  # runs.broker's: wake the idle consumers
            for queue in {message.queue_name for message in messages}:
                pipeline.publish(broker.nudge_channel(queue), "")
        pipeline.execute()
    for message in messages:
        broker.emit_after("enqueue", message, None)
