"""Settings, read from the environment (twelve-factor style).

Required in production: DJANGO_SECRET_KEY (unless DJANGO_DEBUG is on). Everything else has a
safe default: SQLite in ECRCONTROL_DATA_DIR, or PostgreSQL through DATABASE_URL.
"""

import os
import re
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "secrets_app.apps.EcrcontrolAdminConfig",  # django.contrib.admin with our site (dashboard)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # REST API tokens (admin, or `manage.py apitoken`)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets, served by ecrcontrol itself (no CDN)
    "django_q",
    "secrets_app",
]
# The development stack (`make run`'s `runlocal`, `make cluster`'s `localcluster`) in a checkout;
# the image does not hold it.
if find_spec("devstack"):
    INSTALLED_APPS.append("devstack")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ecrcontrol.urls"
WSGI_APPLICATION = "ecrcontrol.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATA_DIR = Path(os.environ.get("ECRCONTROL_DATA_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,  # a restarted PostgreSQL: reconnect instead of failing on a dead socket
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and controller share the file: wait for locks instead of failing at once.
    # synchronous=NORMAL: in WAL mode a commit no longer waits for fsync (a power cut may lose the
    # last commits, never consistency); the mirror rows are rebuilt from the cluster anyway.
    # Connections are kept (DATABASE_CONN_MAX_AGE): opening one costs more than most queries.
    # cache_size: each thread's connection keeps its own page cache (SQLite's default 2 MiB); the
    # embedded default holds about 20 connections, up to 40 MiB once the file has grown. 512 KiB
    # each: other pages are read from the operating system's file cache.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-512;",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", DATA_DIR / "static"))
# gunicorn serves static files through WhiteNoise; in development straight from the apps.
WHITENOISE_USE_FINDERS = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The REST API (secrets_app/api): requests per user, e.g. "600/minute" (counted per web process).
ECRCONTROL_API_THROTTLE_RATE = os.environ.get("ECRCONTROL_API_THROTTLE_RATE", "600/minute")
if not re.fullmatch(r"[0-9]+/(second|minute|hour|day|[smhd])", ECRCONTROL_API_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"ECRCONTROL_API_THROTTLE_RATE={ECRCONTROL_API_THROTTLE_RATE!r} is not a rate: use requests per "
        "second, minute, hour or day, e.g. 600/minute."
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "ecrcontrol REST API",
    "DESCRIPTION": (
        "Query and manage AWSECRImagePullSecrets and ClusterAWSECRImagePullSecrets in every cluster "
        "ecrcontrol manages. Reads come from ecrcontrol's mirror of the clusters; writes go to the "
        "cluster (admission webhooks included) and answer with what it said."
    ),
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "PREPROCESSING_HOOKS": ["secrets_app.api.schema.only_the_api"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# django-q2: the ORM broker by default; REDIS_URL switches to Redis.
Q_CLUSTER = {
    "name": "ecrcontrol",
    # One worker by default: the ECR token cache is per process, so one worker means one ECR call
    # per identity and refresh. More workers scale writes but may each fetch a token.
    "workers": int(os.environ.get("ECRCONTROL_WORKERS", "1")),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 1,
    "catch_up": False,
    "orm": "default",
    "poll": 0.2,
    "save_limit": 500,
    # Not the default 500: a recycled worker process loses its ECR token cache (one more ECR call
    # and a rewrite of every status that reports the token) for no gain here.
    "recycle": 100_000,
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]

LOG_LEVEL = os.environ.get("ECRCONTROL_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "kubernetes": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# Sharing between processes (secrets_app/services/identity/sharing.py): a lock file per AWS identity, on a
# directory every worker and web process of this machine or pod sees.
ECRCONTROL_LOCK_DIR = Path(os.environ.get("ECRCONTROL_LOCK_DIR", DATA_DIR / "locks"))
# How long a worker waits for the Secret holding a token another worker has just fetched.
ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS = float(os.environ.get("ECRCONTROL_TOKEN_SHARE_WAIT_SECONDS", "3"))

# Client-side rate limit of each process's requests to each cluster's API server, as client-go's
# QPS and Burst (secrets_app/kube/ratelimit.py; watch streams are exempt). QPS 0: no limit.
_kube_qps = os.environ.get("ECRCONTROL_KUBE_QPS", "500")
_kube_burst = os.environ.get("ECRCONTROL_KUBE_BURST", "1000")
try:
    ECRCONTROL_KUBE_QPS, ECRCONTROL_KUBE_BURST = float(_kube_qps), int(_kube_burst)
except ValueError:
    ECRCONTROL_KUBE_QPS, ECRCONTROL_KUBE_BURST = -1.0, 0
if not (0 <= ECRCONTROL_KUBE_QPS < float("inf") and ECRCONTROL_KUBE_BURST >= 1):
    raise ImproperlyConfigured(
        f"ECRCONTROL_KUBE_QPS={_kube_qps!r}, ECRCONTROL_KUBE_BURST={_kube_burst!r}: use requests per "
        "second >= 0 (0: no client-side limit) and a whole number >= 1 (e.g. 500 and 1000)."
    )

# Refresh and retry (seconds unless said otherwise). See secrets_app/services/schedule.py.
ECRCONTROL_REFRESH_FRACTION = float(os.environ.get("ECRCONTROL_REFRESH_FRACTION", "0.5"))
if not 0.05 <= ECRCONTROL_REFRESH_FRACTION <= 0.95:
    raise ImproperlyConfigured(
        f"ECRCONTROL_REFRESH_FRACTION={ECRCONTROL_REFRESH_FRACTION} is out of range: use 0.05 to 0.95 "
        "(the share of a token's lifetime that may pass before it is refreshed)."
    )
ECRCONTROL_MIN_REFRESH_SECONDS = float(os.environ.get("ECRCONTROL_MIN_REFRESH_SECONDS", "60"))
ECRCONTROL_ASSUMED_TOKEN_LIFETIME_SECONDS = float(
    os.environ.get("ECRCONTROL_ASSUMED_TOKEN_LIFETIME_SECONDS", str(12 * 3600))
)
ECRCONTROL_BACKOFF_BASE_SECONDS = float(os.environ.get("ECRCONTROL_BACKOFF_BASE_SECONDS", "2"))
ECRCONTROL_BACKOFF_MAX_SECONDS = float(os.environ.get("ECRCONTROL_BACKOFF_MAX_SECONDS", "300"))
ECRCONTROL_PERMANENT_RETRY_SECONDS = float(os.environ.get("ECRCONTROL_PERMANENT_RETRY_SECONDS", "1800"))
# A reconcile that was handed to a worker and did not report back within this time (the worker
# died) is handed out again.
ECRCONTROL_RECONCILE_LEASE_SECONDS = float(os.environ.get("ECRCONTROL_RECONCILE_LEASE_SECONDS", "60"))
# The validating webhook's try of new credentials against ECR: one attempt, well inside the
# webhook configuration's timeoutSeconds (10).
ECRCONTROL_WEBHOOK_ECR_TIMEOUT_SECONDS = float(os.environ.get("ECRCONTROL_WEBHOOK_ECR_TIMEOUT_SECONDS", "4"))
# Credentials the validating webhook saw ECR accept are not tried again for this long
# (secrets_app/webhooks/verdicts.py); 0: try them on every create.
ECRCONTROL_WEBHOOK_VERDICT_SECONDS = float(os.environ.get("ECRCONTROL_WEBHOOK_VERDICT_SECONDS", "60"))
# Which resources may use the operator's own AWS identity (boto3's default chain: IRSA, EKS Pod
# Identity, instance profile, environment) when their spec.awsAccess names no credentials:
# "cluster" (default: ClusterAWSECRImagePullSecrets only, which only cluster admins create),
# "all" (AWSECRImagePullSecrets too), "off" (none).
ECRCONTROL_AMBIENT_CREDENTIALS = os.environ.get("ECRCONTROL_AMBIENT_CREDENTIALS", "cluster")
if ECRCONTROL_AMBIENT_CREDENTIALS not in ("off", "cluster", "all"):
    raise ImproperlyConfigured(
        f"ECRCONTROL_AMBIENT_CREDENTIALS={ECRCONTROL_AMBIENT_CREDENTIALS!r} is not one of off, cluster, all: "
        "say which resources may use the operator's own AWS identity."
    )
# "Refresh now" (dashboard and REST API): at most one manual refresh per access key and region
# in this many seconds, so that a click storm cannot exhaust the ECR quota.
ECRCONTROL_MANUAL_REFRESH_SECONDS = float(os.environ.get("ECRCONTROL_MANUAL_REFRESH_SECONDS", "60"))

# Leader election of the controller role (a coordination.k8s.io/v1 Lease; client-go's defaults).
# Only the holder watches and enqueues; a standby takes over when the lease expires.
ECRCONTROL_LEADER_ELECTION = env_bool("ECRCONTROL_LEADER_ELECTION", True)
ECRCONTROL_LEADER_ELECTION_NAME = os.environ.get("ECRCONTROL_LEADER_ELECTION_NAME", "ecrcontrol-controller")
# Default: POD_NAMESPACE (the chart's downward API), else the service account's namespace.
ECRCONTROL_LEADER_ELECTION_NAMESPACE = os.environ.get(
    "ECRCONTROL_LEADER_ELECTION_NAMESPACE", os.environ.get("POD_NAMESPACE", "")
)
ECRCONTROL_LEADER_ELECTION_IDENTITY = os.environ.get("ECRCONTROL_LEADER_ELECTION_IDENTITY", "")
# Timing (lease, renew deadline, retry period; the leader renews every retry period): client-go's
# 15/10/2 s where standby controllers take over (a failover within 15 s, 30 Lease writes a minute).
# The embedded default (ECRCONTROL_EMBEDDED=1: `make run`, the chart's single SQLite pod, replaced
# with the Recreate strategy) has no standby: 60/45/15 s, 4 writes a minute. A clean stop releases
# the Lease, so a restart leads at once; only after a crash does the next process wait out the
# 60 s lease (the Secrets it keeps are valid for hours).
_LEASE_TIMING = ("60", "45", "15") if env_bool("ECRCONTROL_EMBEDDED", False) else ("15", "10", "2")
ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS = float(
    os.environ.get("ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS") or _LEASE_TIMING[0]
)
ECRCONTROL_LEADER_ELECTION_RENEW_SECONDS = float(
    os.environ.get("ECRCONTROL_LEADER_ELECTION_RENEW_SECONDS") or _LEASE_TIMING[1]
)
ECRCONTROL_LEADER_ELECTION_RETRY_SECONDS = float(
    os.environ.get("ECRCONTROL_LEADER_ELECTION_RETRY_SECONDS") or _LEASE_TIMING[2]
)
if not (
    ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS
    > ECRCONTROL_LEADER_ELECTION_RENEW_SECONDS
    > ECRCONTROL_LEADER_ELECTION_RETRY_SECONDS
    > 0
):
    raise ImproperlyConfigured(
        "leader election needs ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS > ..._RENEW_SECONDS > "
        "..._RETRY_SECONDS > 0 (defaults 15, 10, 2; embedded 60, 45, 15): a leader must give up before its "
        "lease can expire."
    )
# /metrics, /healthz and /readyz over plain HTTP for the controller and worker roles, e.g. ":9090"
# (the web role serves them on its own HTTPS port, and on this one too if set). Empty: off.
ECRCONTROL_METRICS_BIND = os.environ.get("ECRCONTROL_METRICS_BIND", "")
