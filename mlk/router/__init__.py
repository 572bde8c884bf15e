"""The inference router (azureml-fe's job): auth, traffic split, least-loaded balancing, queueing, timeouts.

config.py   the configuration model         sources.py  where it comes from (file now)
state.py    live replicas and queues         balance.py  pure choices (split, mirror, replica)
service.py  per-request decisions            exchange.py one proxied request, streamed
proxy.py    client connections (httptools)   upstream.py replica connections, pooled
auth.py     keys and aml tokens              mirror.py   mirror_traffic copies
"""
