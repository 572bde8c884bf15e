"""`python -m mlk.operator`: run mlk's operator (kopf) for the whole cluster, as the extension deploys it."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: object) -> None:
    settings.persistence.finalizer = "mlk.dev/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="mlk.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="mlk.dev")
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # server-side label selectors: the operator lists and watches mlk's Deployments, inference pods and
    # Services only, never a cluster's thousands of others (kopf's `labels=` alone filters client-side)
    from mlk.operator.follow import INFERENCE_PODS, MANAGED, selector

    settings.watching.label_selectors["deployments"] = selector(MANAGED)
    settings.watching.label_selectors["pods"] = selector(INFERENCE_PODS)
    settings.watching.label_selectors["services"] = selector(MANAGED)


def main(argv: list[str] | None = None) -> int:
    import mlk.operator.follow
    import mlk.operator.handlers
    import mlk.operator.jobs  # noqa: F401 - registers the handlers (AmlJob's: served once its CRD exists)

    args = argv if argv is not None else sys.argv[1:]
    # kopf names itself after getpass.getuser(), which fails for a numeric user the image's /etc/passwd
    # lacks (runAsUser 65532, as mlk renders it): found when the operator first ran as a container
    if not any(os.environ.get(k) for k in ("LOGNAME", "USER", "LNAME", "USERNAME")):
        os.environ["LOGNAME"] = f"uid-{os.getuid()}"
    # kopf logs through `logging` and configures none: without this, `kubectl logs` of the operator is
    # empty, failing handlers included (found on a real cluster)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # the probes, every few seconds
    liveness = next((a.split("=", 1)[1] for a in args if a.startswith("--liveness=")), "http://0.0.0.0:8080/healthz")
    asyncio.run(kopf.operator(clusterwide=True, standalone=True, liveness_endpoint=liveness))
    return 0


if __name__ == "__main__":
    sys.exit(main())
