"""Fuzz target: reading a stored manifest (mlk.storage.manifest.Manifest.from_json).

The input is the bytes read back from storage, which the reader does not control. Invariants: only
ExternalError escapes; a manifest that is accepted round-trips through to_json with the same digest, and
can be materialised: every path is relative and stays inside its folder, and no file is also the folder
of another.
"""

from __future__ import annotations

import posixpath

from mlk.errors import ExternalError
from mlk.storage.manifest import Manifest
from tests.fuzz.harness import check

MAX_LEN = 8192


def TestOneInput(data: bytes) -> None:
    try:
        manifest = Manifest.from_json(data)
    except ExternalError as exc:
        check(isinstance(exc.message, str) and exc.message, "an ExternalError without a message")
        return
    again = Manifest.from_json(manifest.to_json())
    check(again == manifest and again.digest == manifest.digest, "the manifest does not round-trip")
    check(manifest.kind in ("file", "folder"), f"kind {manifest.kind!r}")
    paths = {f.path for f in manifest.files}
    for path in paths:
        inside = posixpath.normpath(posixpath.join("/root", manifest.name, path))
        check(inside.startswith(f"/root/{manifest.name}/"), f"{path!r} leaves its folder")
        parent = posixpath.dirname(path)
        while parent:
            check(parent not in paths, f"'{parent}' is both a file and the folder of '{path}'")
            parent = posixpath.dirname(parent)
