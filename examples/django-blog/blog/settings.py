"""Settings of the sample blog. Everything that differs between a laptop and a host comes from env.

On a host the release dir is BASE_DIR; `db/` and `media/` there are links to shared storage, and
`staticfiles/` is filled by the `collectstatic` release hook. BLOG_DB_DIR, BLOG_STATIC_ROOT and
BLOG_MEDIA_ROOT move them (tests point them at a temp dir so the repository stays clean).

DATABASE_URL (postgres://user:password@host:port/dbname[?sslmode=require]), which fawkes sets for
an app with `database: true`, selects the environment's PostgreSQL; without it the blog keeps its
sqlite file in BLOG_DB_DIR.

ALLOWED_HOSTS are the names fawkes serves the app under in its stack, FAWKES_HOSTS (comma-separated:
`<label>.<domain>`, `<label>.<stack>.localhost`, then the host's own addresses, which the load
balancer's health checks send as Host). DJANGO_ALLOWED_HOSTS, when set, wins. With neither, Django's
own default: nothing outside DEBUG, localhost with it.
"""
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG", "") in ("1", "true", "yes")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and os.environ.get("FAWKES_BUILD") == "1":
    # `fawkes build` runs the build hooks (collectstatic) where no secret exists; they sign nothing.
    SECRET_KEY = "fawkes-build-only-key"
if not SECRET_KEY:
    if not DEBUG:
        # Not ImproperlyConfigured: manage.py swallows that one while loading settings, and the
        # release hooks' logs would only say "Models aren't loaded yet".
        raise RuntimeError("DJANGO_SECRET_KEY is not set (only DJANGO_DEBUG=1 allows a development key)")
    SECRET_KEY = "dev-only-insecure-key"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", os.environ.get("FAWKES_HOSTS", "")).split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "posts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "blog.urls"
WSGI_APPLICATION = "blog.wsgi.application"


def postgresql_from_url(url):
    """Django's postgresql settings from a DATABASE_URL. Errors never quote the URL: it holds the password."""
    usage = "expected postgres://user:password@host:port/dbname, with reserved characters percent-encoded"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RuntimeError(f"DATABASE_URL is malformed: {usage}") from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise RuntimeError(f"DATABASE_URL must start with postgres:// or postgresql://, not {parts.scheme or '(no scheme)'}:// ({usage})")
    name = unquote(parts.path[1:])
    if not name or "/" in name:
        raise RuntimeError(f"DATABASE_URL names no database: {usage}")
    # Not parts.hostname: it lowercases, and a socket dir (%2Frun%2Fpostgresql) keeps its case.
    host = parts.netloc.rpartition("@")[2]
    host = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.partition(":")[0]
    sslmode = parse_qs(parts.query).get("sslmode")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        # Empty: libpq's default unix socket.
        "HOST": unquote(host),
        "PORT": str(port or ""),
        "OPTIONS": {"sslmode": sslmode[-1]} if sslmode else {},
        # A worker keeps its connection for a minute instead of opening one per request, and checks
        # it before reusing it: a connection the server ended (a restore, a failover) is replaced
        # instead of failing the request.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": postgresql_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # Absolute env values win over BASE_DIR (Path / absolute path -> the absolute path).
            "NAME": BASE_DIR / os.environ.get("BLOG_DB_DIR", "db") / "blog.sqlite3",
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / os.environ.get("BLOG_STATIC_ROOT", "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / os.environ.get("BLOG_MEDIA_ROOT", "media")

# nginx and the load balancer terminate TLS in front of gunicorn.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
