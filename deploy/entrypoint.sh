#!/bin/sh
# The image's one entrypoint (tini runs it as PID 1's child, and signals reach what it execs):
#   web                     gunicorn on config.wsgi (deploy/gunicorn.conf.py)
#   worker                  manage.py runworker (BATON_WORKER_PROCESSES × BATON_WORKER_THREADS,
#                           BATON_WORKER_QUEUES)
#   scheduler               manage.py runscheduler
#   migrate                 manage.py migrate (and the workflows' sync that follows it)
#   healthcheck [service]   the container's health; the service is this container's command
#   anything else           manage.py <it> …, e.g. createsuperuser, createtoken, shell
set -eu
cd "$(dirname "$0")/.."

# The command the container runs, from PID 1's arguments (tini -- …/entrypoint.sh <command>).
container_command() {
    tr '\0' '\n' <"${BATON_PID1_CMDLINE:-/proc/1/cmdline}" 2>/dev/null \
        | sed -n '/entrypoint\.sh$/{n;p;q;}'
}

healthcheck() {
    case "${1:-$(container_command)}" in
        web | "")
            exec python -c 'import os, sys, urllib.request
url = "http://127.0.0.1:%s/healthz" % os.environ.get("PORT", "8000")
try:
    urllib.request.urlopen(url, timeout=5)
except Exception as exc:
    sys.exit(f"web: {url} did not answer: {exc}")' ;;
        worker | scheduler) exec python manage.py healthcheck "${1:-$(container_command)}" ;;
        *) exit 0 ;;  # a one-off command: nothing to watch
    esac
}

command="${1:-web}"
[ $# -gt 0 ] && shift
case "$command" in
    web) exec gunicorn --config deploy/gunicorn.conf.py config.wsgi "$@" ;;
    worker)
        # BATON_WORKER_QUEUES="default reports": only those queues (else every queue named).
        # shellcheck disable=SC2086
        exec python manage.py runworker --processes "${BATON_WORKER_PROCESSES:-1}" \
            --threads "${BATON_WORKER_THREADS:-4}" ${BATON_WORKER_QUEUES:+--queues $BATON_WORKER_QUEUES} "$@" ;;
    scheduler) exec python manage.py runscheduler "$@" ;;
    migrate) exec python manage.py migrate --noinput "$@" ;;
    healthcheck) healthcheck "$@" ;;
    *) exec python manage.py "$command" "$@" ;;
esac
