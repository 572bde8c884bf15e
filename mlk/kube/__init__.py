"""Endpoints on Kubernetes computes: what the CLI's commands do when the compute is a cluster.

computes.py     attach: reach the cluster, check the extension, the namespace
extension.py    install/show/update/delete the extension (render → server-side apply)
endpoints.py    online-endpoint flows      deployments.py  online-deployment flows
"""
