"""Manifests: the identity of a model or code snapshot, as a list of (path, SHA-256, size).

A manifest's digest (SHA-256 of its canonical JSON) is the asset's identity: equal trees give equal
digests wherever they are hashed, so registering the same folder twice is a no-op, and a deployment
names exactly the bytes it runs. Manifests are read back from storage, which the reader does not
control, so every path is checked: no absolute paths, no '..', no backslashes, no duplicates —
materialising a manifest can never write outside its folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from mlk.errors import ExternalError

FORMAT = "mlk-manifest/1"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
Kind = Literal["file", "folder"]


@dataclass(frozen=True)
class ManifestFile:
    path: str
    """Relative, '/'-separated; for a file asset, its file name."""
    sha256: str
    """Lowercase hex digest of the content; also the blob's key (blobs/sha256/<hex>)."""
    size: int


@dataclass(frozen=True)
class Manifest:
    name: str
    """The registered path's base name: the file or folder name the model keeps when materialised."""
    kind: Kind
    files: tuple[ManifestFile, ...]
    """Sorted by path."""

    def __post_init__(self) -> None:
        _check_component(self.name, "name")
        if self.kind not in ("file", "folder"):
            raise ExternalError(f"manifest kind {self.kind!r} is neither 'file' nor 'folder'")
        if self.kind == "file" and (len(self.files) != 1 or self.files[0].path != self.name):
            raise ExternalError(f"manifest of the file '{self.name}' must list exactly that file")
        seen: set[str] = set()
        for f in self.files:
            for part in f.path.split("/"):
                _check_component(part, f"file path {f.path!r}")
            if f.path in seen:
                raise ExternalError(f"manifest lists '{f.path}' twice")
            seen.add(f.path)
            if not SHA256_HEX.match(f.sha256) or f.size < 0:
                raise ExternalError(f"manifest entry '{f.path}' has an invalid sha256 or size")
        for f in self.files:  # materialising 'a' and 'a/b' would need 'a' to be a file and a folder at once
            parent = f.path.rpartition("/")[0]
            while parent:
                if parent in seen:
                    raise ExternalError(
                        f"manifest lists '{parent}' as a file and as the folder of '{f.path}'",
                        hint="register the asset again",
                    )
                parent = parent.rpartition("/")[0]
        object.__setattr__(self, "files", tuple(sorted(self.files, key=lambda f: f.path)))

    @cached_property
    def digest(self) -> str:
        """SHA-256 hex of the canonical JSON of (name, kind, files): the asset's identity."""
        return hashlib.sha256(_canonical(self._body()).encode("utf-8")).hexdigest()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **self._body(), "digest": self.digest}, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parse and check a stored manifest; a digest that does not match its content is an error."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
            files = tuple(ManifestFile(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in data["files"])
            manifest = cls(name=str(data["name"]), kind=data["kind"], files=files)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as e:
            raise ExternalError(f"stored manifest is unreadable: {e}", hint="register the asset again") from e
        except RecursionError:  # JSON nested deeper than the parser goes: no manifest looks like that
            raise ExternalError(
                "stored manifest is unreadable: nested too deeply", hint="register the asset again"
            ) from None
        if data.get("digest") not in (None, manifest.digest):
            raise ExternalError("stored manifest does not match its digest", hint="register the asset again")
        return manifest

    def _body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files],
        }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_component(part: str, what: str) -> None:
    if part in ("", ".", "..") or "/" in part or "\\" in part or "\0" in part:
        raise ExternalError(f"manifest {what} is not a safe relative path", hint="register the asset again")
    try:
        part.encode("utf-8")  # the digest hashes the UTF-8 of every name: a lone surrogate has none
    except UnicodeEncodeError:
        raise ExternalError(
            f"manifest {what} is not valid Unicode (a lone surrogate)", hint="register the asset again"
        ) from None
