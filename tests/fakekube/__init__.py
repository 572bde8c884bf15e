"""An in-memory Kubernetes API server over real HTTP, for tests of mlk's Kubernetes side.

No API server can be installed on the machines this project is built on, so the real `kubernetes` client and
the real kopf operator run against this one instead. It keeps the semantics they and mlk rely on: discovery
(CRDs included), CRUD, patches, server-side apply, resourceVersion conflicts, selectors, watches, the status
subresource, finalizers, garbage collection, validation against upstream schemas and CRD schemas, and an optional
simulation of deployments' pods. What differs from a real server is listed in README.md next to this file.

    with FakeKube(simulate_workloads=True) as fake:
        config = fake.kubeconfig(tmp_path / "kubeconfig")   # context "fake"
        ...
"""

from __future__ import annotations

from tests.fakekube.server import FakeKube

__all__ = ["FakeKube"]
