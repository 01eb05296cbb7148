import json

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Post

SLUG_MAX = Post._meta.get_field("slug").max_length
TITLE_MAX = Post._meta.get_field("title").max_length


@csrf_exempt  # a JSON API for scripts and tests; the blog has no sessions or cookies to protect
@require_http_methods(["GET", "POST"])
def posts(request):
    """GET: every post as JSON, newest first. POST (form or JSON: title, body): a new post, 201."""
    if request.method == "GET":
        rows = Post.objects.order_by("-published_at", "-id").values("id", "slug", "title", "body")
        return JsonResponse(list(rows), safe=False)
    fields = request.POST
    if request.content_type == "application/json":
        try:
            fields = json.loads(request.body or b"null")
        except ValueError:
            return JsonResponse({"error": "the body is not JSON"}, status=400)
        if not isinstance(fields, dict):
            return JsonResponse({"error": 'the body must be a JSON object: {"title": ..., "body": ...}'}, status=400)
    title, body = fields.get("title", ""), fields.get("body", "")
    if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
        return JsonResponse({"error": f"title: a non-empty string of at most {TITLE_MAX} characters is required"}, status=400)
    if not isinstance(body, str):
        return JsonResponse({"error": "body: must be a string"}, status=400)
    post = create_with_unique_slug(title.strip(), body)
    return JsonResponse({"id": post.id, "slug": post.slug, "title": post.title}, status=201)


def create_with_unique_slug(title, body):
    """Slug from the title, then -2, -3, ... The unique index decides, so two workers racing for one slug both succeed."""
    base = slugify(title)[:SLUG_MAX].strip("-") or "post"
    taken = set(Post.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    n = 1
    while True:
        suffix = "" if n == 1 else f"-{n}"
        slug = f"{base[:SLUG_MAX - len(suffix)].rstrip('-')}{suffix}"
        n += 1
        if slug in taken:
            continue
        try:
            with transaction.atomic():
                return Post.objects.create(title=title, slug=slug, body=body)
        except IntegrityError:
            taken.add(slug)
