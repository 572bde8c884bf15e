"""The two narrow seams an Exchange works through: the router that decides, and the client it answers.

An exchange never sees `service.Router` or `proxy.ClientProtocol` themselves, only these, so either side
can be replaced by a small fake (as upstream.Sink lets the replica side be) and neither side's internals
leak into how one request is forwarded.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from mlk.router.exchange import Exchange
    from mlk.router.state import Replica


class Routing(Protocol):
    """What an exchange asks of the router."""

    @property
    def peer_header(self) -> bytes:
        """The replica-token line (mlk.http.peer) every forwarded request carries; b'' without one."""
        ...

    def handle(self, ex: Exchange) -> None:
        """Decide where `ex` goes: answer it, forward it (`ex.go`), or queue it."""

    def forwarding(self, ex: Exchange) -> None:
        """`ex` now holds a replica slot: request_timeout_ms runs from here (the router's sweep)."""

    def requeue(self, ex: Exchange, failed: Replica, why: str) -> bool:
        """`ex`'s replica failed before taking it: wait for another slot (False: no time left)."""
        ...

    def eject(self, replica: Replica) -> None:
        """`replica` failed too often: out of rotation until it answers a probe."""

    def counted(self, ex: Exchange, event: Literal["retry", "busy"]) -> None:
        """Count a retry on another replica, or a replica's busy answer, for `ex`'s deployment."""

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a slow path (a connect) as a task the router keeps a reference to."""

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        """Call `callback` after `delay` seconds on the router's loop."""

    def finished(self, ex: Exchange) -> None:
        """`ex` is settled: count it, log it, send its mirror copy."""

    def log_failure(self, ex: Exchange, exc: BaseException) -> None:
        """The router itself failed on `ex` (a bug): log it; the client gets a 502."""


class Downstream(Protocol):
    """What an exchange asks of the client connection it answers on."""

    @property
    def gone(self) -> bool:
        """The client closed, or the connection was ended: nobody reads the answer."""
        ...

    def write(self, data: bytes) -> None:
        """Queue bytes of the answer; `flush` sends what is queued in one write."""

    def flush(self) -> None: ...

    def abort(self) -> None:
        """End the connection after what is queued (an answer that cannot be completed)."""

    def set_reading(self, on: bool) -> None:
        """Stop or resume reading the client (its request body) while the replica side cannot take more."""

    def exchange_done(self, ex: Exchange) -> None:
        """`ex` is answered: close, or go on with the next request on the connection."""
