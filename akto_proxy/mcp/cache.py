"""
The response cache: what may be kept, under which key, for how long, and
the store itself (least recently used out first, bounded in bytes and
entries).

What is kept is the upstream's raw answer (decoded, never judged): a hit is
handed to the pipeline of the configuration in force as if the upstream had
just sent it, so that role list filters, pins, tool poisoning and response
checks apply to it as they stand, and a policy change never needs the cache
to notice.

Cached (L{cacheableRequest}, L{freshness}):

- a single JSON-RPC request for C{tools/list}, C{prompts/list},
  C{resources/list}, C{resources/templates/list} or C{resources/read}, not
  carrying C{inputResponses}/C{requestState} (2026-07-28 multi round-trip:
  they MUST NOT be cached), answered with a C{result} (not an error, not
  C{resultType: "input_required"}).  Fresh for the result's C{ttlMs}
  (2026-07-28 C{CacheableResult}, C{schema/2026-07-28/schema.ts}; C{0} or
  negative: not kept), else for C{cache.ttl};
- a plain HTTP C{GET} whose answer allows a shared cache (L{httpFreshness}:
  RFC 9111 C{Cache-Control}).

An entry that is stale but has an C{ETag} stays, to be revalidated with
C{If-None-Match}; a C{304} makes it fresh again.

The key (L{cacheKeys}) holds everything that can change the upstream's raw
answer: the upstream URL, the method and its parameters, the client's
C{MCP-Protocol-Version}, a digest of the request headers that reach the
upstream (its C{Authorization}, C{Cookie} and API-key headers among them:
only a SHA-256 over them, never their values) and the session
(C{Mcp-Session-Id}) unless the server marked the result C{cacheScope:
"public"}.  The proxy's own key never reaches the upstream, so it is not in
the key: the answer is the same for every proxy key, and what each key may
see of it is decided again on every hit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from typing import Any, Iterable, Optional, Sequence

from twisted.application.service import Service
from twisted.logger import Logger

from akto_proxy.config import Config
from akto_proxy.config.model import CacheConfig
from akto_proxy.mcp.jsonrpc import encode
from akto_proxy.mcp.pipeline import SERVER_REQUEST, Context, Item, StageResult

log = Logger()

#: the methods whose results are cached (2026-07-28 caching.mdx, "Cacheable
#: Results"; server/discover is the proxy's to relay fast, never to keep)
CACHEABLE_METHODS = frozenset(("tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"))

#: what a server's notification makes stale, by method (its upstream's
#: entries of those methods)
INVALIDATES = {
    "notifications/tools/list_changed": ("tools/list",),
    "notifications/prompts/list_changed": ("prompts/list",),
    "notifications/resources/list_changed": ("resources/list", "resources/templates/list"),
    "notifications/resources/updated": ("resources/read",),
}

#: request headers that cannot change the upstream's answer, or that the key
#: holds otherwise (the session, the protocol version, the body's mirror):
#: every other header the upstream gets is in the key's digest
UNKEYED = frozenset(
    (
        b"host",
        b"content-length",
        b"content-type",
        b"content-encoding",
        b"accept",
        b"accept-encoding",
        b"accept-language",
        b"user-agent",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-akto-request-id",
        b"x-request-id",
        b"traceparent",
        b"tracestate",
        b"baggage",
        b"mcp-session-id",
        b"mcp-protocol-version",
        b"mcp-method",
        b"mcp-name",
        b"last-event-id",
        b"if-none-match",
        b"cache-control",
        b"pragma",
    )
)

#: a request that carries one of these is the client's own cache business
#: (or a partial answer): relayed, never answered from the cache
CLIENT_CONDITIONS = (b"if-none-match", b"if-modified-since", b"if-match", b"if-unmodified-since", b"if-range", b"range")

#: answer headers never replayed from the cache (per hop, per answer, or
#: the proxy's own)
UNREPLAYED = frozenset((b"content-length", b"content-encoding", b"set-cookie", b"x-akto-request-id", b"age", b"x-akto-cache", b"mcp-session-id"))

#: bytes an entry costs beside its body and key (the object, the index)
OVERHEAD = 256

#: the labels of the cache counters: the cacheable methods and GET
METHOD_LABELS = CACHEABLE_METHODS | {"GET"}


def cacheableRequest(obj: Any) -> bool:
    """
    Is C{obj} (a single JSON-RPC message) a request whose answer may be
    cached?
    """
    if type(obj) is not dict or obj.get("method") not in CACHEABLE_METHODS or "id" not in obj:
        return False
    params = obj.get("params")
    if params is None:
        return True
    return isinstance(params, dict) and "inputResponses" not in params and "requestState" not in params


def canonicalParams(params: Any) -> str:
    """
    The request's parameters as they key its answer: C{_meta} without its
    per-request C{progressToken}.
    """
    if not isinstance(params, dict):
        return "null" if params is None else json.dumps(params, sort_keys=True)
    meta = params.get("_meta")
    if isinstance(meta, dict) and "progressToken" in meta:
        params = dict(params, _meta={k: v for k, v in meta.items() if k != "progressToken"})
        if not params["_meta"]:
            del params["_meta"]
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def headerDigest(headers: Iterable[tuple[bytes, Sequence[bytes]]]) -> str:
    """
    A SHA-256 over the request headers (as the upstream gets them) that may
    change its answer: credentials, cookies, API keys, custom headers.
    Only the digest is kept: never a credential.
    """
    h = hashlib.sha256()
    for name, values in sorted((n.lower(), list(v)) for n, v in headers if n.lower() not in UNKEYED):
        h.update(name)
        for v in values:
            h.update(b"\0")
            h.update(v)
        h.update(b"\n")
    return h.hexdigest()


def cacheKeys(upstreamURL: bytes, method: str, params: str, version: Optional[str], digest: str, session: Optional[str]) -> tuple[str, str]:
    """
    The key of an answer kept for its session (C{cacheScope} private or not
    given) and that of one shared across sessions (C{public}); the same when
    there is no session.
    """
    h = hashlib.sha256()
    for part in (upstreamURL.decode("latin-1"), method, params, version or "", digest):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    shared = h.hexdigest()
    if not session:
        return shared, shared
    own = hashlib.sha256((shared + "\0" + session).encode("utf-8", "surrogatepass")).hexdigest()
    return own, shared


def freshness(obj: Any, defaultTTL: float) -> Optional[tuple[float, bool, bool]]:
    """
    How long a JSON-RPC answer is fresh: (seconds, public, carries ttlMs),
    or None when it may not be kept at all (an error, an interim
    C{input_required} result).  0 seconds (C{ttlMs} 0 or negative): kept
    only to be revalidated, when it has an C{ETag}.
    """
    if type(obj) is not dict or "error" in obj:
        return None
    result = obj.get("result")
    if not isinstance(result, dict) or result.get("resultType", "complete") != "complete":
        return None
    ttlMs = result.get("ttlMs")
    hasTTL = isinstance(ttlMs, (int, float)) and not isinstance(ttlMs, bool)
    ttl = max(0.0, float(ttlMs)) / 1000.0 if hasTTL else defaultTTL  # type: ignore[arg-type]
    return ttl, result.get("cacheScope") == "public", hasTTL


def cacheControl(values: Optional[Sequence[bytes]]) -> dict[str, Optional[str]]:
    """
    C{Cache-Control} directives, by lower-case name, with their values.
    """
    out: dict[str, Optional[str]] = {}
    for value in values or ():
        for part in value.decode("latin-1").split(","):
            name, sep, arg = part.strip().partition("=")
            if name:
                out[name.lower()] = arg.strip().strip('"') if sep else None
    return out


def _seconds(value: Optional[str]) -> Optional[int]:
    try:
        return max(0, int(value)) if value is not None else None
    except ValueError:
        return None


def httpFreshness(headers: dict[bytes, Sequence[bytes]], authorized: bool) -> Optional[float]:
    """
    How long a shared cache may keep a C{200} answer to a C{GET} (RFC 9111):
    C{s-maxage}, else C{max-age}, less C{Age}; 0 when it must be
    revalidated (C{no-cache}, or only an C{ETag}); None when it may not be
    kept (C{no-store}, C{private}, C{Set-Cookie}, C{Vary: *} or on headers
    outside the key, an answer to an authorized request that does not say
    C{public}, C{s-maxage} or C{must-revalidate}, nothing that allows it).

    @param headers: the answer's headers by lower-case name.
    """
    cc = cacheControl(headers.get(b"cache-control"))
    if "no-store" in cc or "private" in cc or b"set-cookie" in headers:
        return None
    for value in headers.get(b"vary", ()):
        for name in value.split(b","):
            name = name.strip().lower()
            if name == b"*" or (name in UNKEYED and name != b"accept-encoding"):
                return None
    if authorized and not ("public" in cc or "s-maxage" in cc or "must-revalidate" in cc):
        return None
    etag = b"etag" in headers
    if "no-cache" in cc:
        return 0.0 if etag else None
    lifetime = _seconds(cc.get("s-maxage")) if "s-maxage" in cc else _seconds(cc.get("max-age"))
    if lifetime is None:
        return 0.0 if etag else None
    ages = headers.get(b"age")
    age = _seconds(ages[-1].decode("latin-1")) if ages else 0
    fresh = float(lifetime - (age or 0))
    if fresh <= 0:
        return 0.0 if etag else None
    return fresh


class Entry:
    """
    One kept answer.

    @ivar body: the upstream's answer, decoded (JSON-RPC: the message as it
        came, its id that of the request that fetched it).
    @ivar mcp: a JSON-RPC answer (else a plain HTTP answer).
    @ivar sse: it came as an SSE event (and is served as one to a client
        that accepts it).
    @ivar headers: a plain HTTP answer's headers, to replay.
    @ivar lifetime: seconds it is fresh for once (re)validated.
    @ivar hasTTL: its result carries C{ttlMs} (rewritten to what is left).
    """

    __slots__ = ("key", "origin", "method", "body", "ctype", "headers", "mcp", "sse", "storedAt", "lifetime", "etag", "hasTTL", "size", "parts")

    def __init__(
        self,
        key: str,
        origin: str,
        method: str,
        body: bytes,
        ctype: bytes,
        storedAt: float,
        lifetime: float,
        etag: Optional[bytes] = None,
        mcp: bool = True,
        sse: bool = False,
        headers: Sequence[tuple[bytes, Sequence[bytes]]] = (),
        hasTTL: bool = False,
        parsed: Any = None,
    ):
        self.key = key
        self.origin = origin
        self.method = method
        self.body = body
        self.ctype = ctype
        self.storedAt = storedAt
        self.lifetime = lifetime
        self.etag = etag
        self.mcp = mcp
        self.sse = sse
        self.headers = tuple(headers)
        self.hasTTL = hasTTL
        #: a JSON-RPC answer as the bytes around its id (and ttlMs): a hit
        #: puts its own in, without encoding the answer again
        self.parts: Optional[list[bytes]] = None
        if mcp:
            if parsed is None:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
            self.parts = _template(parsed, hasTTL)
            if self.parts is not None:
                self.body = b""  # the parts hold it
        kept = sum(map(len, self.parts)) if self.parts is not None else len(self.body)
        self.size = kept + len(key) + sum(len(n) + sum(len(v) for v in vs) for n, vs in self.headers) + OVERHEAD

    def age(self, now: float) -> float:
        return max(0.0, now - self.storedAt)

    def fresh(self, now: float) -> bool:
        return now < self.storedAt + self.lifetime

    def answer(self, requestId: Any, now: float) -> bytes:
        """
        A JSON-RPC entry as the answer to the request C{requestId}: its id
        that one, its C{ttlMs} what is left of it.
        """
        ttl = max(0, int((self.lifetime - self.age(now)) * 1000))
        if self.parts is not None:
            rid = encode(requestId)
            ttlMs = b"%d" % ttl
            return b"".join(rid if p == _ID_MARK else ttlMs if p == _TTL_MARK else p for p in self.parts)
        obj = json.loads(self.body)
        obj["id"] = requestId
        result = obj.get("result")
        if self.hasTTL and isinstance(result, dict):
            result["ttlMs"] = ttl
        return encode(obj)


_ID = "\x00akto-cache-id\x00"
_TTL = "\x00akto-cache-ttl\x00"
_ID_MARK = encode(_ID)
_TTL_MARK = encode(_TTL)
_MARKS = re.compile(b"(" + re.escape(_ID_MARK) + b"|" + re.escape(_TTL_MARK) + b")")


def _template(obj: Any, hasTTL: bool) -> Optional[list[bytes]]:
    """
    A JSON-RPC answer encoded once, split around its id and its
    C{result.ttlMs} (the marks stand in the list where a hit puts its own);
    None if a mark is found elsewhere in it too.
    """
    if type(obj) is not dict:
        return None
    obj["id"] = _ID
    result = obj.get("result")
    if hasTTL and isinstance(result, dict):
        result["ttlMs"] = _TTL
    parts = _MARKS.split(encode(obj))
    if parts.count(_ID_MARK) != 1 or parts.count(_TTL_MARK) != (1 if hasTTL and isinstance(result, dict) else 0):
        return None
    return parts


class Slot:
    """
    A cacheable request on its way: where its answer goes in the cache.

    @ivar own: the key for its session (or the only one).
    @ivar shared: the key across sessions (C{cacheScope: "public"}).
    @ivar method: the JSON-RPC method, or C{GET}.
    @ivar requestId: the JSON-RPC request's id (None for a GET).
    @ivar authorized: the request carries C{Authorization}.
    @ivar stale: the entry being revalidated (sent with C{If-None-Match}).
    @ivar etag: the upstream answer's C{ETag}.
    @ivar storable: the upstream's answer headers allow keeping it.
    """

    __slots__ = ("own", "shared", "method", "requestId", "authorized", "stale", "etag", "storable", "done")

    def __init__(self, own: str, shared: str, method: str, requestId: Any, authorized: bool):
        self.own = own
        self.shared = shared
        self.method = method
        self.requestId = requestId
        self.authorized = authorized
        self.stale: Optional[Entry] = None
        self.etag: Optional[bytes] = None
        self.storable = True
        self.done = False

    @property
    def mcp(self) -> bool:
        return self.method != "GET"

    def keys(self) -> tuple[str, ...]:
        return (self.own, self.shared) if self.own != self.shared else (self.own,)


class ResponseCache(Service):
    """
    The store: entries by key, least recently used first out, at most
    C{max_size} bytes and C{max_entries} entries; an index by upstream
    origin and method for invalidation.  A service part, so that a reload
    reaches it (L{reconfigure}).
    """

    name = "cache"

    def __init__(self, config: Config, clock: Any):
        self.clock = clock
        self.settings: CacheConfig = config.cache
        self._policy = self._policyOf(config)
        self.entries: "OrderedDict[str, Entry]" = OrderedDict()
        self.size = 0
        self._index: dict[tuple[str, str], set[str]] = {}
        #: (what, method label) -> count; what: hits, misses,
        #: revalidations, evictions, invalidations
        self.counts: dict[tuple[str, str], int] = {}

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    @staticmethod
    def _policyOf(config: Config) -> tuple[Any, ...]:
        """
        What decides what a client may see of an answer: a reload that
        changes it drops every entry.
        """
        return (config.access_control, config.upstreams, config.threat_detection, config.guardrails, config.mcp, config.limits)

    def reconfigure(self, config: Config) -> None:
        policy = self._policyOf(config)
        changed = policy != self._policy or config.cache != self.settings
        self._policy = policy
        self.settings = config.cache
        if changed and self.entries:
            log.info("response cache cleared: the configuration changed ({entries} entries)", entries=len(self.entries))
            self.clear()

    def count(self, what: str, method: str, n: int = 1) -> None:
        label = method if method in METHOD_LABELS else "other"
        self.counts[(what, label)] = self.counts.get((what, label), 0) + n

    # -- the store

    def get(self, keys: Iterable[str]) -> Optional[Entry]:
        """
        The entry under the first of C{keys} that has one (fresh, or stale
        with an ETag to revalidate by), made the most recently used; a
        stale entry without one is dropped.
        """
        now = self.clock.seconds()
        for key in keys:
            entry = self.entries.get(key)
            if entry is None:
                continue
            if not entry.fresh(now) and entry.etag is None:
                self._drop(key)
                continue
            self.entries.move_to_end(key)
            return entry
        return None

    def put(self, entry: Entry) -> bool:
        """
        Keep C{entry} (replacing one under its key), then drop the least
        recently used until within bounds.  False when it is larger than
        C{max_entry}.
        """
        settings = self.settings
        if not settings.enabled or entry.size > settings.max_entry:
            return False
        if entry.key in self.entries:
            self._drop(entry.key)
        self.entries[entry.key] = entry
        self.size += entry.size
        self._index.setdefault((entry.origin, entry.method), set()).add(entry.key)
        while self.entries and (self.size > settings.max_size or len(self.entries) > settings.max_entries):
            oldest = next(iter(self.entries))
            self.count("evictions", self.entries[oldest].method)
            self._drop(oldest)
        return True

    def refresh(self, entry: Entry, lifetime: Optional[float] = None) -> None:
        """
        A revalidated entry is fresh again (for C{lifetime}, else as long as
        before).
        """
        entry.storedAt = self.clock.seconds()
        if lifetime is not None:
            entry.lifetime = lifetime

    def invalidate(self, origin: str, methods: Iterable[str]) -> int:
        """
        Drop the entries of upstream C{origin} for C{methods}.
        """
        dropped = 0
        for method in methods:
            keys = self._index.pop((origin, method), None)
            for key in keys or ():
                entry = self.entries.pop(key, None)
                if entry is not None:
                    self.size -= entry.size
                    dropped += 1
            if keys:
                self.count("invalidations", method, len(keys))
        return dropped

    def clear(self) -> None:
        self.entries.clear()
        self._index.clear()
        self.size = 0

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key, None)
        if entry is None:
            return
        self.size -= entry.size
        keys = self._index.get((entry.origin, entry.method))
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._index[(entry.origin, entry.method)]

    # -- metrics

    def metricsSource(self) -> Iterable[tuple[str, str, dict[str, str], float]]:
        """
        The counters, for L{akto_proxy.observe.metrics.Metrics.addSource}.
        """
        docs = {
            "hits": "Answers served from the response cache (fresh), by method.",
            "misses": "Cacheable requests the response cache could not answer (relayed), by method.",
            "revalidations": "Stale cached answers the upstream confirmed (304 to If-None-Match), by method.",
            "evictions": "Cached answers dropped to stay within cache.max_size / max_entries, by method.",
            "invalidations": "Cached answers dropped by a list_changed (or resources/updated) notification, by method.",
        }
        for (what, method), n in sorted(self.counts.items()):
            yield (f"cache_{what}_total", docs[what], {"method": method}, float(n))

    def stats(self) -> dict[str, Any]:
        """
        For C{/health}.
        """
        return {"enabled": self.enabled, "entries": len(self.entries), "bytes": self.size}


class CacheStage:
    """
    A server's C{notifications/*/list_changed} (or C{resources/updated})
    drops its upstream's cached answers of the methods it concerns, on
    every transport that carries it.  Judges nothing: it only listens.
    """

    name = "cache"
    phases = frozenset((SERVER_REQUEST,))
    on_error = "pass"

    def __init__(self, cache: ResponseCache):
        self.cache = cache

    def quick(self, ctx: Context, direction: str, obj: Any, method: Optional[str], name: Optional[str], prefix: Any, body: Any = None) -> bool:
        self._notice(ctx, method)
        return True

    def judge(self, item: Item, ctx: Context) -> StageResult:
        self._notice(ctx, item.method)
        return None

    def _notice(self, ctx: Context, method: Optional[str]) -> None:
        methods = INVALIDATES.get(method) if method is not None else None
        if methods:
            dropped = self.cache.invalidate(ctx.target.origin, methods)
            if dropped:
                log.info(
                    "response cache: {method} from {upstream} dropped {dropped} answers",
                    method=method,
                    upstream=ctx.target.origin,
                    dropped=dropped,
                    request_id=ctx.requestId,
                )


__all__ = [
    "CACHEABLE_METHODS",
    "CLIENT_CONDITIONS",
    "CacheStage",
    "Entry",
    "INVALIDATES",
    "ResponseCache",
    "Slot",
    "UNREPLAYED",
    "cacheControl",
    "cacheKeys",
    "cacheableRequest",
    "canonicalParams",
    "freshness",
    "headerDigest",
    "httpFreshness",
]
