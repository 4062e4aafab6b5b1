"""Messages on Redis: a batch in one pipeline reads as Dramatiq sent it; a send wakes consumers."""

import logging
import threading
import time
from uuid import UUID

import pytest
from dramatiq.common import current_millis
from dramatiq.message import Message
from dramatiq.middleware import Middleware
from redis.exceptions import ConnectionError as RedisConnectionError

from runs import dispatch
from runs.broker import BatonRedisBroker


@pytest.fixture
def redis_broker(redis_url, monkeypatch):
    broker = BatonRedisBroker(url=redis_url, namespace="baton-test-dispatch")
    forget_namespace(broker)
    monkeypatch.setattr(dispatch.dramatiq, "get_broker", lambda: broker)
    yield broker
    forget_namespace(broker)
    broker.close()


def forget_namespace(broker) -> None:
    """Every key of the namespace: flush_all forgets only the queues declared, not the
    messages a consumer fetched and did not ack, which Dramatiq requeues a minute later."""
    for key in broker.client.scan_iter(f"{broker.namespace}*"):
        broker.client.delete(key)


def test_a_batch_arrives_as_one_message_per_task_run(redis_broker):
    dispatch._send_all([(1, "alpha"), (2, "alpha"), (3, "beta")], None)
    read = {}
    for queue in ("alpha", "beta"):
        consumer = redis_broker.consume(queue, prefetch=10, timeout=100)
        for _ in range(3):
            message = next(consumer)
            if message is not None:
                read[message.args[0]] = (message.queue_name, message.actor_name)
                consumer.ack(message)
        consumer.close()
    assert read == {
        1: ("alpha", dispatch.ACTOR_NAME),
        2: ("alpha", dispatch.ACTOR_NAME),
        3: ("beta", dispatch.ACTOR_NAME),
    }


def read_all(broker, queue: str, count: int) -> list:
    consumer = broker.consume(queue, prefetch=count, timeout=100)
    messages = []
    for _ in range(count + 2):
        message = next(consumer)
        if message is not None:
            messages.append(message)
            consumer.ack(message)
        if len(messages) == count:
            break
    consumer.close()
    return messages


def test_a_batch_message_holds_what_dramatiq_would_have_sent(redis_broker):
    before = current_millis()
    dispatch._send_all([(7, "alpha"), (8, "alpha")], None)
    messages = read_all(redis_broker, "alpha", 2)
    made = Message(
        queue_name="alpha", actor_name=dispatch.ACTOR_NAME, args=(7,), kwargs={}, options={}
    )
    assert [m.args for m in messages] == [(7,), (8,)]  # in the order sent
    for message in messages:
        fields = message._message.asdict()
        assert fields.keys() == made.asdict().keys()
        assert (message.queue_name, message.actor_name, message.kwargs) == (
            "alpha",
            made.actor_name,
            {},
        )
        assert str(UUID(message.message_id)) == message.message_id
        assert before <= message.message_timestamp <= current_millis()
    assert len({m.message_id for m in messages}) == 2


def test_a_middleware_acting_on_each_send_sees_each_message_of_a_batch(redis_broker):
    class Counting(Middleware):
        def __init__(self):
            self.before, self.after = [], []

        def before_enqueue(self, broker, message, delay):
            self.before.append(message.args)

        def after_enqueue(self, broker, message, delay):
            self.after.append(message.args)

    counting = Counting()
    redis_broker.add_middleware(counting)
    dispatch._send_all([(1, "alpha"), (2, "beta"), (3, "alpha")], None)
    assert sorted(counting.before) == sorted(counting.after) == [(1,), (2,), (3,)]
    assert sorted(m.args for m in read_all(redis_broker, "alpha", 2)) == [(1,), (3,)]
    assert [m.args for m in read_all(redis_broker, "beta", 1)] == [(2,)]


def test_a_batch_redis_refuses_is_logged_not_raised(redis_broker, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(redis_broker.client, "pipeline", refuse)
    with caplog.at_level(logging.ERROR, logger="runs.dispatch"):
        dispatch._send_all([(1, "alpha"), (2, "alpha")], None)
    assert "Could not enqueue 2 task runs" in caplog.text


@pytest.mark.parametrize("send", ["one", "batch"])
def test_an_idle_consumer_wakes_when_work_is_sent_not_at_its_next_poll(redis_broker, send):
    redis_broker.declare_queue("alpha")
    consumer = redis_broker.consume("alpha", prefetch=1, timeout=10_000)
    assert next(consumer) is None  # an empty queue; its subscriber starts
    assert redis_broker.listening.wait(10), "no subscription to the nudges"

    def later():
        time.sleep(0.2)
        if send == "one":
            message = Message(queue_name="alpha", actor_name="a", args=(1,), kwargs={}, options={})
            redis_broker.enqueue(message)
        else:
            dispatch._send_all([(1, "alpha"), (2, "alpha")], None)

    began = time.monotonic()
    threading.Thread(target=later).start()
    got = None
    while got is None and time.monotonic() - began < 3:
        consumer.misses = 10  # long idle: its back-off is the full 10 s, unless nudged
        got = next(consumer)
    assert got is not None and got.args == (1,)
    assert time.monotonic() - began < 3
    consumer.ack(got)
    consumer.close()


def test_a_send_on_another_database_of_the_same_redis_is_not_heard(redis_broker, redis_url):
    # Pub/sub channels are the server's: without the database in their name, another
    # installation's (or test process's) sends would wake this one's consumers.
    other = BatonRedisBroker(
        url=redis_url.rsplit("/", 1)[0] + "/15", namespace=redis_broker.namespace
    )
    with redis_broker.client.pubsub() as pubsub:
        pubsub.psubscribe(redis_broker.nudge_channel("") + "*")
        pubsub.get_message(timeout=5)  # the subscription's confirmation
        other.enqueue(Message(queue_name="alpha", actor_name="a", args=(1,), kwargs={}, options={}))
        redis_broker.client.publish(redis_broker.nudge_channel("alpha"), "marker")
        first = pubsub.get_message(timeout=5)  # delivered in the order published
    forget_namespace(other)
    other.close()
    assert first is not None and first["data"] == b"marker"
