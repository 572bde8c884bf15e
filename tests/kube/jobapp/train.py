"""A 2-instance job's script: rank 0 listens on MASTER_ADDR:MASTER_PORT, rank 1 connects, they swap
their ranks over plain TCP, and rank 0 writes what it heard into the model output."""

import os
import socket
import sys
import time
from pathlib import Path

rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
address, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
print(f"rank {rank} of {world}, master {address}:{port}", flush=True)
if rank == 0:
    with socket.create_server((address, port)) as server:
        server.settimeout(60)
        conn, _ = server.accept()
        with conn:
            heard = conn.recv(64).decode()
            conn.sendall(str(rank).encode())
    out = Path(sys.argv[1])
    (out / "ranks.txt").write_text(f"0 heard {heard}\n")
    Path("outputs").mkdir(exist_ok=True)
    (Path("outputs") / "note.txt").write_text("artifacts too\n")
else:
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = socket.create_connection((address, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with conn:
        conn.sendall(str(rank).encode())
        heard = conn.recv(64).decode()
print(f"rank {rank} heard {heard}", flush=True)
