"""The prometheus-client Collector behind /metrics: every value read from the database.

Any web process answers for the whole installation (all workers, schedulers and web
processes on all machines), because the truth is in the database, not in the
memory of the process that happens to be scraped.
"""

import time

from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..worker_hooks import workflow_queues
from . import series


class BatonCollector(Collector):
    def collect(self):
        started, now = time.perf_counter(), timezone.now()
        processes = series.alive_processes(now, settings.BATON_HEARTBEAT_TIMEOUT)
        queues = workflow_queues() | {queue for process in processes for queue in process.queues}
        slugs = series.workflow_slugs()
        yield from series.workflow_families()
        yield from series.run_families(slugs)
        yield from series.task_families(slugs)
        yield from series.queue_families(now, queues)
        yield from series.process_families(processes, queues)
        yield series.scheduler_lag_family()
        yield from series.counter_families()
        yield series.audit_family()
        yield GaugeMetricFamily(
            f"{series.PREFIX}metrics_collect_seconds",
            "How long making this text took, up to this line (database and writing).",
            value=time.perf_counter() - started,
        )
