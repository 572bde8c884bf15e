"""Where endpoints and deployments run, behind one interface.

`Compute` (mlk.compute.base) is what every command talks to; `placement` picks the implementation an
endpoint lives on: the embedded default (mlk.local: processes or the Docker runtime) or an attached
Kubernetes cluster (mlk.kube). Commands never ask which one they hold; tests/contract runs one suite
against every implementation.
"""
