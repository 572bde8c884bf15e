"""The inference router (azureml-fe's job): auth, traffic split, least-loaded balancing, queueing, timeouts.

config.py   the configuration model         sources.py  where it comes from (file now)
state.py    live replicas and queues         balance.py  pure choices (split, mirror, replica)
service.py  per-request decisions            exchange.py one proxied request, streamed
proxy.py    client connections (httptools)   upstream.py replica connections, pooled
auth.py     keys and aml tokens              mirror.py   mirror_traffic copies
headers.py  what crosses, each direction     seams.py    what an exchange needs of router and client

Limits, refusals (414/431/413/400/408), 100 Continue and response heads are mlk.http's (limits.py, head.py):
the router's client side answers exactly as `mlk serve` does (tests/http runs one suite against both).
"""
