"""A path named relative to a folder, judged as written (no file system): does it stay inside that folder?

A deployment's scoring script is named relative to its code folder, and only that folder is deployed:
an absolute path or one that climbs out with '..' would make the server read a file of the machine or
the image instead. mlk validate refuses those (and, on disk, links out of the folder: mlk.specs.paths);
the pod renderer refuses them again for resources written by hand.
"""

from __future__ import annotations

import re

_DRIVE = re.compile(r"^[A-Za-z]:")


def is_absolute(value: str) -> bool:
    """/x, \\x, C:x, ~ and ~user/x: not relative to anything (either separator, as az ml accepts both)."""
    return value.startswith(("/", "\\", "~")) or bool(_DRIVE.match(value))


def climbs_out(value: str) -> bool:
    """Whether a relative path leaves its folder at some point ('..' below the top)."""
    depth = 0
    for part in value.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def leaving_reason(value: str, folder_value: str) -> str | None:
    """Why a scoring script named `value`, relative to the code folder `folder_value`, is not inside that
    folder as written; None when it stays in."""
    if is_absolute(value):
        return (
            f"'{value}' is an absolute path; the scoring script is named relative to the code folder "
            f"'{folder_value}' and must be inside it (e.g. score.py)"
        )
    if climbs_out(value):
        return (
            f"'{value}' is outside the code folder '{folder_value}': only that folder is deployed; "
            "move the script into it and name it relative to it (e.g. score.py)"
        )
    return None
