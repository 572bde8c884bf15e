"""run() sleeps and reports the most calls it has seen running at once (MLK_RUN_CONCURRENCY lets them overlap)."""

import threading
import time

lock = threading.Lock()
running = 0
most = 0


def init():
    pass


def run(data):
    global running, most
    with lock:
        running += 1
        most = max(most, running)
    try:
        time.sleep(0.03)
    finally:
        with lock:
            running -= 1
    return {"most": most}
