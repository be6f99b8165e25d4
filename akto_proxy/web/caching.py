"""
The response cache on the HTTP side (L{akto_proxy.mcp.cache} holds the
rules and the store): an exchange whose request the pipeline let through
unchanged looks its answer up (L{lookup}); a fresh one is served (L{serve})
after the pipeline of the configuration in force has judged it as it judges
an upstream's answer; a stale one with an C{ETag} is revalidated with
C{If-None-Match}; the upstream's answer to a cacheable request is kept
(L{store}, from a JSON body or from the SSE event that answers it).

Serving keeps the exchange's records what a relayed answer makes of them:
its request id, its MessageEvent (published by the pipeline), its
transport (C{sse} for an answer that came as an SSE event and is served as
one), plus C{cache} on the access line and C{X-Akto-Cache} on the answer.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional, Sequence

from twisted.logger import Logger

from akto_proxy.mcp.cache import (
    CLIENT_CONDITIONS,
    UNREPLAYED,
    Entry,
    Slot,
    cacheControl,
    cacheKeys,
    cacheableRequest,
    canonicalParams,
    freshness,
    headerDigest,
    httpFreshness,
)
from akto_proxy.mcp.jsonrpc import Body
from akto_proxy.relay.rewrite import upstreamWellKnown
from akto_proxy.relay.sse import makeEvent
from akto_proxy.web.slices import sendWhole

if TYPE_CHECKING:
    from akto_proxy.web.proxy import Exchange

log = Logger()

Headers = dict[bytes, tuple[bytes, Sequence[bytes]]]


def _last(values: Optional[Sequence[bytes]]) -> Optional[str]:
    return values[-1].decode("latin-1") if values else None


def lookup(ex: "Exchange", message: Body) -> Optional[Entry]:
    """
    Whether C{ex}'s request is cacheable (then C{ex.cacheSlot} is set), and
    its entry if the cache has one (fresh, or stale to revalidate).
    """
    request = ex.request
    headers = request.requestHeaders
    single = message.single
    if single is not None:
        if request.method != b"POST" or ex.legacy is not None or not cacheableRequest(single):
            return None
        method: str = single["method"]
        params = canonicalParams(single.get("params"))
        requestId = single["id"]
    elif request.method == b"GET" and message.empty:
        if any(headers.hasHeader(h) for h in CLIENT_CONDITIONS):
            return None
        accept = headers.getRawHeaders(b"accept")
        if accept and b"text/event-stream" in b",".join(accept).lower():
            return None  # the MCP server stream, or an SSE feed
        cc = cacheControl(headers.getRawHeaders(b"cache-control"))
        if "no-store" in cc or "no-cache" in cc:
            return None
        method, params, requestId = "GET", "", None
    else:
        return None
    upstream = ex.upstreamHeaders(False)
    digest = headerDigest(upstream.getAllRawHeaders())
    # the upstream the client named (a fallback that answers in its stead
    # serves the same tools: the operator made it its alternate)
    assert ex.target is not None
    named = upstreamWellKnown(ex.wellKnown, ex.target) if ex.wellKnown is not None else ex.target.upstreamURL()
    own, shared = cacheKeys(
        named,
        method,
        params,
        _last(headers.getRawHeaders(b"mcp-protocol-version")),
        digest,
        _last(headers.getRawHeaders(b"mcp-session-id")),
    )
    if method == "GET":
        shared = own  # a plain answer is kept per session too
    slot = ex.cacheSlot = Slot(own, shared, method, requestId, upstream.hasHeader(b"authorization"))
    entry = ex.service.cache.get(slot.keys())
    if entry is not None and not entry.fresh(ex.clock.seconds()):
        slot.stale = entry  # to revalidate: sent with If-None-Match
    return entry


def answered(ex: "Exchange", code: int, headers: Headers) -> None:
    """
    The upstream answered a cacheable request (not a C{304} to a
    revalidation): a miss, and whether its headers let the answer be kept.
    """
    slot = ex.cacheSlot
    assert slot is not None
    ex.service.cache.count("misses", slot.method)
    ex.cacheOutcome = "miss"
    ex.request.setHeader(b"x-akto-cache", b"miss")
    etag = headers.get(b"etag")
    slot.etag = etag[1][-1] if etag else None
    if code != 200 or b"set-cookie" in headers:
        slot.storable = False
    elif slot.mcp and "no-store" in cacheControl(headers[b"cache-control"][1] if b"cache-control" in headers else None):
        slot.storable = False


def store(ex: "Exchange", body: bytes, sse: bool, ctype: bytes = b"application/json", headers: Optional[Headers] = None) -> None:
    """
    Keep the upstream's answer to C{ex}'s cacheable request, raw (before any
    stage judged it), if its rules allow.
    """
    slot = ex.cacheSlot
    if slot is None or slot.done or not slot.storable:
        return
    slot.done = True
    cache = ex.service.cache
    if len(body) > cache.settings.max_entry:
        return  # relayed, not kept (and not encoded again for nothing)
    assert ex.target is not None
    now = ex.clock.seconds()
    if slot.mcp:
        try:
            obj = json.loads(body)
        except ValueError:
            return
        if type(obj) is not dict or obj.get("id") != slot.requestId:
            return
        fresh = freshness(obj, cache.settings.ttl)
        if fresh is None:
            return
        lifetime, public, hasTTL = fresh
        if lifetime <= 0 and slot.etag is None:
            return
        entry = Entry(
            slot.shared if public else slot.own, ex.target.origin, slot.method, body, b"application/json", now, lifetime, slot.etag,
            sse=sse, hasTTL=hasTTL, parsed=obj,
        )
    else:
        assert headers is not None
        lifetime_ = httpFreshness({k: v for k, (_, v) in headers.items()}, slot.authorized)
        if lifetime_ is None:
            return
        replay = [(name, values) for k, (name, values) in headers.items() if k not in UNREPLAYED]
        entry = Entry(slot.own, ex.target.origin, "GET", body, ctype, now, lifetime_, slot.etag, mcp=False, headers=replay)
    cache.put(entry)


def storeEvent(ex: "Exchange", message: Body, data: str) -> None:
    """
    An SSE event of the answer to C{ex}'s cacheable request: kept if it is
    the response to it.
    """
    slot = ex.cacheSlot
    single = message.single
    if slot is None or single is None or "method" in single or single.get("id") != slot.requestId:
        return
    store(ex, data.encode("utf-8", "surrogatepass"), True)


def revalidated(ex: "Exchange", responseHeaders: Headers) -> Entry:
    """
    The upstream confirmed the stale entry (C{304}): fresh again, for what
    the C{304} says (a plain answer), else as long as before.
    """
    slot = ex.cacheSlot
    assert slot is not None and slot.stale is not None
    entry = slot.stale
    lifetime = None
    if not entry.mcp and b"cache-control" in responseHeaders:
        lifetime = httpFreshness({k: v for k, (_, v) in responseHeaders.items()}, slot.authorized)
    ex.service.cache.refresh(entry, lifetime)
    return entry


async def serve(ex: "Exchange", entry: Entry, how: str) -> None:
    """
    Answer C{ex} from C{entry} (C{how}: C{hit} or C{revalidated}), judged
    by the pipeline in force as an upstream's answer would be.
    """
    slot = ex.cacheSlot
    assert slot is not None
    request = ex.request
    cache = ex.service.cache
    cache.count("hits" if how == "hit" else "revalidations", slot.method)
    ex.cacheOutcome = how
    now = ex.clock.seconds()
    request.setHeader(b"x-akto-cache", how.encode("ascii"))
    if not entry.mcp:
        judged = await ex.judgeResponse(entry.body, entry.ctype)
        if ex.finished or judged is None:
            return
        out = entry.body if isinstance(judged, bool) else judged
        ex.status = 200
        request.setResponseCode(200)
        for name, values in entry.headers:
            request.responseHeaders.setRawHeaders(name, values)
        request.setHeader(b"age", str(int(entry.age(now))).encode("ascii"))
    else:
        accept = b",".join(request.requestHeaders.getRawHeaders(b"accept") or ()).lower()
        sse = b"text/event-stream" in accept and (entry.sse or not (b"application/json" in accept or b"*/*" in accept))
        body = entry.answer(slot.requestId, now)
        judged = await ex.judgeResponse(body, b"application/json", "sse" if sse else "http")
        if ex.finished or judged is None:
            return
        out = body if isinstance(judged, bool) else judged
        ex.status = 200
        request.setResponseCode(200)
        session = request.requestHeaders.getRawHeaders(b"mcp-session-id")
        if session:
            request.setHeader(b"mcp-session-id", session[-1])
        if sse:
            ex.transportName = "sse"
            out = makeEvent(out.decode("utf-8", "surrogatepass"), "message").raw
            request.setHeader(b"content-type", b"text/event-stream")
            request.setHeader(b"cache-control", b"no-cache")
            request.setHeader(b"x-accel-buffering", b"no")
        else:
            request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"content-length", str(len(out)).encode("ascii"))
    if request.method == b"HEAD":
        ex.finish()
    else:
        sendWhole(ex, out, ex.finish)  # a large cached answer in slices, as a judged one


__all__ = ["answered", "lookup", "revalidated", "serve", "store", "storeEvent"]
