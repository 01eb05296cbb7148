"""The shop's worker: every few seconds, processes the orders queued under the shared data dir.

Run as `python -m shop.worker`. Several worker hosts share the queue: an order is claimed by
renaming it into queue/processing, which only one of them can do. SIGTERM (supervisord's stop)
finishes the current order and exits 0.
"""
import json
import logging
import os
import signal
import sys
import threading

from .storage import queue_dir, write_atomically

log = logging.getLogger("shop.worker")
stopping = threading.Event()


def process_once() -> int:
    """Processes every queued order; returns how many this worker handled."""
    incoming = queue_dir("incoming")
    if not incoming.is_dir():
        return 0
    handled = 0
    for path in sorted(incoming.glob("*.json")):
        if stopping.is_set():
            break
        claimed = queue_dir("processing") / path.name
        claimed.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            continue  # another worker claimed it first
        try:
            order = json.loads(claimed.read_text())
        except ValueError:
            log.warning("order %s is not JSON; moved to done as rejected", path.name)
            order = {"rejected": True}
        order["processed_by"] = f"{os.uname().nodename}:{os.getpid()}"
        write_atomically(queue_dir("done") / path.name, json.dumps(order).encode())
        claimed.unlink()
        log.info("processed order %s", path.stem)
        handled += 1
    return handled


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    interval = float(os.environ.get("SHOP_WORKER_INTERVAL", "5"))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stopping.set())
    log.info("watching %s every %ss", queue_dir("incoming"), interval)
    while not stopping.is_set():
        try:
            process_once()
        except OSError as e:
            log.error("queue error: %s", e)
        stopping.wait(interval)
    log.info("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
