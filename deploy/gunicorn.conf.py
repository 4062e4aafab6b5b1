"""Gunicorn for the image's `web` command: `gunicorn --config deploy/gunicorn.conf.py config.wsgi`.

Sized from the CPUs this container may use: one worker process per CPU (at least two, so
one busy or restarting worker never leaves the service without one) and threads in each
(requests wait on the database, not the CPU). WEB_CONCURRENCY and GUNICORN_THREADS override.
"""

import os

_cpus = len(os.sched_getaffinity(0))

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, _cpus)))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
# SIGTERM: stop accepting, let requests in flight finish for this long, then stop.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 25))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
keepalive = 5
# A worker is replaced after this many requests (jittered): a slow leak cannot grow forever.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# X-Forwarded-* are Baton's to judge (BATON_TRUSTED_PROXIES, config/proxies.py), not gunicorn's.
forwarded_allow_ips = "127.0.0.1"
secure_scheme_headers = {}
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

if os.environ.get("BATON_LOG_FORMAT") == "json":
    # The access and error logs as the same JSON lines as Baton's own (config/log_format.py).
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "config.log_format.JsonLinesFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
