"""Baton settings: every value comes from the environment, with embedded defaults.

With nothing set, Baton runs on a SQLite file under var/ and an in-process
broker. Production sets DATABASE_URL, BROKER_URL, SECRET_KEY, DEBUG=0 and
ALLOWED_HOSTS (see README, "Deploying"). Any variable may instead name a file holding
its value, NAME_FILE (Docker secrets: SECRET_KEY_FILE=/run/secrets/secret_key).
"""

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from config.environment import FileAwareEnv
from config.networks import BadNetworkSetting, parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = FileAwareEnv()

DEBUG = env.bool("DEBUG", default=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        sys.exit("Baton: set the SECRET_KEY environment variable (required when DEBUG=0).")
    SECRET_KEY = "django-insecure-baton-development-key-only-for-debug-mode"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Ninja's bundled Swagger UI (templates/ninja, static/ninja) is found through TEMPLATES and
# STATICFILES_DIRS, not by listing "ninja" as an app: every process imports its installed apps,
# and `import ninja` loads pydantic and the API stack (~11 MiB) into workers and schedulers too.
NINJA_FILES = Path(importlib.util.find_spec("ninja").origin).parent

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_dramatiq",
    "django_celery_beat",
    "guardian",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "django_htmx",
    "csp",
    "workflows",
    "runs",
    "accounts",
    "audit",
    "examples",
]

MIDDLEWARE = [
    "config.lazy_api.LazyAPIMiddleware",  # pages resolve without importing the REST API
    "config.health.HealthEndpointsMiddleware",  # /healthz, /readyz: before host checks, login
    "config.proxies.TrustedProxiesMiddleware",  # X-Forwarded-* only from BATON_TRUSTED_PROXIES
    "config.service_unavailable.ServiceUnavailableMiddleware",  # 503 "try again", not a 500
    "runs.metrics.endpoint.MetricsEndpointMiddleware",  # /metrics: before host checks, login
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_FILES / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# No DATABASE_URL: a SQLite file. Any SQLite database (that one, or a sqlite://
# DATABASE_URL) runs in WAL mode with IMMEDIATE transactions and a busy timeout,
# so web, worker and scheduler threads of `manage.py up` write side by side.
# IMMEDIATE is what makes the timeout apply: SQLite's default (deferred) BEGIN
# that reads, then writes after another thread committed, gets "database is
# locked" at once, without waiting; BEGIN IMMEDIATE takes the write lock first,
# and waits for it.
SQLITE_PATH = Path(env.str("BATON_SQLITE_PATH", default=str(VAR_DIR / "baton.sqlite3")))
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": SQLITE_PATH}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),  # a sqlite:// URL's ?options win
    }
    # Tests use a file too, so that worker threads share it; one per test process.
    DATABASES["default"].setdefault(
        "TEST", {"NAME": str(Path(tempfile.gettempdir()) / f"baton-test-{os.getpid()}.sqlite3")}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker (Dramatiq) ----------------------------------------------------------
BROKER_URL = env.str("BROKER_URL", default="")
DRAMATIQ_BROKER = {
    "BROKER": (
        # Dramatiq's Redis broker, whose idle consumers are woken when work is sent.
        "runs.broker.BatonRedisBroker" if BROKER_URL else "dramatiq.brokers.stub.StubBroker"
    ),
    "OPTIONS": {"url": BROKER_URL} if BROKER_URL else {},
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.ShutdownNotifications",
        "dramatiq.middleware.Callbacks",
        "runs.worker_hooks.DbConnectionsOnError",  # no health query per message
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]

# --- Cache ----------------------------------------------------------------------------------
# Shared by every process, because the login lockout counts failures in it (a per-process
# memory cache let the 6th try succeed on another web process). Redis when REDIS_URL is set,
# or the broker's Redis; else a table in the database (created by `migrate`).
REDIS_URL = env.str("REDIS_URL", default="") or (
    BROKER_URL if BROKER_URL.startswith(("redis://", "rediss://", "unix://")) else ""
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "baton",
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "baton_cache"}
}

# --- Authentication --------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

# --- Internationalisation ----------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static", NINJA_FILES / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing folder

# --- Content-Security-Policy (django-csp) ------------------------------------------------
# Only Baton's own files run or style a page: no inline script, style attribute or eval
# (htmx is told so in base.html), nothing may frame it, forms post back to Baton only.
# The Google button posts to Baton, which redirects to Google: Chromium checks that
# redirect against form-action too. The API docs (Swagger UI) also load data: images
# (config/urls.py); the admin complies as is.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"]
        + (["https://accounts.google.com"] if env.str("GOOGLE_CLIENT_ID", default="") else []),
    }
}

# --- Behind a reverse proxy ------------------------------------------------------------
# Addresses or networks of the proxies in front of Baton ("10.0.0.0/8,192.0.2.7"): only from
# them are X-Forwarded-For (the client's address, for the audit trail and rate limits) and
# X-Forwarded-Proto (HTTPS) believed; config/proxies.py drops both headers from anyone else.
BATON_TRUSTED_PROXIES = env.list("BATON_TRUSTED_PROXIES", default=[])
try:
    parse_networks(BATON_TRUSTED_PROXIES, setting="BATON_TRUSTED_PROXIES")
except BadNetworkSetting as exc:
    sys.exit(f"Baton: {exc}")
if BATON_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Production hardening (active when DEBUG=0) -------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# BATON_LOG_FORMAT=json: one JSON object per line (config/log_format.py); else plain text.
BATON_LOG_FORMAT = env.str("BATON_LOG_FORMAT", default="plain")
if BATON_LOG_FORMAT not in ("plain", "json"):
    sys.exit(f"Baton: BATON_LOG_FORMAT must be plain or json, not {BATON_LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "config.log_format.JsonLinesFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": BATON_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# --- Baton ----------------------------------------------------------------------------------
# Extra folder of workflow files (for teams that keep workflows in their own repository).
BATON_WORKFLOWS_DIR = env.str("BATON_WORKFLOWS_DIR", default="")
# Or a git repository (any URL git understands, a local path too), read by every process
# on its own every BATON_WORKFLOWS_GIT_INTERVAL s; the folder's content is checked as often.
BATON_WORKFLOWS_GIT = env.str("BATON_WORKFLOWS_GIT", default="")
BATON_WORKFLOWS_GIT_BRANCH = env.str("BATON_WORKFLOWS_GIT_BRANCH", default="main")
BATON_WORKFLOWS_GIT_INTERVAL = env.float("BATON_WORKFLOWS_GIT_INTERVAL", default=60.0)
BATON_WORKFLOWS_GIT_SUBDIR = env.str("BATON_WORKFLOWS_GIT_SUBDIR", default="")
# Where each process keeps its mirror and per-commit checkouts, and how many of them.
BATON_WORKFLOWS_CACHE = env.str(
    "BATON_WORKFLOWS_CACHE", default=str(BASE_DIR / "var" / "workflows-git")
)
BATON_WORKFLOWS_KEEP = env.int("BATON_WORKFLOWS_KEEP", default=20)
# A workflow file whose import takes longer (s) is stopped and reported; the others load.
BATON_WORKFLOW_IMPORT_TIMEOUT = env.float("BATON_WORKFLOW_IMPORT_TIMEOUT", default=30.0)
# The demo `backup_files` workflow reads this Secret (shows how secrets reach scripts).
BATON_DEMO_BACKUP_LABEL = env.str("BATON_DEMO_BACKUP_LABEL", default="demo-archive")

# --- Scheduler ---------------------------------------------------------------------------------
# A task queued longer than this (s) lost its broker message: the scheduler sends it again.
BATON_QUEUED_TIMEOUT = env.int("BATON_QUEUED_TIMEOUT", default=120)
# A running task whose worker has not heart-beaten for this long (s) is retried or failed.
BATON_HEARTBEAT_TIMEOUT = env.int("BATON_HEARTBEAT_TIMEOUT", default=60)
# How long (s) workers keep reconnecting to record a claim, a heartbeat or a finished task
# when the database connection breaks (a PostgreSQL restart), before giving up.
BATON_DB_RETRY_SECONDS = env.float("BATON_DB_RETRY_SECONDS", default=60.0)
# With catchup=True, at most this many missed slots are run after downtime, per schedule.
BATON_CATCHUP_LIMIT = env.int("BATON_CATCHUP_LIMIT", default=100)

# --- Audit ----------------------------------------------------------------------------------
# `verify_audit` keeps the end of the chain it last found intact here, apart from the
# database, and compares the next check with it: a trail emptied or cut short shows.
BATON_AUDIT_CHECKPOINT = env.str(
    "BATON_AUDIT_CHECKPOINT", default=str(VAR_DIR / "audit-checkpoint.json")
)

# --- Accounts: login, roles, per-workflow permissions, API tokens (accounts/) ---------------------
# Every page needs a logged-in user (views marked @login_not_required and /api/ aside).
MIDDLEWARE.append("accounts.middleware.LoginRequiredMiddleware")
MIDDLEWARE.append("audit.context.AuditRequestMiddleware")  # IP, user agent, API token
MIDDLEWARE.append("accounts.time_zones.TimeZoneMiddleware")  # chosen, else the browser's
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"  # sign-up closed: admins create local users
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"  # BATON_ALLOWED_EMAIL_DOMAINS
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_EMAIL_VERIFICATION = "none"  # Baton sends no account email; Google verifies its own
ACCOUNT_SESSION_REMEMBER = False  # sessions end with the browser, or after SESSION_COOKIE_AGE
ACCOUNT_LOGOUT_REDIRECT_URL = LOGIN_URL
ACCOUNT_RATE_LIMITS = {"login": "30/m/ip", "login_failed": "10/m/ip,5/300s/key"}
# BATON_PASSWORD_LOGIN=0 leaves Google as the only way in (the admin login included).
SOCIALACCOUNT_ONLY = not env.bool("BATON_PASSWORD_LOGIN", default=True)
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# A Google login whose verified email is an existing user's logs in as that user.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
# Google Workspace domains allowed to log in ("example.com,example.org"); empty: any Google account.
BATON_ALLOWED_EMAIL_DOMAINS = [
    domain.strip().lower().lstrip("@")
    for domain in env.list("BATON_ALLOWED_EMAIL_DOMAINS", default=[])
    if domain.strip()
]
_GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
# `hd` only pre-selects the domain on Google's page (the adapter enforces it);
# Google takes a single domain there.
_GOOGLE_AUTH_PARAMS = {"prompt": "select_account"}
if len(BATON_ALLOWED_EMAIL_DOMAINS) == 1:
    _GOOGLE_AUTH_PARAMS["hd"] = BATON_ALLOWED_EMAIL_DOMAINS[0]
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        # From the environment, not a SocialApp row; no client id: no Google button.
        "APPS": [
            {"client_id": _GOOGLE_CLIENT_ID, "secret": env.str("GOOGLE_CLIENT_SECRET", default="")}
        ]
        if _GOOGLE_CLIENT_ID
        else [],
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": _GOOGLE_AUTH_PARAMS,
        "OAUTH_PKCE_ENABLED": True,
    }
}

# --- Runs / engine ----------------------------------------------------------------------------
# Worker threads of `manage.py up` (the embedded worker); `runworker` has its own options.
BATON_WORKER_THREADS = env.int("BATON_WORKER_THREADS", default=4)
# How long (ms) an idle Redis consumer may sleep between polls: bounds the latency of
# the first task after a quiet spell (Dramatiq's default is 1000).
BATON_WORKER_POLL_MS = env.int("BATON_WORKER_POLL_MS", default=50)
# Seconds between heartbeats of running task runs (the scheduler detects dead workers by them).
BATON_HEARTBEAT_INTERVAL = env.float("BATON_HEARTBEAT_INTERVAL", default=5.0)
# Seconds between checks for cancelled runs, and between flushes of running tasks' logs.
BATON_CANCEL_CHECK_INTERVAL = env.float("BATON_CANCEL_CHECK_INTERVAL", default=0.5)
BATON_LOG_FLUSH_INTERVAL = env.float("BATON_LOG_FLUSH_INTERVAL", default=0.5)
# A shell task being stopped gets SIGTERM, then SIGKILL after this many seconds.
BATON_KILL_GRACE_SECONDS = env.float("BATON_KILL_GRACE_SECONDS", default=5.0)
BATON_TASK_LOG_MAX_BYTES = env.int("BATON_TASK_LOG_MAX_BYTES", default=5 * 1024 * 1024)
BATON_TASK_RESULT_MAX_BYTES = env.int("BATON_TASK_RESULT_MAX_BYTES", default=1024 * 1024)

# --- Notifications (runs.notifications) ---------------------------------------------------
# The address people reach Baton at: messages link to runs under it.
BATON_SITE_URL = env.str("BATON_SITE_URL", default="http://127.0.0.1:8000")
# A message that fails is tried again after 30 s, 60 s, 120 s… (at most an hour apart),
# BATON_NOTIFY_ATTEMPTS times in all, then marked failed with the server's last answer.
BATON_NOTIFY_ATTEMPTS = env.int("BATON_NOTIFY_ATTEMPTS", default=5)
BATON_NOTIFY_RETRY_DELAY = env.float("BATON_NOTIFY_RETRY_DELAY", default=30.0)
# How often each sender looks for due messages (one written in its own process goes at once).
BATON_NOTIFY_POLL_SECONDS = env.float("BATON_NOTIFY_POLL_SECONDS", default=1.0)
# A message claimed by a sender that died is taken over after this long.
BATON_NOTIFY_LEASE_SECONDS = env.int("BATON_NOTIFY_LEASE_SECONDS", default=120)
# E-mail: Django's settings, from the environment.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # a stuck mail server must not hold a sender
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Baton <baton@localhost>")
# The most instances one ``task.map(items)`` may make in a run (more fails that step, saying so).
BATON_MAX_MAP = env.int("BATON_MAX_MAP", default=10_000)

# --- Isolated task environments (tasks with requirements=) -------------------------------------
# One uv-built virtualenv per distinct set of requirements, shared by every task that needs it.
BATON_ENV_DIR = Path(env.str("BATON_ENV_DIR", default=str(VAR_DIR / "envs")))
# Where packages come from: a private index and/or a wheelhouse folder. With only
# BATON_PIP_FIND_LINKS set, packages come from the wheelhouse alone (no index is asked).
BATON_PIP_INDEX_URL = env.str("BATON_PIP_INDEX_URL", default="")
BATON_PIP_FIND_LINKS = env.str("BATON_PIP_FIND_LINKS", default="")
# `manage.py envs --prune` removes environments unused this long, then the least recently
# used ones while all of them take more than BATON_ENV_MAX_MB (0: no size bound).
BATON_ENV_MAX_AGE_DAYS = env.int("BATON_ENV_MAX_AGE_DAYS", default=30)
BATON_ENV_MAX_MB = env.int("BATON_ENV_MAX_MB", default=0)

# --- Container steps (container(...), the Docker Engine API; DOCKER_HOST is honoured) ---------
# The queue container steps go to unless they name one: `runworker --queues containers` on
# machines with Docker.
BATON_CONTAINER_QUEUE = env.str("BATON_CONTAINER_QUEUE", default="containers")
# A worker where no Docker daemon answers hands a container step's message back, to be
# delivered again after this many seconds (to a worker that has Docker, with luck).
BATON_CONTAINER_REFUSE_DELAY = env.float("BATON_CONTAINER_REFUSE_DELAY", default=10.0)

# --- Metrics (/metrics for Prometheus, runs/metrics/) ------------------------------------------
# Off unless one is set: a token scrapers send as "Authorization: Bearer <token>" (or
# BATON_METRICS_TOKEN_FILE), and/or the networks allowed to scrape without it.
BATON_METRICS_TOKEN = env.str("BATON_METRICS_TOKEN", default="")
BATON_METRICS_ALLOWED_NETWORKS = env.list("BATON_METRICS_ALLOWED_NETWORKS", default=[])
# A scrape is answered from a snapshot shared by the web processes (the cache); one older than
# this (s) is recomputed in the background for the next scrape (0: every scrape waits for it).
BATON_METRICS_MAX_AGE = env.float("BATON_METRICS_MAX_AGE", default=10.0)
try:
    parse_networks(BATON_METRICS_ALLOWED_NETWORKS, setting="BATON_METRICS_ALLOWED_NETWORKS")
except BadNetworkSetting as exc:
    sys.exit(f"Baton: {exc}")
