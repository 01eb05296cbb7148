// Real tracebacks as the hosts' per-app log files hold them (supervisord's stdout_logfile with
// stderr merged: gunicorn's error log, its access log and the app's own logging, one file).
// The chained, SyntaxError and recursion ones are CPython 3.11's own output; Flask's and
// Django's are laid out as Flask 2.2 / Django 3.2 log them through gunicorn 20.1 on Debian 12.

export const FLASK_ID = "r2f9c1d0a7b3e";

/** Flask: `app.logger.exception` through gunicorn's wsgi.errors, then the access-log line. */
export function flaskTraceback(opts: { release?: string; line?: number; n?: number; time?: string } = {}): string {
  const rel = `/srv/apps/shop/releases/${opts.release ?? FLASK_ID}`;
  const n = opts.n ?? 3;
  const time = opts.time ?? "2026-11-23 10:15:02";
  return `[${time},118] ERROR in app: Exception on /boom/${n} [GET]
Traceback (most recent call last):
  File "${rel}/venv/lib/python3.11/site-packages/flask/app.py", line 2525, in wsgi_app
    response = self.full_dispatch_request()
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "${rel}/venv/lib/python3.11/site-packages/flask/app.py", line 1822, in full_dispatch_request
    rv = self.handle_user_exception(e)
         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "${rel}/venv/lib/python3.11/site-packages/flask/app.py", line 1820, in full_dispatch_request
    rv = self.dispatch_request()
         ^^^^^^^^^^^^^^^^^^^^^^^
  File "${rel}/venv/lib/python3.11/site-packages/flask/app.py", line 1796, in dispatch_request
    return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "${rel}/shop/app.py", line ${opts.line ?? 101}, in boom
    raise FawkesTestError(f"request {n} failed on purpose at {hex(id(n))}")
shop.app.FawkesTestError: request ${n} failed on purpose at 0x7f3a${(n * 4099).toString(16)}
10.231.7.1 - - [${time.slice(8, 10)}/Nov/2026:${time.slice(11)} +0000] "GET /boom/${n} HTTP/1.0" 500 265 "-" "curl/7.88.1"
`;
}

/** Django: `django.request` to the root logger's StreamHandler (the blog's LOGGING): no timestamp. */
export const DJANGO = `Internal Server Error: /posts/17/
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/django/core/handlers/exception.py", line 47, in inner
    response = get_response(request)
               ^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3/dist-packages/django/core/handlers/base.py", line 181, in _get_response
    response = wrapped_callback(request, *callback_args, **callback_kwargs)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/apps/blog/releases/r0c4e8a61b2d9/blog/views.py", line 14, in post
    return JsonResponse({"title": Post.objects.get(pk=pk).title})
                                  ^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3/dist-packages/django/db/models/manager.py", line 85, in manager_method
    return getattr(self.get_queryset(), name)(*args, **kwargs)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3/dist-packages/django/db/models/query.py", line 435, in get
    raise self.model.DoesNotExist(
posts.models.Post.DoesNotExist: Post matching query does not exist.
10.231.7.1 - - [23/Nov/2026:10:20:41 +0000] "GET /posts/17/ HTTP/1.0" 500 145 "-" "curl/7.88.1"
`;

/** gunicorn itself, when an exception leaves the WSGI app: its error log format. */
export const GUNICORN = `[2026-11-23 10:30:00 +0000] [812] [ERROR] Error handling request /orders
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/gunicorn/workers/sync.py", line 136, in handle
    self.handle_request(listener, req, client, addr)
  File "/usr/lib/python3/dist-packages/gunicorn/workers/sync.py", line 179, in handle_request
    respiter = self.wsgi(environ, resp.start_response)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/apps/shop/current/shop/raw.py", line 9, in application
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
                                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ValueError: invalid literal for int() with base 10: 'abc'
`;

/** CPython 3.11: a cause, then an exception during its handling, one traceback. */
export const CHAINED = `Traceback (most recent call last):
  File "/srv/apps/shop/current/shop/orders.py", line 8, in load
    return json.loads(raw)
           ^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/json/decoder.py", line 337, in decode
    obj, end = self.raw_decode(s, idx=_w(s, 0).end())
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/json/decoder.py", line 353, in raw_decode
    obj, end = self.scan_once(s, idx)
               ^^^^^^^^^^^^^^^^^^^^^^
json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/apps/shop/current/shop/orders.py", line 14, in handle
    return load(raw)["id"]
           ^^^^^^^^^
  File "/srv/apps/shop/current/shop/orders.py", line 10, in load
    raise OrderError(f"order {len(raw)} is not JSON") from e
shop.orders.OrderError: order 5 is not JSON

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/apps/shop/current/shop/worker.py", line 40, in main
    handle(raw)
  File "/srv/apps/shop/current/shop/orders.py", line 16, in handle
    return {}["fallback"]
           ~~^^^^^^^^^^^^
KeyError: 'fallback'
`;

/** CPython 3.11: a module with a syntax error imported at start-up. */
export const SYNTAX = `Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "<frozen runpy>", line 88, in _run_code
  File "/srv/apps/shop/current/shop/worker.py", line 3, in <module>
    from .broken import fix
  File "/srv/apps/shop/current/shop/broken.py", line 1
    def f(:
          ^
SyntaxError: invalid syntax
`;

/** CPython 3.11: a script with a syntax error run directly: no header. */
export const SYNTAX_BARE = `  File "/srv/apps/shop/current/scripts/fix.py", line 1
    def f(:
          ^
SyntaxError: invalid syntax
`;

export function recursion(depthShown: number): string {
  return `Traceback (most recent call last):
  File "/srv/apps/shop/current/shop/tree.py", line 3, in <module>
    walk(0)
${'  File "/srv/apps/shop/current/shop/tree.py", line 2, in walk\n    return walk(n + 1)\n'.repeat(depthShown)}  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded
`;
}
