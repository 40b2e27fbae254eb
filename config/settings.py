"""One settings module, read from the environment.

Defaults work on a developer machine (local PostgreSQL with trust auth); production sets
DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL. Helpers fail loudly on malformed values.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must list addresses or CIDRs (10.0.0.0/8, ::1), got {item!r}") from exc
    return networks


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)


def secret_key() -> str:
    """DJANGO_SECRET_KEY; else the install's own key in .secret_key (made once by `make`, never committed);
    with debug on, a development key. Without debug and without a key of its own the site does not start:
    the key signs sessions and salts the stored client-address hashes, which a known key would make reversible.
    """
    if key := os.environ.get("DJANGO_SECRET_KEY", "").strip():
        return key
    key_file = Path(env_str("DJANGO_SECRET_KEY_FILE", str(BASE_DIR / ".secret_key")))
    if key_file.is_file() and (key := key_file.read_text().strip()):
        return key
    if DEBUG:
        return "dev-only-insecure-key-change-me-in-production-0123456789"
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set (nor DJANGO_SECRET_KEY_FILE / .secret_key): set it to a long random value, "
        "run `make` once (it creates .secret_key), or set DJANGO_DEBUG=1 on a development machine"
    )


SECRET_KEY = secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "directory",
    "public",
    "api",
    "exchange",
    "editorial",
]

MIDDLEWARE = [
    # Outermost: a view that cannot reach the database answers 503 "try again shortly", in the visitor's
    # language (after the replica middleware below has tried the primary).
    "public.unavailable.DatabaseUnavailableMiddleware",
    # First: which database this request reads from (the replica for anonymous public reads), for all that follows.
    "directory.routers.ReplicaMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every answer, cached pages included (directory/security.py).
    "directory.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A NUL character in the path or a parameter: a clear 400 (in the page's language) before any view.
    "directory.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETag from the content and 304 answers for anonymous pages.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor (TOTP).
    "django_otp.middleware.OTPMiddleware",
    # /manage/ and /admin/ only: the staff session limit, and the second factor for the Django admin.
    "editorial.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change, for the history of every record.
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "public.context_processors.language_links",
                "public.map.map_settings",
            ],
        },
    },
]

# PostGIS is the only database. Persistent connections: a new connection per request costs
# an order of magnitude in throughput (see DESIGN.md, performance facts).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/wegweiser"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.contrib.gis.db.backends.postgis":
    raise ImproperlyConfigured("DATABASE_URL must use the postgis:// scheme (PostgreSQL + PostGIS)")
# A database that does not answer within this many seconds makes pages answer 503 "try again shortly"
# (public/unavailable.py) instead of hanging; the health check above reconnects once it is back.
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 2)
# A statement of a served request that runs longer than this many seconds is cancelled by PostgreSQL, and the
# page answers the same 503 "try again shortly" as for an unreachable database, instead of holding a worker
# while a lock (a migration, a REINDEX) or an overloaded server stalls it: the connect timeout only covers
# connecting. Only in the web server (config/wsgi.py sets WEGWEISER_SERVING): manage.py's commands — imports,
# exports, migrations, load_data, the import worker — run without a limit. 0 turns it off.
SERVING = env_bool("WEGWEISER_SERVING", False)
DATABASE_STATEMENT_TIMEOUT = env_int("DATABASE_STATEMENT_TIMEOUT", 5) if SERVING else 0
# No JIT compilation: the site's queries are short index lookups, and PostgreSQL's JIT, switched on by the
# planner's cost estimate for a large catalogue, added 0.6–1.3 s to queries that run in milliseconds.
DATABASE_SESSION_OPTIONS = f"-c jit=off -c statement_timeout={DATABASE_STATEMENT_TIMEOUT * 1000}"
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"].get("OPTIONS", {}),
    "connect_timeout": DATABASE_CONNECT_TIMEOUT,
    "options": DATABASE_SESSION_OPTIONS,
}
# How long a visitor is asked to wait before trying again while the database is unavailable (Retry-After).
DATABASE_UNAVAILABLE_RETRY_SECONDS = env_int("WEGWEISER_DATABASE_RETRY_SECONDS", 30)

# A streaming read replica (make replica; docs/scaling.md). Set: anonymous GETs of public pages and the API read
# from it (directory/routers.py); unset: everything runs on the primary. The alias always exists — without a
# replica it names the primary and is never used — and in tests it mirrors the test database.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
READ_REPLICA = bool(DATABASE_REPLICA_URL)
DATABASES["replica"] = dj_database_url.parse(
    DATABASE_REPLICA_URL or env_str("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/wegweiser"),
    conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    conn_health_checks=True,
)
if DATABASES["replica"]["ENGINE"] != "django.contrib.gis.db.backends.postgis":
    raise ImproperlyConfigured("DATABASE_REPLICA_URL must use the postgis:// scheme (PostgreSQL + PostGIS)")
# A replica that does not answer within this many seconds is skipped (pages answer from the primary) ...
DATABASES["replica"]["OPTIONS"] = {
    **DATABASES["replica"].get("OPTIONS", {}),
    "connect_timeout": DATABASE_CONNECT_TIMEOUT,
    "options": DATABASE_SESSION_OPTIONS,
}
DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["directory.routers.ReplicaRouter"]
# ... and tried again after this many seconds.
REPLICA_RETRY_SECONDS = env_int("WEGWEISER_REPLICA_RETRY_SECONDS", 5)
# After a browser's request wrote, its requests read from the primary this long (the replica's lag is far less).
REPLICA_PIN_SECONDS = env_int("WEGWEISER_REPLICA_PIN_SECONDS", 10)
# Requests under these paths always read from the primary: the staff area, the admin (and its imports), sign-in.
REPLICA_PRIMARY_PATHS = ["/manage/", "/admin/", "/accounts/"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 default, opted into now

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Personal data: how long it is kept (the privacy page states these values, public/templates/public/privacy.html)
# A problem report's contact and client hash are blanked this many days after it was sent (prune_personal_data);
# the text stays for the record's history.
REPORT_CONTACT_DAYS = env_int("WEGWEISER_REPORT_CONTACT_DAYS", 90)

# --- Staff sign-in (editorial/) ---
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "editorial:dashboard"
# Staff sessions end when the browser closes and, at the latest, this many seconds after signing in.
WEGWEISER_STAFF_SESSION_SECONDS = env_int("WEGWEISER_STAFF_SESSION_SECONDS", 8 * 60 * 60)
SESSION_COOKIE_AGE = WEGWEISER_STAFF_SESSION_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("WEGWEISER_SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
# Failed sign-ins (editorial/auth.py): after LIMIT failures of one account (from any address) within the
# WINDOW, or LIMIT_PER_CLIENT from one address (any accounts), the next password is checked only a delay after
# the last failure: DELAY seconds, doubling with every further failure, at most DELAY_MAX. So guessing slows
# to one try per DELAY_MAX, while a stranger can keep a user (or an office behind one address) waiting
# minutes, never locked out. The WINDOW should be longer than LIMIT × DELAY_MAX, so a slow guesser stays slow.
WEGWEISER_LOGIN_FAILURE_LIMIT = env_int("WEGWEISER_LOGIN_FAILURE_LIMIT", 5)
WEGWEISER_LOGIN_FAILURE_LIMIT_PER_CLIENT = env_int("WEGWEISER_LOGIN_FAILURE_LIMIT_PER_CLIENT", 50)
WEGWEISER_LOGIN_FAILURE_WINDOW = env_int("WEGWEISER_LOGIN_FAILURE_WINDOW", 60 * 60)
WEGWEISER_LOGIN_DELAY = env_int("WEGWEISER_LOGIN_DELAY", 15)
WEGWEISER_LOGIN_DELAY_MAX = env_int("WEGWEISER_LOGIN_DELAY_MAX", 5 * 60)
# An administrator's one-time link to set up the second factor (editorial.TwoFactorEnrolment) lasts this long.
WEGWEISER_ENROLMENT_LINK_HOURS = env_int("WEGWEISER_ENROLMENT_LINK_HOURS", 72)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env_str("WEGWEISER_OTP_ISSUER", "Wegweiser NRW")

LANGUAGE_CODE = "de"
# The seven UI and content languages; ar and fa are written right to left.
LANGUAGES = [
    ("de", "Deutsch"),
    ("en", "English"),
    ("ar", "العربية"),
    ("fa", "فارسی"),
    ("uk", "Українська"),
    ("ru", "Русский"),
    ("tr", "Türkçe"),
]
LOCALE_PATHS = [BASE_DIR / "directory" / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
# Number formats per locale (config/formats/<lang>/formats.py, else Django's): see config/formats/ar.
FORMAT_MODULE_PATH = ["config.formats"]
# No thousands grouping: postcodes, years and house numbers would be grouped too ("45,127").
USE_THOUSAND_SEPARATOR = False
USE_TZ = True

STATIC_URL = "/static/"
# DJANGO_STATIC_ROOT: where collectstatic writes and WhiteNoise serves from (the browser tests use their own).
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Where the catalogue and geography that a fresh install loads live.
DATA_DIR = Path(env_str("WEGWEISER_DATA_DIR", str(BASE_DIR / "data")))

# GDAL 3.6 (Debian 12) is older than Django 5.2 prefers, and works for everything used here.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Nothing about a client in any log line (docs/operations.md): Django's request log names no path or query (a
# referral slip's path and query tell a client's language and services); 429 and 503 answers are logged by
# the code that gives them, once per client or once per process and minute (directory/throttle.py,
# public/unavailable.py), not per request; WeasyPrint's per-PDF chatter about fonts and CSS is dropped.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_client_details": {"()": "directory.logs.RequestLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"filters": ["no_client_details"]},
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Production behind HTTPS (README, "Production environment"); all off by default, as `make run` serves http.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# The header by which the TLS-terminating proxy says the request came in over HTTPS, e.g.
# "X-Forwarded-Proto: https". Set it only behind a proxy that always sets (or strips) that header.
_proxy_ssl_header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header:
    _header, _, _value = _proxy_ssl_header.partition(":")
    if not _header.strip() or not _value.strip():
        raise ImproperlyConfigured(
            f"DJANGO_SECURE_PROXY_SSL_HEADER must look like 'X-Forwarded-Proto: https', got {_proxy_ssl_header!r}"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _header.strip().upper().replace("-", "_"), _value.strip())
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", False)
# The reverse proxies in front of the site (CIDRs, comma-separated): only from these is X-Forwarded-For
# believed (directory.services.client_address). Empty: the peer's address is the client's.
WEGWEISER_TRUSTED_PROXIES = env_networks("WEGWEISER_TRUSTED_PROXIES")
# The Content-Security-Policy of every answer (directory/security.py). No inline script or style anywhere;
# the tile server's origin is added to img-src when WEGWEISER_MAP_TILE_URL is set.
CONTENT_SECURITY_POLICY_EXTRA_IMG_SRC = env_list("WEGWEISER_CSP_IMG_SRC", [])

# Map tiles: empty means no tile layer (offline-safe; the map still shows the Kreis boundaries). A deployment
# sets e.g. its own tile server; third-party tile hosts have usage policies to respect.
MAP_TILE_URL = env_str("WEGWEISER_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("WEGWEISER_MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")

# Anonymous pages may be cached this long by browsers and shared caches (seconds).
PUBLIC_CACHE_SECONDS = env_int("WEGWEISER_PUBLIC_CACHE_SECONDS", 300)

# HSDS API etiquette: requests per client and minute (0 turns the limit off), one count for all workers
# and machines in the shared cache below.
HSDS_RATE_LIMIT_PER_MINUTE = env_int("WEGWEISER_HSDS_RATE_LIMIT_PER_MINUTE", 600)
# Limits of the costly public pages, per client (directory.services.client_address) and minute; 0: off.
# The search runs the most queries; a PDF slip takes WeasyPrint a good part of a second.
SEARCH_RATE_LIMIT_PER_MINUTE = env_int("WEGWEISER_SEARCH_RATE_LIMIT_PER_MINUTE", 120)
SLIP_PDF_RATE_LIMIT_PER_MINUTE = env_int("WEGWEISER_SLIP_PDF_RATE_LIMIT_PER_MINUTE", 10)
# Anonymous problem reports per client and hour.
REPORT_RATE_LIMIT_PER_HOUR = env_int("WEGWEISER_REPORT_RATE_LIMIT_PER_HOUR", 5)

# The shared cache: Redis (Debian's redis-server, started by config/provision.sh; REDIS_URL for another).
# Rate limits, throttles and the page cache live there, one for every worker on every machine. Django's own
# Redis backend with redis-py + hiredis (no extra Django package), subclassed to fail open: without Redis the
# site answers uncached (directory/cache.py). Short socket timeouts, so an unreachable Redis costs little.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "directory.cache.SharedRedisCache",
        "LOCATION": REDIS_URL,
        # Keys of this site start with this (tests use their own, see tests/conftest.py).
        "KEY_PREFIX": env_str("WEGWEISER_CACHE_KEY_PREFIX", "wegweiser"),
        "TIMEOUT": PUBLIC_CACHE_SECONDS,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
