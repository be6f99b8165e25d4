"""
What the proxy keeps about one MCP conversation, whatever carries it: the
requests each side has sent and not yet had answered, so that an answer is
judged knowing what it answers (a C{tools/list} result, an elicitation
answer...).  A Streamable HTTP session spans many HTTP requests (POSTs and
a GET stream), a legacy HTTP+SSE session a stream and its POSTs, a WebSocket
one connection; a request without a session is a conversation of its own.
Everything here is bounded: the oldest entries are forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable, NamedTuple, Optional

from akto_proxy.mcp.jsonrpc import idKey, targetOf

#: requests waiting for an answer, per side of one conversation
MAX_PENDING = 1024
#: conversations kept by a L{Conversations} registry
MAX_CONVERSATIONS = 10_000


class Sent(NamedTuple):
    """
    A request that waits for its answer.

    @ivar method: its method.
    @ivar target: the tool, prompt or resource it names (L{targetOf}).
    @ivar modern: sent under the 2026-07-28 revision or later.
    @ivar at: when it was sent (the clock's seconds).
    """

    method: str
    target: Optional[str]
    modern: bool
    at: float


class Correlator:
    """
    The requests of one conversation waiting for their answers, both ways:
    the client's requests to the server, and the server's requests to the
    client (sampling, elicitation, roots).  At most C{limit} each; the
    oldest are forgotten first.  (Ids are new per request, so insertion
    order is age.)
    """

    __slots__ = ("limit", "_client", "_server")

    def __init__(self, limit: int = MAX_PENDING):
        self.limit = limit
        self._client: dict[Any, Sent] = {}
        self._server: dict[Any, Sent] = {}

    def __len__(self) -> int:
        return len(self._client) + len(self._server)

    def _remember(self, table: dict[Any, Sent], msgId: Any, sent: Sent) -> None:
        key = idKey(msgId)
        table.pop(key, None)
        table[key] = sent
        if len(table) > self.limit:
            del table[next(iter(table))]

    def clientRequest(self, obj: dict[str, Any], method: str, target: Optional[str], modern: bool, now: float) -> None:
        """
        The client sent request C{obj} (its C{method}, naming C{target}) to
        the server.
        """
        self._remember(self._client, obj.get("id"), Sent(method, target, modern, now))

    def serverRequest(self, obj: dict[str, Any], now: float) -> None:
        """
        The server sent request C{obj} to the client.
        """
        self._remember(self._server, obj.get("id"), Sent(obj["method"], targetOf(obj), False, now))

    def serverAnswered(self, obj: dict[str, Any]) -> Optional[Sent]:
        """
        The server's response C{obj}: the client request it answers (now
        answered), or None when unknown.
        """
        return self._client.pop(idKey(obj.get("id")), None) if self._client else None

    def clientAnswered(self, obj: dict[str, Any]) -> Optional[Sent]:
        """
        The client's response C{obj}: the server request it answers, or None.
        """
        return self._server.pop(idKey(obj.get("id")), None) if self._server else None

    def withdraw(self, obj: dict[str, Any]) -> None:
        """
        Forget the client request C{obj}: the proxy answered it itself, it
        never reached the server.
        """
        self._client.pop(idKey(obj.get("id")), None)


class Conversation:
    """
    One MCP conversation.

    @ivar correlator: its pending requests.
    @ivar key: what the registry knows it by (None for one of its own).
    @ivar lastUsed: when a message of it was last seen.
    @ivar endpoint: the upstream endpoint (scheme, host, port, path).
    """

    __slots__ = ("correlator", "key", "lastUsed", "endpoint")

    def __init__(self, key: Optional[Hashable] = None, now: float = 0.0, limit: int = MAX_PENDING):
        self.correlator = Correlator(limit)
        self.key = key
        self.lastUsed = now
        #: the upstream endpoint the conversation talks to (set on first
        #: need; a legacy session's is its stream's URL)
        self.endpoint: Optional[str] = None


class Conversations:
    """
    Conversations by key (a Streamable HTTP session: its upstream and
    C{Mcp-Session-Id}), at most C{limit} (the least recently used forgotten
    first), and forgotten after C{idle} seconds without a message.
    """

    def __init__(self, clock: Callable[[], float], limit: int = MAX_CONVERSATIONS, idle: float = 1800.0):
        self._now = clock
        self.limit = limit
        self.idle = idle
        self._live: OrderedDict[Hashable, Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._live

    def get(self, key: Hashable) -> Conversation:
        """
        The conversation known by C{key}, made when new.
        """
        now = self._now()
        conv = self._live.get(key)
        if conv is None or now - conv.lastUsed > self.idle:
            conv = Conversation(key, now)
            self._live[key] = conv
            while len(self._live) > self.limit:
                self._live.popitem(last=False)
        else:
            conv.lastUsed = now
        self._live.move_to_end(key)
        return conv

    def adopt(self, key: Hashable, conv: Conversation) -> None:
        """
        Know C{conv} (a conversation of its own so far: the request that
        opened a session) by C{key} from now on.
        """
        conv.key = key
        conv.lastUsed = self._now()
        self._live[key] = conv
        self._live.move_to_end(key)
        while len(self._live) > self.limit:
            self._live.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._live.pop(key, None)

    def sweep(self) -> int:
        """
        Forget the conversations idle for longer than C{idle}; how many.
        """
        cutoff = self._now() - self.idle
        stale = [k for k, c in self._live.items() if c.lastUsed < cutoff]
        for k in stale:
            del self._live[k]
        return len(stale)


__all__ = ["Conversation", "Conversations", "Correlator", "MAX_PENDING", "Sent"]
