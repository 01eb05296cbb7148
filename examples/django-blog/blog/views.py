import os

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
    })
