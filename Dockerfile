# Baton: one image, several commands (deploy/entrypoint.sh):
#   web | worker | scheduler | migrate | healthcheck [service] | <any manage.py command>
#
#   make image            # docker build --network host -t baton:latest .
#
# Where python:3.11-slim-bookworm cannot be pulled, `make base-image` first makes an image
# of that name from Debian's packages (deploy/base-image.sh). Build steps that install
# packages need the network: `--network host` where the daemon has no bridge.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The wheels of deploy/wheelhouse/ when `make wheelhouse` filled it (a build without access to
# the package index), else the index.
COPY requirements.lock deploy/wheelhouse* /tmp/build/
# uv at the version the lock pins, then exactly the lock (hashes checked) in a venv without
# pip; translation sources (.po) are not read at run time.
RUN if ls /tmp/build/*.whl >/dev/null 2>&1; then offline="--no-index --find-links /tmp/build"; fi \
    && python3 -m venv /tmp/uv \
    && /tmp/uv/bin/pip install --quiet ${offline:-} \
        "$(grep -E '^uv==' /tmp/build/requirements.lock | cut -d' ' -f1)" \
    && /tmp/uv/bin/uv venv --quiet --python python3 /opt/baton/venv \
    && /tmp/uv/bin/uv pip sync ${offline:-} --python /opt/baton/venv/bin/python \
        /tmp/build/requirements.lock \
    && find /opt/baton/venv -name "*.po" -delete \
    && rm -rf /tmp/build /tmp/uv
COPY . /app
WORKDIR /app
# Static files collected (without the source maps of vendored bundles: 14 MB only browser
# developer tools ask for); bytecode written for the modules the services import (by
# importing them: half the size of compiling every installed module).
RUN rm -rf deploy/wheelhouse \
    && export DEBUG=0 SECRET_KEY=only-for-the-build DATABASE_URL=sqlite:////tmp/unused.sqlite3 \
        STATIC_ROOT=/opt/baton/static \
    && /opt/baton/venv/bin/python manage.py collectstatic --noinput -v 0 \
    && find /opt/baton/static -name "*.map" -o -name "*.map.gz" | xargs rm -f \
    && /opt/baton/venv/bin/python manage.py check -v 0 \
    && /opt/baton/venv/bin/python -c "import config.wsgi, gunicorn.app.wsgiapp, \
        gunicorn.workers.gthread, gunicorn.glogging, dramatiq.cli, dramatiq.brokers.redis, \
        psycopg, django.db.backends.postgresql.base" \
    && /opt/baton/venv/bin/python -m compileall -q /app \
    && rm -f /tmp/unused.sqlite3 && mkdir -p /app/var

FROM ${PYTHON_IMAGE}
ARG EXTRA_DEBIAN_PACKAGES=""
# tini as PID 1: signals reach the service, zombies are reaped. git only for BATON_WORKFLOWS_GIT:
# add it with --build-arg EXTRA_DEBIAN_PACKAGES=git.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini ${EXTRA_DEBIAN_PACKAGES} \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin baton
COPY --from=build /opt/baton /opt/baton
COPY --from=build --chown=root:root /app /app
RUN chown baton:baton /app/var
# MALLOC_ARENA_MAX: glibc gives each thread an arena of its own by default; threaded services
# (gunicorn gthread, Dramatiq, the scheduler's) keep less memory resident with two.
ENV PATH=/opt/baton/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MALLOC_ARENA_MAX=2 \
    DEBUG=0 \
    STATIC_ROOT=/opt/baton/static \
    PORT=8000
WORKDIR /app
USER baton
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=30s --start-period=30s --retries=3 \
    CMD ["/app/deploy/entrypoint.sh", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "/app/deploy/entrypoint.sh"]
CMD ["web"]
