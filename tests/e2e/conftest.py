"""The opt-in end-to-end suite: a real cluster, given with --kubeconfig (skipped otherwise).

    pytest tests/e2e -W default --kubeconfig ~/.kube/config --e2e-image mlk:dev \
        --e2e-storage "DefaultEndpointsProtocol=http;AccountName=...;BlobEndpoint=http://HOST:10000/..."

The image must hold mlk (`mlk extension build-image`) and be pullable by the nodes (`kind load docker-image`);
the storage must be reachable from this machine (uploads) and from the pods (storage-initializer).
test_load_balancer.py needs something that gives LoadBalancer Services an address reachable from this
machine (cloud-provider-kind on kind, a cloud's load balancer elsewhere).
.github/workflows/kind.yml does all of it on kind.

Each test installs the extension with the settings it is about and removes it at its end, so the tests
do not depend on one another's order. Warnings (deprecations in the Kubernetes client and the like) are
reported, not errors, in this suite: each module sets `pytestmark = E2E_WARNINGS`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import REPO, Result, run_mlk

T = TypeVar("T")
E2E_WARNINGS = pytest.mark.filterwarnings("default")
"""pyproject's filterwarnings=error is for the unit tests; here a client library's deprecation must not fail
a run against a real cluster (the workflow passes -W default as well)."""

APP = REPO / "tests/e2e/app"
REQUEST = "../../local/app/request.json"  # the same score.py, model and request as tests/local
NAMESPACE = "mlk-system"  # the extension's (mlk extension install's default)
WORKLOAD_NAMESPACE = "e2e"
COMPUTE = "e2e-k8s"  # endpoint.yml's compute
CRDS = ("onlineendpoints.mlk.dev", "onlinedeployments.mlk.dev", "instancetypes.mlk.dev")
EXTENSION_SETTINGS = (
    "enableInference=True",
    "allowInsecureConnections=True",
    "inferenceRouterHA=False",  # one kind node: one router replica
    # explicit: its default (True) runs helm to install kube-prometheus-stack, which no test here is about
    # (and which needs helm and the chart repository on the machine that runs the suite)
    "installPromOp=False",
)


@dataclass
class Cluster:
    kubeconfig: str
    context: str | None
    image: str
    storage: str

    def mlk(self, *args: str, ok: bool = True, cwd: Path | None = None) -> Result:
        result = run_mlk(*args, cwd=cwd or APP)
        if ok:
            assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def mlk_json(self, *args: str) -> Any:
        """`mlk ... -o json`, parsed."""
        return json.loads(self.mlk(*args, "-o", "json").stdout)

    @property
    def context_args(self) -> list[str]:
        return ["--kube-context", self.context] if self.context else []

    # --- the extension --------------------------------------------------------------------------------
    def install(self, service_type: str) -> None:
        """`mlk extension install` with the suite's settings and this router Service type; ready when it returns."""
        self.mlk(
            "extension",
            "install",
            "--config",
            *EXTENSION_SETTINGS,
            f"inferenceRouterServiceType={service_type}",
            "--system-image",
            self.image,
            *self.context_args,
        )
        self.wait_extension_ready()

    def wait_extension_ready(self, timeout: float = 180) -> list[dict[str, Any]]:
        """Until every component `mlk extension show` lists is ready (CRDs established, n/n replicas)."""

        def ready() -> list[dict[str, Any]] | None:
            rows: list[dict[str, Any]] = self.mlk_json("extension", "show", *self.context_args)
            kinds = {row["kind"] for row in rows}
            if "Deployment" not in kinds:
                return None
            for row in rows:
                if row["kind"] == "CustomResourceDefinition":
                    if row["ready"] != "yes":
                        return None
                    continue
                have, want = str(row["ready"]).split("/")
                if have != want or (row["kind"] == "Deployment" and int(want) == 0):
                    return None
            return rows

        return self.wait(ready, timeout, "the extension's components to be ready (mlk extension show)")

    def delete_extension(self, *, force: bool = False) -> Result:
        return self.mlk("extension", "delete", "--yes", *(["--force"] if force else []), *self.context_args)

    def attach(self) -> None:
        self.mlk(
            "compute",
            "attach",
            "--type",
            "Kubernetes",
            "-n",
            COMPUTE,
            "--namespace",
            WORKLOAD_NAMESPACE,
            "--create-namespace",
            *self.context_args,
        )

    # --- direct reads (what the CLI does not show) ----------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        from mlk.k8s.cluster import Cluster as Api
        from mlk.k8s.cluster import ClusterRef

        with Api(ClusterRef(self.kubeconfig, self.context)) as api:
            return api.get(api_version, kind, name, namespace)

    def list_objects(
        self, api_version: str, kind: str, namespace: str | None, label_selector: str
    ) -> list[dict[str, Any]]:
        from mlk.k8s.cluster import Cluster as Api
        from mlk.k8s.cluster import ClusterRef

        with Api(ClusterRef(self.kubeconfig, self.context)) as api:
            return api.list(api_version, kind, namespace, label_selector=label_selector)

    # --- deployments ----------------------------------------------------------------------------------
    def deploy_blue(self, endpoint: str) -> None:
        """blue.yml with all the traffic of `endpoint`, on mlk's image, Succeeded."""
        blue = self.mlk_json(
            "online-deployment",
            "create",
            "-f",
            "blue.yml",
            "-e",
            endpoint,
            "--set",
            f"environment.image={self.image}",
            "--all-traffic",
        )
        assert blue["provisioning_state"] == "Succeeded", blue

    def invoke(self, endpoint: str, *extra: str, timeout: float = 120) -> Any:
        """`mlk online-endpoint invoke`, retried while the route settles (a new pod, a new address)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.mlk("online-endpoint", "invoke", "-n", endpoint, "-r", REQUEST, *extra, "-o", "tsv", ok=False)
            if result.exit_code == 0:
                return json.loads(result.stdout)
            if time.monotonic() > deadline:
                raise AssertionError(result.stderr)
            time.sleep(2)

    def invoke_until(self, endpoint: str, tag: str, *extra: str, timeout: float = 120) -> Any:
        """Invoke until the answer comes from a pod whose DEPLOYMENT_TAG is `tag` (after a rollout)."""
        answers: list[Any] = []

        def answered() -> Any:
            answers.append(self.invoke(endpoint, *extra, timeout=timeout))
            return answers[-1] if answers[-1].get("deployment") == tag else None

        return self.wait(answered, timeout, lambda: f"an answer with deployment={tag} (last: {answers[-1:]})")

    @staticmethod
    def wait(probe: Callable[[], T | None], timeout: float, what: str | Callable[[], str], interval: float = 2) -> T:
        """`probe()` until it returns something other than None; `what` (or what it returns) names it on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                described = what() if callable(what) else what
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {described}")
            time.sleep(interval)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Cluster]:
    kubeconfig = pytestconfig.getoption("--kubeconfig")
    if not kubeconfig:
        pytest.skip("the end-to-end suite runs against a real cluster: pass --kubeconfig (see tests/e2e/conftest.py)")
    storage = pytestconfig.getoption("--e2e-storage")
    if not storage:
        pytest.fail("--e2e-storage is needed with --kubeconfig: the pods fetch model and code from it")
    saved = dict(os.environ)
    os.environ["MLK_HOME"] = str(tmp_path_factory.mktemp("e2e-home"))
    os.environ["KUBECONFIG"] = str(Path(str(kubeconfig)).expanduser())
    context = pytestconfig.getoption("--kube-context")
    try:
        found = Cluster(os.environ["KUBECONFIG"], context, str(pytestconfig.getoption("--e2e-image")), str(storage))
        # --use: without it the commands below would go to the `default` workspace (local storage, which
        # the pods cannot read)
        found.mlk("workspace", "create", "e2e", "--storage-connection-string", found.storage, "--use")
        yield found
    finally:
        os.environ.clear()
        os.environ.update(saved)
