"""What every Baton worker does when it boots and stops, as a Dramatiq middleware."""

import dramatiq
from django import db
from dramatiq.middleware import Middleware

from .dispatch import DEFAULT_QUEUE

# The queues this process's worker consumes (None: every declared one), while it runs.
_consumed = {"running": False, "queues": None}


def consumes_here(queue: str) -> bool:
    """Whether this process's running worker takes messages of ``queue`` (for a hand-off)."""
    whitelist = _consumed["queues"] or dramatiq.get_broker().get_declared_queues()
    return _consumed["running"] and queue in whitelist


class BatonWorkerHooks(Middleware):
    """On boot: consume the queues the loaded workflows use, capture task logs, watch tasks."""

    def after_worker_boot(self, broker, worker):
        _consumed.update(running=True, queues=worker.consumer_whitelist or None)
        self._boot(broker, worker)

    def before_worker_shutdown(self, broker, worker):
        _consumed["running"] = False  # a stopping worker hands nothing more off

    def _boot(self, broker, worker):
        from workflows.live import start_polling

        from .containers.cleanup import remove_leftovers_in_background
        from .execution.logs import install_log_capture
        from .execution.statements import run_info
        from .execution.watch import start_watch
        from .notifications.outbox import start_sender

        run_info.cache_clear()  # run ids are only unique within one database

        for queue in workflow_queues():
            broker.declare_queue(queue)
        install_log_capture()
        start_watch()
        remove_leftovers_in_background()  # containers a dead worker of this machine left
        start_sender()  # notifications leave from every worker process
        # A queue first named by new code gets a consumer (Dramatiq adds one per declared queue).
        start_polling(on_change=lambda registry: _declare_queues(broker, registry))

    def after_worker_shutdown(self, broker, worker):
        from .execution.watch import stop_watch
        from .notifications.outbox import stop_sender

        stop_watch()
        stop_sender()


class DbConnectionsOnError(Middleware):
    """Django's connection upkeep around each message, without a health query per message.

    django_dramatiq's ``DbConnectionsMiddleware`` calls ``close_old_connections`` before
    and after every message; with ``CONN_HEALTH_CHECKS`` that costs one more query per
    message. Here a connection is checked only after an error was seen on it (or closed
    when older than ``CONN_MAX_AGE``); one broken while idle (a database restart) fails
    its next statement, which ``runs.execution.reconnect`` replaces and runs again.
    """

    def _tidy_connections(self, *args, **kwargs):
        for connection in db.connections.all(initialized_only=True):
            healthy = connection.health_check_done and not connection.errors_occurred
            connection.close_if_unusable_or_obsolete()
            if healthy and connection.connection is not None:
                connection.health_check_done = True  # no error since its last check

    before_process_message = _tidy_connections
    after_process_message = _tidy_connections

    def _close_connections(self, *args, **kwargs):
        db.connections.close_all()

    before_consumer_thread_shutdown = _close_connections
    before_worker_thread_shutdown = _close_connections
    before_worker_shutdown = _close_connections


def workflow_queues(registry=None) -> set[str]:
    """Every queue named by a task of a loaded workflow, and the default queue."""
    from workflows.registry import get_registry

    queues = {DEFAULT_QUEUE}
    for definition in (registry or get_registry()).workflows.values():
        queues.update(node.options.queue for node in definition.tasks.values())
    return queues


def _declare_queues(broker: dramatiq.Broker, registry) -> None:
    for queue in workflow_queues(registry) - set(broker.get_declared_queues()):
        broker.declare_queue(queue)


def prepare_broker(broker: dramatiq.Broker) -> None:
    """Give a broker Baton's worker hooks and actor (the settings' broker, or a test's)."""
    from .actors import execute_task_run

    if not any(isinstance(m, BatonWorkerHooks) for m in broker.middleware):
        broker.add_middleware(BatonWorkerHooks())
    broker.declare_actor(execute_task_run)
