"""The latest /metrics text, shared by every web process through the cache.

Reading every series from a large history takes longer than a scrape should wait
(about a second at 200,000 task runs, most of it the aggregate queries and the
text of 4,000 task histograms). So a scrape is answered from the latest snapshot,
kept gzipped in the shared cache (Redis, or the database cache): at most one
scrape interval old. When the snapshot is older than ``BATON_METRICS_MAX_AGE``
seconds, the process answering starts a fresh one in a thread of its own (one
process at a time, by a lock in the cache), for the next scrape. Only when there
is no snapshot at all, or one older than ``STALE_LIMIT`` max ages (nobody scraped
for a while), does the scrape wait for the computation.
"""

import gzip
import logging
import threading
import time

from django.core.cache import cache
from django.db import connection

from .collector import BatonCollector

logger = logging.getLogger(__name__)

KEY = "metrics:snapshot"
LOCK = "metrics:refreshing"
STALE_LIMIT = 6  # × max age: older than this, a scrape waits for fresh values
LOCK_SECONDS = 120  # a refresher that died frees the lock after this long


def compute_text() -> bytes:
    """Every Baton series read from the database now, in the Prometheus text format."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(BatonCollector())
    return generate_latest(registry)


def refresh() -> bytes:
    """Compute the series and store them as the shared snapshot; returns them gzipped."""
    packed = gzip.compress(compute_text(), compresslevel=1)
    cache.set(KEY, (time.time(), packed), timeout=None)
    return packed


def latest_gzipped(max_age: float) -> bytes:
    """The metrics text, gzipped: the shared snapshot, or fresh values when there is none."""
    if max_age <= 0:
        return gzip.compress(compute_text(), compresslevel=1)
    snapshot = cache.get(KEY)
    age = time.time() - snapshot[0] if snapshot else float("inf")
    if age <= max_age:
        return snapshot[1]
    if age > STALE_LIMIT * max_age:
        return refresh()
    if cache.add(LOCK, True, timeout=LOCK_SECONDS):
        threading.Thread(target=_refresh_in_background, name="baton-metrics", daemon=True).start()
    return snapshot[1]


def _refresh_in_background() -> None:
    try:
        refresh()
    except Exception:  # a scrape later tries again; this thread must not die unheard
        logger.exception("Metrics: could not refresh the snapshot")
    finally:
        cache.delete(LOCK)
        connection.close()  # this thread's own connection
