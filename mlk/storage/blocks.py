"""Block-parallel, resumable uploads, independent of any SDK (BlobStore supplies the two calls).

A large file is cut into fixed-size blocks. Each block's id is derived from its index and the SHA-256 of
its bytes, so the ids are deterministic: an upload interrupted half-way leaves blocks staged under the
ids the next attempt computes again, and the next attempt sends only the blocks the service does not
already hold (same id, same size). Because the id covers the content, a block staged from different
bytes (another file once uploaded to the same key) is never mistaken for the one we need.

Blocks are read, hashed and staged by a small thread pool (hashlib and the HTTP calls release the GIL);
only the blocks being worked on are in memory (`concurrency` of them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from mlk.errors import MlkError
from mlk.storage.base import ProgressFn

StageFn = Callable[[str, bytes], None]
"""stage(block_id, data): send one block to the service (uncommitted)."""


@dataclass(frozen=True)
class BlockUpload:
    block_ids: tuple[str, ...]
    """Every block id in file order: what commit_block_list needs."""
    bytes_sent: int
    blocks_sent: int
    blocks_skipped: int


def block_id(index: int, data: bytes) -> str:
    """A deterministic id of fixed length (Azure wants equal lengths within a blob, at most 64 bytes).
    Plain text: the SDK base64-encodes ids on the way out and decodes them in block lists."""
    return f"mlk-{index:06d}-{hashlib.sha256(data).hexdigest()[:40]}"


def block_count(size: int, block_size: int) -> int:
    return max(1, -(-size // block_size))


def upload_blocks(
    path: Path,
    size: int,
    block_size: int,
    staged: Mapping[str, int],
    stage: StageFn,
    *,
    concurrency: int = 4,
    on_progress: ProgressFn | None = None,
) -> BlockUpload:
    """Stage every block of `path` that is not in `staged` ({block id: size} already uncommitted).

    on_progress gets each block's size as it completes, sent or skipped. If anything raises (a failed
    call, or on_progress itself, e.g. Ctrl-C), blocks not yet started are cancelled, those in flight
    finish, and the exception propagates: what was staged stays staged for the next attempt.
    """
    count = block_count(size, block_size)

    def one(index: int) -> tuple[str, int]:
        with open(path, "rb") as f:
            f.seek(index * block_size)
            data = f.read(block_size)
        if len(data) != min(block_size, size - index * block_size):
            raise MlkError(f"{path} changed while it was being uploaded", hint="upload it again once it is complete")
        bid = block_id(index, data)
        if staged.get(bid) == len(data):
            return bid, 0
        stage(bid, data)
        return bid, len(data)

    ids: list[str] = [""] * count
    sent = blocks_sent = 0
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="mlk-upload")
    try:
        futures = {pool.submit(one, index): index for index in range(count)}
        for future in as_completed(futures):
            index = futures[future]
            ids[index], n = future.result()
            sent += n
            blocks_sent += 1 if n else 0
            if on_progress:
                on_progress(min(block_size, size - index * block_size))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return BlockUpload(tuple(ids), sent, blocks_sent, count - blocks_sent)
