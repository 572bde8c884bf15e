"""The embedded default: endpoints on this machine, run by a per-workspace agent (router + replicas).

agent.py        the background process: router, supervisor, reconcile loop, status report
supervisor.py   replicas as `python -m mlk.server` processes: start, ready, restart with backoff
plans.py        desired state → replica plans and the router's configuration
control.py      the commands' side: start the agent, nudge it, wait for its report
endpoints.py    online-endpoint flows        deployments.py  online-deployment flows
runtime.py      status, logs, materialised assets, mlk importable in deployments' environments
"""
