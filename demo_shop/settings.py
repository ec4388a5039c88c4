"""Settings of the demo shop.

Embedded default: SQLite, local-memory cache, Celery tasks run eagerly in the web process.
``DATABASE_URL`` switches the database (PostgreSQL); ``REDIS_URL`` switches the cache to
django-redis, the event buffer to a Redis list, and Celery to Redis (broker and result backend)
with real workers.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "demo-only-insecure-key-change-me")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "personalization",
    "demo_shop.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "personalization.middleware.TrackingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_shop.urls"

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
                "demo_shop.shop.context_processors.shop",
                "personalization.context_processors.personalization",
            ],
        },
    },
]

WSGI_APPLICATION = "demo_shop.wsgi.application"
ASGI_APPLICATION = "demo_shop.asgi.application"

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "demo"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Room for a visit state per active visitor and a path -> product answer per
            # product page: at the default 300 entries both are evicted long before they expire.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_TIMEZONE = "UTC"
# A worker keeps its database connection across tasks (Celery closes it after every task by
# default): the event flush runs every few seconds, and a new PostgreSQL connection costs more
# CPU than a flush of a few hundred events.
CELERY_DB_REUSE_MAX = 1000

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "shop:login"
LOGIN_REDIRECT_URL = "shop:account"
LOGOUT_REDIRECT_URL = "shop:home"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "personalization API",
    "DESCRIPTION": "Event ingest, consent and recommendations for Django stores.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

PERSONALIZATION = {
    "STORE_ADAPTER": "demo_shop.shop.adapter.ShopAdapter",
}
if REDIS_URL:
    PERSONALIZATION["EVENT_BUFFER"] = "personalization.tracking.buffer.RedisBuffer"

CELERY_BEAT_SCHEDULE = {
    # Bulk-write the buffered events every BUFFER_FLUSH_INTERVAL seconds (the app's default: 5).
    "personalization-flush-events": {
        "task": "personalization.flush_events",
        "schedule": PERSONALIZATION.get("BUFFER_FLUSH_INTERVAL", 5.0),
    },
    # Retention (EVENT_RETENTION_DAYS): fold old events into the daily aggregates and delete them,
    # then the sessions and visitors with nothing left.
    "personalization-purge-expired-events": {
        "task": "personalization.purge_expired_events",
        "schedule": crontab(hour=3, minute=15),
    },
    "personalization-purge-expired-sessions": {
        "task": "personalization.purge_expired_sessions",
        "schedule": crontab(hour=3, minute=45),
    },
    # The consent log's retention (CONSENT_LOG_RETENTION_DAYS); each subject's latest record stays.
    "personalization-purge-consent-log": {
        "task": "personalization.purge_consent_log",
        "schedule": crontab(hour=4, minute=15),
    },
    # Dynamic segments whose time windows ran out while their members were away (high intent).
    "personalization-recheck-dynamic-segments": {
        "task": "personalization.recheck_dynamic_segments",
        "schedule": 5 * 60,
    },
    # Rebuild the profiles, RFM segments, clusters, propensity scores and static segments.
    "personalization-build-segments": {
        "task": "personalization.build_segments",
        "schedule": crontab(hour=1, minute=30),
    },
    # Retrain the recommenders and refresh their precomputed lists (before the morning traffic).
    "personalization-train-recommenders": {
        "task": "personalization.train_recommenders",
        "schedule": crontab(hour=2, minute=30),
    },
    # Recommendation impressions wait in a buffer beside the events'; written on the same rhythm.
    "personalization-flush-recommendation-impressions": {
        "task": "personalization.flush_recommendation_impressions",
        "schedule": PERSONALIZATION.get("BUFFER_FLUSH_INTERVAL", 5.0),
    },
    # Purchases after clicks on recommendations, attributed to placement, kind and version.
    "personalization-attribute-recommendation-conversions": {
        "task": "personalization.attribute_recommendation_conversions",
        "schedule": 10 * 60,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"personalization": {"handlers": ["console"], "level": "INFO"}},
}
