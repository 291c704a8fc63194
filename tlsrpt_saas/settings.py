"""Settings, every value from the environment (see the README's configuration table).

With nothing set the project still runs for a newcomer: SQLite and a filesystem Celery
broker under ``var/``, console email, and a development secret key (only with DEBUG on).
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp import constants as csp

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def env_bool(name: str, *, default: bool) -> bool:
    """The boolean variable ``name``: true/false, 1/0, yes/no or on/off, in any case.

    Unset or empty gives ``default``; anything else stops start-up. django-environ's
    ``env.bool`` reads every unknown word as false, so ``SECURE_COOKIES=ture`` turned
    secure cookies off without a word.
    """
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE + _FALSE:
        return value in _TRUE
    raise environ.ImproperlyConfigured(
        f"{name}={os.environ[name]!r} is not a boolean: use true or false (or 1/0, yes/no, on/off)."
    )


DEBUG = env_bool("DEBUG", default=False)
_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for a development key).")
# The values shipped in docker/.env.example and the development key sign nothing safely:
# a copied example must not reach production unnoticed.
if not DEBUG and (SECRET_KEY.startswith("change-me") or SECRET_KEY == _DEV_SECRET_KEY):
    raise environ.ImproperlyConfigured(
        "SECRET_KEY is still a placeholder: set a long random one, e.g. from "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The product's name where it signs (allauth's e-mails: accounts.adapter).
PRODUCT_NAME = "TLS-RPT"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
INBOUND_DOMAIN = env.str("INBOUND_DOMAIN", default="reports.localhost").lower()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "domains",
    "reports",
]

MIDDLEWARE = [
    "tlsrpt_saas.client_address.ClientAddressMiddleware",  # first: all see the sender's address
    # Before the Host check and cookies: answers mta-sts.<domain> and Caddy's TLS ask.
    "domains.hosting.serving.HostedPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tlsrpt_saas.middleware.AdminScopesDisabledMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tlsrpt_saas.urls"
WSGI_APPLICATION = "tlsrpt_saas.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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
                "accounts.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # The web server, two worker processes, beat and the SMTP door all write: each
    # transaction takes the write lock at its start and waits up to 20 s for it, instead
    # of failing with "database is locked" when two try to upgrade a read at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No JIT compilation: the pages' and the API's queries run in milliseconds, but one
    # that joins through the monthly partitions (reports.ingest.partitions) is costed
    # for every month, past the default jit_above_cost, and compiling took ~65 ms for a
    # 10 ms query (the failures CSV and the API's failure list at 100 M failure details).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Every Django form renders with Bootstrap's markup (allauth's included).
FORM_RENDERER = "tlsrpt_saas.forms.BootstrapFormRenderer"

# Accounts: django-allauth with its MFA module. Email is the login; it must be verified.
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[TLS-RPT] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https://") else "http"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("ACCOUNT_REAUTHENTICATION_TIMEOUT", default=300)
# Counted in the shared cache (Redis when REDIS_URL is set): 10 failed logins a minute
# from one address, then refused.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="TLS-RPT")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
INVITATION_MAX_AGE = timedelta(days=env.int("INVITATION_MAX_AGE_DAYS", default=7))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# Our wording of allauth's entrance pages (locale/en: "Log in", "Sign up").
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Email: console by default so a newcomer sees what would be sent.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"TLS-RPT <noreply@{INBOUND_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Production hardening; `manage.py check --deploy` passes with DEBUG off and HTTPS SITE_URL.
_HTTPS = SITE_URL.startswith("https://")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies in front of gunicorn (Caddy), as addresses or networks: only from these is
# X-Forwarded-For believed (tlsrpt_saas.client_address). Empty: no proxy is trusted.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# allauth's rate limits read REMOTE_ADDR, which that middleware has already made the
# sender's; counting X-Forwarded-For hops again here would make the two disagree.
ALLAUTH_TRUSTED_PROXY_COUNT = 0
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=_HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = _HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy on every response (django-csp), enforced: scripts only from our
# own static files (no inline script, no eval), so a value that slips into a page cannot
# run. Styles likewise: no style attributes or <style> blocks in our templates.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF],
        "font-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
    }
}

# DNS: the resolver every DNS lookup (DKIM keys, verification, health checks) goes through.
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])  # empty: the system's resolv.conf
DNS_PORT = env.int("DNS_PORT", default=53)
DNS_TIMEOUT = env.float("DNS_TIMEOUT", default=5.0)
# Health checks look at no more MX hosts than this (each costs TLSA queries).
DNS_MAX_MX_HOSTS = env.int("DNS_MAX_MX_HOSTS", default=10)
# Checks a tenant may start by hand per hour (the daily ones do not count).
DNS_MANUAL_CHECKS_PER_HOUR = env.int("DNS_MANUAL_CHECKS_PER_HOUR", default=30)
# A verified domain whose ownership record is definitively gone this long is unverified.
DOMAIN_UNVERIFY_AFTER_DAYS = env.int("DOMAIN_UNVERIFY_AFTER_DAYS", default=7)
# Every connection made on a tenant's behalf (MTA-STS fetch, IMAP mailboxes, ...) reaches
# public addresses only (tlsrpt_saas.outbound), except those listed here: for tests only.
OUTBOUND_ALLOWED_ADDRESSES = env.list("OUTBOUND_ALLOWED_ADDRESSES", default=[])
# Fetching MTA-STS policies (RFC 8461 §3.3): one deadline for the whole fetch, and the
# size limit. Never to private or loopback addresses, except those listed in
# MTA_STS_ALLOWED_ADDRESSES (its older name, for the fetch alone; tests only), on
# MTA_STS_PORT, trusting MTA_STS_CA_FILE (a PEM bundle; empty: the system's CAs).
MTA_STS_TIMEOUT = env.float("MTA_STS_TIMEOUT", default=15.0)
MTA_STS_MAX_BYTES = env.int("MTA_STS_MAX_BYTES", default=65536)
MTA_STS_PORT = env.int("MTA_STS_PORT", default=443)
MTA_STS_CA_FILE = env.str("MTA_STS_CA_FILE", default="")
MTA_STS_ALLOWED_ADDRESSES = env.list(
    "MTA_STS_ALLOWED_ADDRESSES", default=OUTBOUND_ALLOWED_ADDRESSES
)
# Live TLS probes of MX hosts (domains.probes): SMTP on MX_PROBE_PORT (25; another port in
# tests), one deadline (seconds) for a whole probe, the EHLO name (by default SITE_URL's
# host name), and at most one probe per MX host this often, shared by every tenant.
MX_PROBE_PORT = env.int("MX_PROBE_PORT", default=25)
MX_PROBE_DEADLINE = env.float("MX_PROBE_DEADLINE", default=20.0)
MX_PROBE_HELO = env.str(
    "MX_PROBE_HELO", default=SITE_URL.split("://", 1)[-1].split("/")[0].split(":")[0]
)
MX_PROBE_INTERVAL_MINUTES = env.int("MX_PROBE_INTERVAL_MINUTES", default=60)
# Outbound webhooks (reports.webhooks): HTTPS only, verified against the system's CAs or
# the PEM bundle WEBHOOKS_CA_FILE; WEBHOOKS_ALLOW_HTTP lets tenants use plain http:// URLs.
WEBHOOKS_ALLOW_HTTP = env_bool("WEBHOOKS_ALLOW_HTTP", default=False)
WEBHOOKS_CA_FILE = env.str("WEBHOOKS_CA_FILE", default="")
# One deadline (seconds) for a whole delivery attempt: connect, TLS, request and answer.
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=10.0)
# Delivered and failed webhook deliveries are kept in the log this many days.
WEBHOOKS_LOG_DAYS = env.int("WEBHOOKS_LOG_DAYS", default=30)

# Hosted MTA-STS (domains.hosting): policies served at mta-sts.<domain> for verified
# domains, behind Caddy's on-demand TLS, whose certificates come from the ACME directory
# ACME_DIRECTORY_URL (contact ACME_EMAIL). Customers point mta-sts.<domain> (CNAME) at
# HOSTED_MTA_STS_TARGET, by default SITE_URL's host name.
HOSTED_MTA_STS = env_bool("HOSTED_MTA_STS", default=True)
HOSTED_MTA_STS_TARGET = env.str(
    "HOSTED_MTA_STS_TARGET", default=SITE_URL.split("://", 1)[-1].split("/")[0].split(":")[0]
)
ACME_DIRECTORY_URL = env.str(
    "ACME_DIRECTORY_URL", default="https://acme-v02.api.letsencrypt.org/directory"
)
ACME_EMAIL = env.str("ACME_EMAIL", default="")
# Hosted _mta-sts TXT records (domains.hosting.dns_zone): customers may CNAME
# _mta-sts.<domain> to a name in HOSTED_DNS_ZONE, which our PowerDNS (compose profile
# `dns`) answers from PostgreSQL; empty, or on SQLite, only customers publish the record.
# HOSTED_DNS_NAMESERVERS: the zone's NS host names (the first one also in its SOA).
HOSTED_DNS_ZONE = env.str("HOSTED_DNS_ZONE", default="").strip().rstrip(".").lower()
HOSTED_DNS_NAMESERVERS = [
    name.strip().rstrip(".").lower() for name in env.list("HOSTED_DNS_NAMESERVERS", default=[])
]

# Alerts: an alert closed and reopened within this many hours is not emailed again; an
# MTA-STS policy in mode testing this many days raises one.
ALERT_EMAIL_COOLDOWN_HOURS = env.int("ALERT_EMAIL_COOLDOWN_HOURS", default=24)
ALERT_STS_TESTING_DAYS = env.int("ALERT_STS_TESTING_DAYS", default=30)

# The MTA-STS enforcement loop (reports.enforcement, opt-in per hosted domain): promoted
# to enforce with the first max_age of the ramp, then the next once the current one has
# fully elapsed, up to the target; rolled back to testing when on a day the sts failure
# rate reaches MTA_STS_ROLLBACK_RATE over at least MTA_STS_ROLLBACK_MIN_SESSIONS sessions.
MTA_STS_RAMP_MAX_AGES = env.list("MTA_STS_RAMP_MAX_AGES", cast=int, default=[86400, 604800])
MTA_STS_TARGET_MAX_AGE = env.int("MTA_STS_TARGET_MAX_AGE", default=2592000)
MTA_STS_ROLLBACK_RATE = env.float("MTA_STS_ROLLBACK_RATE", default=0.01)
MTA_STS_ROLLBACK_MIN_SESSIONS = env.int("MTA_STS_ROLLBACK_MIN_SESSIONS", default=100)

# Pending domains' ownership records are looked up again this often (minutes).
DOMAIN_VERIFY_INTERVAL_MINUTES = env.int("DOMAIN_VERIFY_INTERVAL_MINUTES", default=15)

# The SMTP door (manage.py inbound_smtp): where it listens, LMTP behind a mail server,
# STARTTLS with this certificate and key (PEM files) when set.
INBOUND_SMTP_HOST = env.str("INBOUND_SMTP_HOST", default="127.0.0.1")
INBOUND_SMTP_PORT = env.int("INBOUND_SMTP_PORT", default=2525)
INBOUND_SMTP_LMTP = env_bool("INBOUND_SMTP_LMTP", default=False)
INBOUND_SMTP_TLS_CERT = env.str("INBOUND_SMTP_TLS_CERT", default="")
INBOUND_SMTP_TLS_KEY = env.str("INBOUND_SMTP_TLS_KEY", default="")
# The HTTPS door: reports a tenant's URL accepts per minute.
TLSRPT_HTTPS_RATE_PER_MINUTE = env.int("TLSRPT_HTTPS_RATE_PER_MINUTE", default=600)
# The self-test (reports.selftest) sends its report to the SMTP door at this address (by
# default the door's own, loopback when it listens on every address; LMTP to an LMTP
# door's own port), and when asked posts it to the HTTPS door under this URL (SITE_URL).
SELF_TEST_SMTP_HOST = env.str(
    "SELF_TEST_SMTP_HOST",
    default="127.0.0.1" if INBOUND_SMTP_HOST in ("", "0.0.0.0", "::") else INBOUND_SMTP_HOST,  # noqa: S104
)
SELF_TEST_SMTP_PORT = env.int("SELF_TEST_SMTP_PORT", default=INBOUND_SMTP_PORT)
SELF_TEST_HTTPS_URL = env.str("SELF_TEST_HTTPS_URL", default=SITE_URL).rstrip("/")
SELF_TEST_HTTPS_CA_FILE = env.str("SELF_TEST_HTTPS_CA_FILE", default="")
SELF_TEST_TIMEOUT = env.float("SELF_TEST_TIMEOUT", default=10.0)
SELF_TEST_PER_HOUR = env.int("SELF_TEST_PER_HOUR", default=10)

# IMAP mailboxes: how often each active one is polled (minutes); mailbox passwords are
# encrypted with FIELD_ENCRYPTION_KEYS (Fernet keys, newest first; see reports/secrets.py).
MAILBOX_POLL_INTERVAL_MINUTES = env.int("MAILBOX_POLL_INTERVAL_MINUTES", default=5)
MAILBOX_TIMEOUT = env.float("MAILBOX_TIMEOUT", default=30.0)
# Ports a mailbox may use (993: TLS, 143: STARTTLS); others only when listed here.
IMAP_ALLOWED_PORTS = [int(port) for port in env.list("IMAP_ALLOWED_PORTS", default=[993, 143])]
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# Report ingestion limits (reports.tlsrpt.Limits).
TLSRPT_MAX_MESSAGE_BYTES = env.int("TLSRPT_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)
TLSRPT_MAX_DECOMPRESSED_BYTES = env.int("TLSRPT_MAX_DECOMPRESSED_BYTES", default=50 * 1024 * 1024)
TLSRPT_MAX_MIME_PARTS = env.int("TLSRPT_MAX_MIME_PARTS", default=1000)
TLSRPT_MAX_JSON_DEPTH = env.int("TLSRPT_MAX_JSON_DEPTH", default=32)
TLSRPT_MAX_FAILURE_DETAILS = env.int("TLSRPT_MAX_FAILURE_DETAILS", default=100_000)
TLSRPT_VERIFY_DKIM = env_bool("TLSRPT_VERIFY_DKIM", default=True)
# Limits on the doors strangers reach (SMTP and the HTTPS URL; not IMAP or upload, which
# the tenant stands behind), in reports.inbound.quotas; 0 turns one off. Per tenant and
# UTC day across both doors: messages and bytes stored. Per SMTP client address (an IPv6
# /64): connections a minute, connections open at once, messages an hour. Per message:
# recipients. Past one, SMTP answers 421/451/452 and HTTPS 429, so real senders retry.
INBOUND_TENANT_DAILY_MESSAGES = env.int("INBOUND_TENANT_DAILY_MESSAGES", default=2000)
INBOUND_TENANT_DAILY_BYTES = env.int("INBOUND_TENANT_DAILY_BYTES", default=200 * 1024 * 1024)
INBOUND_SMTP_CONNECTIONS_PER_MINUTE = env.int("INBOUND_SMTP_CONNECTIONS_PER_MINUTE", default=60)
INBOUND_SMTP_CONCURRENT_CONNECTIONS = env.int("INBOUND_SMTP_CONCURRENT_CONNECTIONS", default=10)
INBOUND_SMTP_MESSAGES_PER_HOUR = env.int("INBOUND_SMTP_MESSAGES_PER_HOUR", default=1000)
INBOUND_SMTP_MAX_RECIPIENTS = env.int("INBOUND_SMTP_MAX_RECIPIENTS", default=10)
# Processing (reports.ingest): a drain claims waiting messages in batches of at most this
# many messages and bytes, and runs for this long before handing over to a new drain.
INGEST_BATCH_SIZE = env.int("INGEST_BATCH_SIZE", default=100)
INGEST_BATCH_BYTES = env.int("INGEST_BATCH_BYTES", default=256 * 1024)
INGEST_DRAIN_SECONDS = env.int("INGEST_DRAIN_SECONDS", default=60)
# How long the "a drain is queued" flag lasts if its task is lost (reports.ingest.wake).
INGEST_WAKE_SECONDS = env.int("INGEST_WAKE_SECONDS", default=10)
# Retention (reports.ingest.retention), in days; 0 keeps for ever. The daily rollups are kept.
INBOUND_RETENTION_DAYS = env.int("INBOUND_RETENTION_DAYS", default=90)
REPORT_RETENTION_DAYS = env.int("REPORT_RETENTION_DAYS", default=730)
DNS_CHECK_RETENTION_DAYS = env.int("DNS_CHECK_RETENTION_DAYS", default=90)
# One purge task runs this long at most, then hands over to another a minute later.
RETENTION_PURGE_SECONDS = env.int("RETENTION_PURGE_SECONDS", default=120)

# Celery: Redis when REDIS_URL is set, else kombu's filesystem transport under var/.
_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    # Unacknowledged tasks of a worker that died come back after the visibility timeout;
    # retries and time limits stay well under it so a running task is never handed out twice.
    _VISIBILITY = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _VISIBILITY,
        "unacked_restore_interval": max(1, min(10, _VISIBILITY // 4)),
        "unacked_restore_throttle": 1,
    }
else:
    # The no-configuration fallback: kombu's filesystem transport needs its folders.
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    # The host is unused; naming it keeps kombu from warning on every command.
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "reports.tasks.*": {"queue": "ingest"},
    "domains.tasks.*": {"queue": "dns"},
    "reports.alert_tasks.*": {"queue": "mail"},
    "reports.digest_tasks.*": {"queue": "mail"},
    "reports.retention_tasks.*": {"queue": "default"},
    "reports.webhooks.send_disabled_email": {"queue": "mail"},
    "reports.webhooks.*": {"queue": "webhooks"},
    "reports.enforcement.send_change_email": {"queue": "mail"},
    "reports.enforcement.*": {"queue": "default"},
    "reports.metrics.*": {"queue": "default"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup otherwise closes the database connection around every task (a
# new connection per report); tlsrpt_saas.celery applies CONN_MAX_AGE after each task.
CELERY_DB_REUSE_MAX = 1000
# The beat schedule: every periodic job, with why it runs when it does.
CELERY_BEAT_SCHEDULE = {
    # Messages stuck in "received" (queue lost, broker flushed) are queued again.
    "requeue-stale-inbound": {
        "task": "reports.tasks.requeue_stale_inbound",
        "schedule": 600.0,
    },
    # Messages stored while the broker was down: queued as soon as it is back.
    "queue-unqueued-inbound": {
        "task": "reports.tasks.queue_unqueued_inbound",
        "schedule": 60.0,
    },
    # Every active IMAP mailbox is polled (one task each, on the ingest queue).
    "poll-mailboxes": {
        "task": "reports.tasks.poll_mailboxes",
        "schedule": 60.0 * MAILBOX_POLL_INTERVAL_MINUTES,
    },
    # Domains waiting for their ownership record are checked again, so a tenant who
    # published it and walked away finds the domain verified.
    "check-pending-domains": {
        "task": "domains.tasks.check_pending_domains",
        "schedule": 60.0 * DOMAIN_VERIFY_INTERVAL_MINUTES,
    },
    # DNS health of every verified domain, daily: each domain has a 15-minute slot of
    # the day (its id modulo 96), so checks are spread over the day, not bunched.
    "queue-health-checks": {
        "task": "domains.tasks.queue_health_checks",
        "schedule": 60.0 * 15,
    },
    # Alerts are evaluated hourly, so one opens within the hour a report shows the
    # problem or a DNS check finds it (and resolves as soon as it clears).
    "evaluate-alerts": {
        "task": "reports.alert_tasks.evaluate_alerts",
        "schedule": 3600.0,
    },
    # Weekly digests, hourly: each tenant's digest is due from 07:00 on its digest day in
    # its own time zone, which falls in a different UTC hour for each zone. Tenants whose
    # digest of the week is already being sent are skipped; the delivery rows stop doubles.
    "weekly-digests": {
        "task": "reports.digest_tasks.queue_weekly_digests",
        "schedule": 3600.0,
    },
    # What is past its retention (reports.ingest.retention) is deleted daily; a purge that runs
    # out of time goes on a minute later.
    "purge-expired": {
        "task": "reports.retention_tasks.purge_expired_rows",
        "schedule": 86400.0,
    },
    # The raw tables' monthly partitions (PostgreSQL, reports.ingest.partitions) are made
    # daily for this month and three ahead, so a new day's rows never wait for one.
    "ensure-partitions": {
        "task": "reports.retention_tasks.ensure_partitions",
        "schedule": 86400.0,
    },
    # Webhook deliveries whose retry came due, or whose task was lost (broker down, worker
    # killed), are queued: every 5 seconds, so the first retry (5 s) is not late by much.
    "sweep-webhook-deliveries": {
        "task": "reports.webhooks.sweep_deliveries",
        "schedule": 5.0,
    },
    # Webhook delivery logs past WEBHOOKS_LOG_DAYS are deleted daily.
    "purge-webhook-deliveries": {
        "task": "reports.webhooks.purge_deliveries",
        "schedule": 86400.0,
    },
    # The MTA-STS enforcement loop, hourly: a domain is promoted, ramped or rolled back
    # within the hour its reports (or the elapsed max_age) call for it; each step is
    # compare-and-set on the policy id, so a late or repeated run changes nothing twice.
    "mta-sts-enforcement-loop": {
        "task": "reports.enforcement.run_loop",
        "schedule": 3600.0,
    },
}

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_auth.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Throttles identify a client by REMOTE_ADDR, already the sender's (TRUSTED_PROXIES);
    # unset, DRF would take a client's own X-Forwarded-For as its identity.
    "NUM_PROXIES": 0,
}
# Requests per API key (or per person, with a session), e.g. 600/min; 429 beyond.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")
# The operators' Prometheus metrics at /metrics (reports.metrics): off (404) while empty;
# set, a scrape must send "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Age at which a tenant's kept /api/v1/metrics answer is refreshed by a task (0: not kept).
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=60)
SPECTACULAR_SETTINGS = {
    "TITLE": "TLS-RPT API",
    "DESCRIPTION": "A tenant's domains, reports and figures. Authenticate with an API key "
    "from the tenant's API keys page: `Authorization: Bearer <key>`. Errors are "
    '`{"error": {"code": ..., "message": ..., "fields": ...}}`.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
