"""Messages on Redis: a batch in one pipeline reads as Dramatiq sent it; a send wakes consumers."""

import logging
import threading
import time

import pytest
from dramatiq.message import Message
from redis.exceptions import ConnectionError as RedisConnectionError

from runs import dispatch
from runs.broker import BatonRedisBroker


@pytest.fixture
def redis_broker(redis_url, monkeypatch):
    broker = BatonRedisBroker(url=redis_url, namespace="baton-test-dispatch")
    broker.flush_all()
    monkeypatch.setattr(dispatch.dramatiq, "get_broker", lambda: broker)
    yield broker
    broker.flush_all()
    broker.close()


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

    def later():
        time.sleep(0.2)
        if send == "one":
            message = Message(queue_name="alpha", actor_name="a", args=(1,), kwargs={}, options={})
            redis_broker.enqueue(message)
        else:
            dispatch._send_all([(1, "alpha"), (2, "alpha")], None)

    began = time.monotonic()
    threading.Thread(target=later).start()
    consumer.misses = 10  # long idle: its back-off is the full 10 s, unless nudged
    got = next(consumer) or next(consumer)
    assert got is not None and got.args == (1,)
    assert time.monotonic() - began < 3
    consumer.ack(got)
    consumer.close()
