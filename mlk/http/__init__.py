"""A small, fast HTTP/1.1 core (httptools + asyncio/uvloop) shared by mlk's score.py server and its router.

Apps are a handler `Request -> Response | Awaitable[Response]`; see protocol.py for deadlines. limits.py
(what a client may send, and the statuses past it) and head.py (response heads, reason phrases) are the
router's too.
"""

from mlk.http.limits import Limits
from mlk.http.message import Request, Response, json_response, text_response
from mlk.http.protocol import Handler
from mlk.http.serve import HttpServer, bind, new_event_loop

__all__ = [
    "Handler",
    "HttpServer",
    "Limits",
    "Request",
    "Response",
    "bind",
    "json_response",
    "new_event_loop",
    "text_response",
]
