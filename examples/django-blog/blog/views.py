import os

from django.db import connection
from django.http import HttpResponse, JsonResponse

from posts.models import Post


def healthz(request):
    """The load balancer's health check: the process is up and serving (no database call)."""
    return HttpResponse("ok\n", content_type="text/plain")


def index(request):
    return JsonResponse({
        "app": "blog",
        "release": os.environ.get("FAWKES_RELEASE", "dev"),
        "posts": Post.objects.count(),
        # Which backend served the count: "postgresql" with DATABASE_URL, "sqlite" without.
        "database": connection.vendor,
    })


def version(request):
    """The repository library the release was built with: fawkes-greeting 2.x (requirements.txt).

    Imported here, not at the top: the blog still imports and serves where the library is not
    installed (Debian's python3 running the repository's source); this view then says so.
    """
    try:
        import fawkes_greeting
    except ImportError as e:
        return JsonResponse({"app": "blog", "library": "fawkes-greeting", "version": None, "error": str(e)}, status=500)
    return JsonResponse({
        "app": "blog",
        "library": "fawkes-greeting",
        "version": fawkes_greeting.__version__,
        "greeting": fawkes_greeting.greet("blog"),
    })
