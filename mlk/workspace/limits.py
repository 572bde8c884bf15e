"""How long mlk waits for an operation, on any compute: Azure's own limit for a deployment to become
ready is 20 minutes; MLK_OPERATION_TIMEOUT (seconds) changes it for both the embedded default and
Kubernetes."""

from __future__ import annotations

import os

from mlk.errors import UsageError

AZURE_OPERATION_TIMEOUT = 20 * 60.0
TIMEOUT_VARIABLE = "MLK_OPERATION_TIMEOUT"


def operation_timeout() -> float:
    """Seconds a create or update waits for its deployment to be ready."""
    given = os.environ.get(TIMEOUT_VARIABLE)
    if not given:
        return AZURE_OPERATION_TIMEOUT
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UsageError(f"{TIMEOUT_VARIABLE}={given!r} is not a number of seconds", hint="e.g. 1200, or unset it")
    return seconds
