"""mlk's operator: kopf handlers that turn OnlineEndpoint/OnlineDeployment resources into workloads.

handlers.py   reconcile endpoints and deployments; follow child Deployments into the status
status.py     the status from a Deployment and its pods (pure): the real failure reasons
"""
