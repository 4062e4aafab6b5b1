"""Messages sent on commit in one Redis pipeline: a consumer reads each one as Dramatiq sent it."""

import logging

import pytest
from dramatiq.brokers.redis import RedisBroker
from redis.exceptions import ConnectionError as RedisConnectionError

from runs import dispatch


@pytest.fixture
def redis_broker(redis_url, monkeypatch):
    broker = RedisBroker(url=redis_url, namespace="baton-test-dispatch")
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
