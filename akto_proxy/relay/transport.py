"""
TCP transport helpers shared by the client side and the upstream side.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp

from akto_proxy import compat


def setNoDelay(transport: Any) -> None:
    """
    Disable Nagle on a TCP transport (or the TCP transport under TLS), so a
    small SSE event or JSON answer leaves at once.
    """
    for _ in range(3):
        if transport is None:
            return
        if hasattr(transport, "setTcpNoDelay"):
            try:
                transport.setTcpNoDelay(True)
            except Exception:
                pass
            return
        transport = getattr(transport, "transport", None)


def sendNow(transport: Any) -> None:
    """
    Send what a TCP transport holds now rather than at the reactor's next
    turn, so that an answer leaves before the bookkeeping that follows it
    (the access log, the audit record, the upstream pool) instead of after:
    the peer's wait loses that work (some 5% of the added latency at
    concurrency 1).

    Only a connected TCP transport with no close pending, and whose producer,
    if any, is a streaming one not paused (the client side's L{HTTPChannel}),
    is touched, so that the send calls no producer back; on anything else
    (a TLS layer, which batches its own writes; a closing connection, whose
    close the reactor must complete) the reactor sends as usual.  A send that fails leaves the data buffered and the
    transport registered for writing, so the reactor meets the error as it
    would have.
    """
    if (
        isinstance(transport, tcp.Connection)
        and transport.connected
        and not transport.disconnecting
        and (transport.producer is None or (transport.streamingProducer and not transport.producerPaused))
        and compat.pendingBytes(transport) > 0
    ):
        transport.doWrite()
