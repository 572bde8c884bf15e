"""mlk's exception tree. Every expected failure is one of these; anything else is a bug.

    MlkError                    exit 1   something went wrong that the user can act on
    ├── UsageError              exit 2   a flag, argument or --set expression is wrong
    ├── SpecError               exit 2   a YAML file is not a valid spec (carries every problem found)
    ├── NotFoundError           exit 3   the named endpoint, deployment, asset or compute does not exist
    ├── ConflictError           exit 4   it already exists, or another operation holds it
    ├── OperationTimeout        exit 5   waited for a state that did not come in time
    └── ExternalError           exit 6   a component mlk drives failed (cluster, registry, storage, docker)

The CLI's presenter turns these into one red line with a hint (see mlk.cli.presenter); the codes are
stable and documented in the README, so scripts can branch on them.

One process exit status is not an exception's: EXIT_BOOT_FAILED, a score.py server that could not start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from mlk.specs.problems import Problem


class MlkError(Exception):
    """Base of every error mlk expects; `hint` says what to do about it."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(MlkError):
    exit_code = 2


class SpecError(MlkError):
    """One or more files failed validation; `problems` holds every one, located."""

    exit_code = 2

    def __init__(self, message: str, problems: Sequence[Problem] = (), *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = tuple(problems)


class NotFoundError(MlkError):
    exit_code = 3


class ConflictError(MlkError):
    exit_code = 4


class OperationTimeout(MlkError):
    exit_code = 5


class ExternalError(MlkError):
    exit_code = 6


EXIT_BOOT_FAILED = 3
"""`mlk serve`'s (and azmlinfsrv's) exit status when score.py cannot start: init() raised, or the script has
no init/run. Restarting cannot help, so supervisors report it as failed rather than crashed. Defined here,
the lowest layer, because the server exits with it and local supervision and the operator read it."""
