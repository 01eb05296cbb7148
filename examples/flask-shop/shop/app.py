"""The shop's web app: health check, release info, files and orders on the shared data dir."""
import json
import os
import socket
import time
import uuid

from flask import Flask, Response, abort, jsonify, request

from .storage import data_dir, queue_dir, safe_name, write_atomically

app = Flask(__name__)
# Set on hosts from the secret store; only signed cookies need it, and the shop sets none yet.
if os.environ.get("SHOP_SECRET_KEY"):
    app.config["SECRET_KEY"] = os.environ["SHOP_SECRET_KEY"]


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok\n", mimetype="text/plain")


@app.get("/version")
def version():
    """The repository library the release was built with: fawkes-greeting 1.x (requirements.txt).

    Imported here, not at the top: the app still imports and serves where the library is not
    installed (Debian's python3 running the repository's source); this endpoint then says so.
    """
    try:
        import fawkes_greeting
    except ImportError as e:
        return jsonify(app="shop", library="fawkes-greeting", version=None, error=str(e)), 500
    return jsonify(app="shop", library="fawkes-greeting", version=fawkes_greeting.__version__, greeting=fawkes_greeting.greet("shop"))


@app.get("/")
def index():
    return jsonify(
        app="shop",
        release=os.environ.get("FAWKES_RELEASE", "dev"),
        host=socket.gethostname(),
        pid=os.getpid(),
        data_dir=str(data_dir()),
    )


@app.route("/files/<name>", methods=["GET", "PUT"])
def files(name: str):
    """PUT stores the body under the shared data dir; GET returns it (proves data outlives hosts)."""
    try:
        path = data_dir() / "files" / safe_name(name)
    except ValueError as e:
        abort(400, str(e))
    if request.method == "PUT":
        write_atomically(path, request.get_data())
        return jsonify(name=name, bytes=path.stat().st_size), 201
    if not path.is_file():
        abort(404)
    return Response(path.read_bytes(), mimetype="application/octet-stream")


@app.post("/orders")
def create_order():
    """Queues an order for the worker (shop.worker) as a JSON file under the shared data dir."""
    order = request.get_json(silent=True)
    if not isinstance(order, dict):
        abort(400, "send a JSON object")
    order_id = f"{int(time.time())}-{uuid.uuid4().hex[:12]}"
    write_atomically(queue_dir("incoming") / f"{order_id}.json", json.dumps({"id": order_id, **order}).encode())
    return jsonify(id=order_id, status="queued"), 202


@app.get("/orders/<order_id>")
def order_status(order_id: str):
    try:
        name = safe_name(order_id) + ".json"
    except ValueError as e:
        abort(400, str(e))
    for state in ("done", "processing", "incoming"):
        if (queue_dir(state) / name).is_file():
            return jsonify(id=order_id, status=state)
    abort(404)
