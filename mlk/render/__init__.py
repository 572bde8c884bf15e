"""Pure builders of every Kubernetes object mlk creates: plain dicts in, plain dicts out.

    names      object names (DNS-1123, hashed when long) and labels, shared by CLI, operator and router
    crds       the three CRDs, their schemas generated from schemas/ (structural: see structural, crdcheck)
    crs        OnlineEndpoint / OnlineDeployment / InstanceType resources from resolved az ml files
    extension  `mlk extension install`: namespace, CRDs, RBAC, operator, router, GPU parts; Helm steps
    workload   an endpoint's keys Secret; a deployment's ServiceAccount, Deployment (pod: see pod), Service

No I/O: nothing here talks to a cluster, runs a process or reads a file other than schemas/. The same
input renders the same output, so the rendered objects can be compared, golden-tested and re-applied.
"""

from __future__ import annotations

from mlk.render.crds import crds
from mlk.render.crs import default_instance_type, deployment_cr, endpoint_cr, instance_type_cr
from mlk.render.extension import extension_manifests, helm_commands
from mlk.render.names import GROUP, VERSION, k8s_name
from mlk.render.options import ExtensionOptions
from mlk.render.workload import deployment_objects, endpoint_objects, owned_by

__all__ = [
    "GROUP",
    "VERSION",
    "ExtensionOptions",
    "crds",
    "default_instance_type",
    "deployment_cr",
    "deployment_objects",
    "endpoint_cr",
    "endpoint_objects",
    "extension_manifests",
    "helm_commands",
    "instance_type_cr",
    "k8s_name",
    "owned_by",
]
