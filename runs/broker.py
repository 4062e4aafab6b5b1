"""Dramatiq's Redis broker, with idle consumers woken when work is sent to their queue.

Dramatiq's Redis consumer polls: finding its queue empty, it sleeps a growing
back-off up to the worker timeout (``BATON_WORKER_POLL_MS``), so the next task of
a chain often waits for a poll. Here every send also publishes a nudge on the
queue's channel; one subscriber thread per process sets the queue's event, and an
idle consumer waits on that event instead of sleeping. The nudge only wakes: the
message is in the queue whether or not it arrives, and without nudges (a
subscriber reconnecting) consumers poll as before.
"""

import logging
import threading

import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed

logger = logging.getLogger(__name__)


class BatonRedisBroker(RedisBroker):
    def __init__(self, **options):
        super().__init__(**options)
        self._nudged: dict[str, threading.Event] = {}
        self._subscriber: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.listening = threading.Event()  # Redis confirmed the subscription to the nudges

    def nudge_channel(self, queue_name: str) -> str:
        # Channels are the server's, not a database's: the number keeps installations (and
        # test processes) sharing one Redis on different databases from waking each other.
        database = self.client.connection_pool.connection_kwargs.get("db", 0)
        return f"{self.namespace}:{database}:nudge:{queue_name}"

    def enqueue(self, message, *, delay=None):
        sent = super().enqueue(message, delay=delay)
        if delay is None:
            self.client.publish(self.nudge_channel(message.queue_name), "")
        return sent

    @property
    def consumer_class(self):
        return _NudgedConsumer

    def nudged(self, queue_name: str) -> threading.Event:
        """The event set when work is sent to ``queue_name`` (the subscriber started once)."""
        with self._lock:
            if self._subscriber is None:
                self._subscriber = threading.Thread(
                    target=self._listen, name="baton-nudges", daemon=True
                )
                self._subscriber.start()
            return self._nudged.setdefault(queue_name, threading.Event())

    def close(self):
        self._closed.set()
        super().close()

    def _listen(self) -> None:
        prefix = self.nudge_channel("")
        while not self._closed.is_set():
            try:
                with self.client.pubsub() as pubsub:
                    pubsub.psubscribe(prefix + "*")
                    while not self._closed.is_set():
                        item = pubsub.get_message(timeout=1.0)
                        if item and item["type"] == "psubscribe":
                            self.listening.set()
                        elif item and item["type"] == "pmessage":
                            self._nudge(item["channel"].decode()[len(prefix) :])
            except redis.RedisError as exc:
                # Consumers poll meanwhile; a message is never lost for a missed nudge.
                logger.warning("Nudges from Redis interrupted (%s); subscribing again", exc)
                self.listening.clear()
                self._closed.wait(1.0)

    def _nudge(self, queue_name: str) -> None:
        event = self._nudged.get(queue_name)
        if event is not None:
            event.set()


class _NudgedConsumer(_RedisConsumer):
    def __next__(self):
        if not self.message_cache and self.outstanding_message_count < self.prefetch:
            nudged = self.broker.nudged(self.queue_name)
            nudged.clear()  # before the fetch: a message sent after it sets the event again
            try:
                self.message_cache = self.broker.do_fetch(
                    self.queue_name, self.prefetch - self.outstanding_message_count
                )
            except redis.ConnectionError as exc:
                raise ConnectionClosed(exc) from None
            if not self.message_cache:
                self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                nudged.wait(backoff_ms / 1000)
                return None
        return super().__next__()
