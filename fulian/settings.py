"""Settings, read only from environment variables (DESIGN.md §5).

FULIAN_DATA_DIR        where the SQLite file and generated secrets live (default ./var)
FULIAN_DATABASE_URL    sqlite:///path or postgresql://user@host:port/db (default: SQLite under the data dir)
FULIAN_SECRET_KEY      or FULIAN_SECRET_KEY_FILE; generated into the data dir on first run if absent
FULIAN_DATA_KEY        or FULIAN_DATA_KEY_FILE: the key of sensitive people data (docs/sensitive-data.md);
                       generated into the data dir on first run if absent; FULIAN_DATA_KEYS_OLD: old keys, comma-sep.
FULIAN_DEBUG           1/0 (default 0)
FULIAN_ALLOWED_HOSTS   comma-separated (default localhost,127.0.0.1)
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    if value is None:
        file_name = os.environ.get(f"{name}_FILE")
        if file_name:
            return Path(file_name).read_text(encoding="utf-8").strip()
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name, "1" if default else "0").strip().lower()
    return value in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DATA_DIR = Path(env_str("FULIAN_DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_from_data_dir(file_name: str, nbytes: int = 50) -> str:
    path = DATA_DIR / file_name
    if not path.exists():
        try:  # created 0600 from the start; if another process won the race, read its file
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(secrets.token_urlsafe(nbytes))
        except FileExistsError:
            pass
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = env_str("FULIAN_SECRET_KEY") or _secret_from_data_dir("secret_key")
# Sensitive people data (fulian/lib/sensitive.py): current key first, then old keys still needed for decryption
# until `fulian rotate_data_key` has re-encrypted everything. 32 random bytes, base64url; never in the database.
DATA_KEYS = [env_str("FULIAN_DATA_KEY") or _secret_from_data_dir("data_key", nbytes=32)]
DATA_KEYS += env_list("FULIAN_DATA_KEYS_OLD", "")
DEBUG = env_bool("FULIAN_DEBUG")
ALLOWED_HOSTS = env_list("FULIAN_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "fulian.audit",
    "fulian.orgs",
    "fulian.accounts",
    "fulian.files",
    "fulian.throttle",
    "fulian.notify",
    "fulian.ledger",
    "fulian.supervision",
    "fulian.cases",
    "fulian.rectify",
    "fulian.voice",
    "fulian.portal",
    "fulian.reports",
    "fulian.api",
    "fulian.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fulian.audit.context.AuditContextMiddleware",
    "fulian.accounts.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fulian.urls"
WSGI_APPLICATION = "fulian.wsgi.application"

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
                "fulian.accounts.context_processors.memberships",
            ],
            "builtins": ["fulian.orgs.templatetags.fulian_tags"],
        },
    }
]

_default_db = f"sqlite:///{DATA_DIR / 'fulian.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("FULIAN_DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, plus the planner's statistics kept up to date (PRAGMA optimize on close)
    DATABASES["default"]["ENGINE"] = "fulian.lib.sqlite"
    # tests in memory, one database per process, as Django does for its own SQLite engine (pytest-django
    # recognises that engine by name only and would otherwise give each xdist worker a file next to NAME)
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:  # PostgreSQL
    _pg: dict = {}
    if not env_bool("FULIAN_DB_JIT"):
        # JIT compilation pays off for long analytic scans, not for this workload: it starts on a statement's
        # estimated cost, and a province-wide statistic then spends ~2 s compiling before it reads a row
        # (docs/performance.md, "Reports at province scale"). Off unless FULIAN_DB_JIT=1.
        _pg["options"] = "-c jit=off"
    if env_bool("FULIAN_DB_PREPARED_STATEMENTS"):
        # parameters bound on the server and statements run 5 times prepared on the connection — the server
        # skips parsing and, once it settles on a generic plan, planning them (an API intake: PostgreSQL's CPU
        # -35 to -45 %, docs/performance.md "Intake throughput (session 9)"). Opt-in, because a generic plan does
        # not know how many rows a path range holds: with it on, the hand-written statistics of the reports
        # benchmark went from 6 to 230 ms for a village; planning every execution (plan_cache_mode =
        # force_custom_plan) removes the risk and the gain alike. The whole suite passes with it on. It needs a
        # pooler that tracks prepared statements (PgBouncer 1.21+), and server-side binding rejects a query that
        # repeats one parameterised expression in SELECT and GROUP BY (group by position instead).
        _pg.update(server_side_binding=True, prepare_threshold=5)
    DATABASES["default"]["OPTIONS"] = _pg
# the hot path's fixed statements (fulian.lib.lean.cursor: token, the intake's unit, categories and calendar, its
# inserts, the audit head) prepared on PostgreSQL: their plans do not depend on their values. 0: behind a pooler
# that does not track prepared statements (PgBouncer in transaction mode before 1.21).
DB_PREPARE_HOT = env_bool("FULIAN_DB_PREPARE_HOT", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["fulian.accounts.backends.UsernameOrMobileBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "fulian.accounts.validators.LettersAndDigitsValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Idle expiry: the cookie lives 30 minutes and every request renews it.
SESSION_COOKIE_AGE = int(env_str("FULIAN_SESSION_IDLE_SECONDS", "1800"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("FULIAN_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Lockout: 5 failed sign-ins in 15 minutes, per account and per IP.
LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
TRUST_X_REAL_IP = env_bool("FULIAN_TRUST_X_REAL_IP")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPORT_MAX_BYTES = 20 * 1024 * 1024

# Uploaded files (fulian/files). Never served under MEDIA_URL: each owning app serves them through its own
# access-checked view; MEDIA_URL exists only because Django's storage wants one.
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media-not-served/"

# Ledger periods (fulian/ledger/periods.py): on-time window and lock, in days after the month ends.
LEDGER_TIMELY_DAYS = int(env_str("FULIAN_LEDGER_TIMELY_DAYS", "5"))
LEDGER_LOCK_DAYS = int(env_str("FULIAN_LEDGER_LOCK_DAYS", "15"))

# E-mail copies of in-app notifications (fulian/notify): off unless FULIAN_EMAIL_HOST is set. Django 6.1 mailers.
_email_host = env_str("FULIAN_EMAIL_HOST")
NOTIFY_EMAIL = bool(_email_host)
NOTIFY_SITE_URL = env_str("FULIAN_SITE_URL")  # e.g. https://fulian.example.gov.cn, for links in e-mails
DEFAULT_FROM_EMAIL = env_str("FULIAN_EMAIL_FROM", "noreply@localhost")
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _email_host,
            "port": int(env_str("FULIAN_EMAIL_PORT", "25")),
            "username": env_str("FULIAN_EMAIL_USER"),
            "password": env_str("FULIAN_EMAIL_PASSWORD"),
            "use_tls": env_bool("FULIAN_EMAIL_TLS"),
            "timeout": 10,
        },
    }
    if _email_host
    else {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "fulian.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "fulian.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fulian API (妇联工作平台)",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("FULIAN_LOG_LEVEL", "WARNING")},
    "loggers": {
        # 404s for out-of-scope objects are expected and audited; don't spam the console.
        "django.request": {"level": "ERROR"},
    },
}
