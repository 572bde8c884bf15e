"""A distributed job's ranks meet the way torch.distributed's TCP store does: rank 0 listens on
MASTER_ADDR:MASTER_PORT, the others connect and say who they are; rank 0 writes what it learnt."""

import json
import os
import socket
import sys
import time

rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
address = (os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
print(f"rank {rank} of {world}, node {os.environ['NODE_RANK']}, local rank {os.environ['LOCAL_RANK']}")
if rank == 0:
    server = socket.create_server(address)
    seen = {0: os.environ["NODE_RANK"]}
    while len(seen) < world:
        conn, _ = server.accept()
        other = json.loads(conn.recv(1024))
        seen[other["rank"]] = other["node"]
        conn.close()
    with open(os.path.join(sys.argv[1], "world.json"), "w") as out:
        json.dump({"world": world, "nodes": seen}, out)
else:
    for _ in range(100):
        try:
            conn = socket.create_connection(address)
            break
        except OSError:
            time.sleep(0.1)
    conn.sendall(json.dumps({"rank": rank, "node": os.environ["NODE_RANK"]}).encode())
    conn.close()
