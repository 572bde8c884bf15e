"""The one place that turns an exception into what the user sees and the process's exit code.

Expected errors (mlk.errors) print one red line and a hint; SpecError first prints each located problem.
Anything else is a bug: one line saying so, and the traceback with --debug.
"""

from __future__ import annotations

import traceback

from mlk.cli.console import Console
from mlk.errors import MlkError, SpecError
from mlk.specs.problems import Severity

EXIT_INTERRUPTED = 130


def present(exc: BaseException, console: Console) -> int:
    if console.settings.debug:
        console.err.write("".join(traceback.format_exception(exc)))
    if isinstance(exc, BrokenPipeError):  # `mlk ... | head`: the reader left; nothing to say to anyone
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if isinstance(exc, KeyboardInterrupt):
        console.error("interrupted")
        return EXIT_INTERRUPTED
    if isinstance(exc, MlkError):
        if isinstance(exc, SpecError):
            for problem in exc.problems:
                console.problem(problem.render(), warning=problem.severity is Severity.WARNING)
        console.error(exc.message)
        if exc.hint:
            console.hint(exc.hint)
        return exc.exit_code
    console.error(f"unexpected {type(exc).__name__}: {exc}")
    if not console.settings.debug:
        console.hint("this is a bug in mlk; run again with --debug for the traceback and report it")
    return 1
