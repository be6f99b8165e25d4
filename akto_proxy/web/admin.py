"""
The proxy's own API under C{/api} (SPEC section 7): JSON in the brief's
envelope, for keys whose role has C{admin: true}
(C{Authorization: Bearer {api_key}}: none or unknown 401, not an admin 403).

    GET  /api/stats                 counters and latency percentiles over 1 m,
                                    1 h, 24 h; a time series for charts
    GET  /api/events                recent exchanges and notable messages,
                                    filtered, newest first, paginated
    GET  /api/rules                 per check and rule: how often it fired, on
                                    what, and what monitor mode would have blocked
    GET  /api/pins                  pins and pending changes, with a diff
    GET  /api/pins/{id}             one pin
    POST /api/pins/{id}/approve     the pending definition becomes the pin
    POST /api/pins/{id}/reject      the pending definition stays refused

Every call is logged with the key's name; every change of a pin too.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Optional, Union

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request

from akto_proxy.config.model import ApiKey
from akto_proxy.observe.recorder import REFUSED_OUTCOMES, Query
from akto_proxy.web.answers import envelope, newRequestId

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService

log = Logger()


def bearer(request: Request) -> Optional[bytes]:
    value = request.getHeader("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode("utf-8")


def jsonAnswer(request: Request, status: int, body: bytes) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"content-length", str(len(body)).encode("ascii"))
    return body


def success(requestId: str, response: Any) -> bytes:
    return json.dumps(
        {
            "success": True,
            "data": {
                "response": response,
                "metadata": {"request_id": requestId, "latency_ms": 0, "threats_detected": [], "guardrails_applied": []},
            },
        },
        ensure_ascii=False,
    ).encode("utf-8")


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class AdminResource(Resource):
    """
    A leaf of the admin API: the key checked, the answer enveloped, the
    call logged.  Subclasses give C{get}/C{post}(request, key, path).
    """

    isLeaf = True
    #: any valid key may call (C{/health}); else an admin key is needed
    anyKey = False

    def __init__(self, service: "ProxyService"):
        super().__init__()
        self.service = service

    def render(self, request: Request) -> Union[bytes, int]:
        rid = newRequestId()
        request.setHeader(b"x-akto-request-id", rid.encode("ascii"))
        rt = self.service.runtime
        key = rt.keys.lookup(bearer(request))
        path = [p.decode("utf-8", "replace") for p in request.postpath if p]
        where = request.path.decode("latin-1")
        client = getattr(request.getClientAddress(), "host", "?")
        if key is None:
            log.info("admin call refused: {reason}", reason="missing or unknown API key", path=where, client=client, request_id=rid)
            request.setHeader(b"www-authenticate", b'Bearer realm="akto-proxy"')
            return jsonAnswer(request, 401, envelope(401, "missing or unknown API key", rid))
        if not self.anyKey and not rt.roles.isAdmin(key):
            log.info("admin call refused: {reason}", reason="key is not an admin", key=key.name, path=where, client=client, request_id=rid)
            return jsonAnswer(request, 403, envelope(403, "this key's roles are not admin", rid, "forbidden"))
        method = request.method.decode("latin-1").lower()
        handler = getattr(self, method if method != "head" else "get", None)
        if handler is None:
            allowed = [m.upper() for m in ("get", "post") if hasattr(self, m)]
            request.setHeader(b"allow", ", ".join(allowed).encode("ascii"))
            return jsonAnswer(request, 405, envelope(405, f"use {' or '.join(allowed)}", rid))
        try:
            response = handler(request, key, path)
        except ApiError as e:
            log.info("admin call refused: {reason}", reason=e.message, key=key.name, path=where, request_id=rid)
            return jsonAnswer(request, e.status, envelope(e.status, e.message, rid, e.code))
        log.info("admin call {method} {path}", method=method.upper(), path=where, key=key.name, request_id=rid)
        return jsonAnswer(request, 200, success(rid, response))


class PinsResource(AdminResource):
    def get(self, request: Request, key: ApiKey, path: list[str]) -> Any:
        store = self.service.pins
        if not path:
            pins = [p.asJSON() for p in store.pins()]
            return {"pins": pins, "pending": [p for p in pins if p["status"] != "pinned"]}
        pin = store.get(path[0])
        if pin is None or len(path) > 1:
            raise ApiError(404, f"no pin {path[0]!r}", "not_found")
        return pin.asJSON()

    def post(self, request: Request, key: ApiKey, path: list[str]) -> Any:
        if len(path) != 2 or path[1] not in ("approve", "reject"):
            raise ApiError(404, "POST /api/pins/{id}/approve or /reject", "not_found")
        store = self.service.pins
        pin = store.get(path[0])
        if pin is None:
            raise ApiError(404, f"no pin {path[0]!r}", "not_found")
        if pin.pending is None:
            raise ApiError(409, f"pin {pin.id} has no pending change", "conflict")
        action = path[1]
        pin = store.approve(pin.id) if action == "approve" else store.reject(pin.id)
        assert pin is not None
        log.info(
            "pin {pin_id} {action}d by {key}: {kind} {name} on {endpoint}",
            pin_id=pin.id,
            action=action,
            key=key.name,
            kind=pin.kind,
            name=pin.name,
            endpoint=pin.endpoint,
        )
        return pin.asJSON()


def arg(request: Request, name: str) -> Optional[str]:
    """
    A query parameter (the last one given), or None when absent or empty.
    """
    values = (request.args or {}).get(name.encode("ascii"))
    if not values:
        return None
    value = values[-1].decode("utf-8", "replace").strip()
    return value or None


def timeArg(request: Request, name: str) -> Optional[float]:
    """
    A time parameter: seconds since the epoch, or ISO 8601 (UTC unless it
    says otherwise).
    """
    value = arg(request, name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name}: seconds since the epoch or an ISO 8601 time, not {value!r}", "bad_request")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def intArg(request: Request, name: str, default: Optional[int], low: int, high: int) -> Optional[int]:
    value = arg(request, name)
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise ApiError(400, f"{name}: a whole number, not {value!r}", "bad_request")
    if not low <= n <= high:
        raise ApiError(400, f"{name}: between {low} and {high}", "bad_request")
    return n


def _noSubpath(path: list[str]) -> None:
    if path:
        raise ApiError(404, "no such API", "not_found")


class StatsResource(AdminResource):
    """
    C{GET /api/stats[?series=10m|1h|24h|none]}: totals since start, the
    windows C{1m}, C{1h} and C{24h} (requests, blocked, errors, rate
    limited, latency percentiles, threats by check and rule, refusals by
    tool, key and upstream), and a time series for charts.
    """

    SERIES = ("10m", "1h", "24h", "none")

    def get(self, request: Request, key: ApiKey, path: list[str]) -> Any:
        _noSubpath(path)
        series = arg(request, "series") or "1h"
        if series not in self.SERIES:
            raise ApiError(400, f"series: one of {', '.join(self.SERIES)}", "bad_request")
        return self.service.recorder.stats(None if series == "none" else series)


class EventsResource(AdminResource):
    """
    C{GET /api/events}: the kept exchanges and notable messages, newest
    first.  Filters (all optional, combined): C{kind} (C{exchange},
    C{message}), C{outcome} (comma-separated; C{refused} stands for every
    refusal), C{check}, C{rule}, C{key}, C{upstream} (a glob with C{*}, else
    a substring), C{tool} (a glob; messages only), C{request_id}, C{since},
    C{until} (epoch seconds or ISO 8601).  Pages: C{limit} (1-1000, 100),
    C{cursor} (the C{next_cursor} of the page before).
    """

    KINDS = ("exchange", "message")

    def get(self, request: Request, key: ApiKey, path: list[str]) -> Any:
        _noSubpath(path)
        kind = arg(request, "kind")
        if kind is not None and kind not in self.KINDS:
            raise ApiError(400, "kind: exchange or message", "bad_request")
        outcomes: Optional[frozenset[str]] = None
        outcome = arg(request, "outcome")
        if outcome is not None:
            names = {o.strip() for o in outcome.split(",") if o.strip()}
            if "refused" in names:
                names = (names - {"refused"}) | REFUSED_OUTCOMES
            outcomes = frozenset(names)
        query = Query(
            kind=kind,
            outcomes=outcomes,
            check=arg(request, "check"),
            rule=arg(request, "rule"),
            key=arg(request, "key"),
            upstream=arg(request, "upstream"),
            tool=arg(request, "tool"),
            requestId=arg(request, "request_id"),
            since=timeArg(request, "since"),
            until=timeArg(request, "until"),
        )
        limit = intArg(request, "limit", 100, 1, 1000)
        cursor = intArg(request, "cursor", None, 0, 2**62)
        assert limit is not None
        recorder = self.service.recorder
        events, nextCursor = recorder.events(query, limit, cursor)
        return {
            "events": events,
            "next_cursor": str(nextCursor) if nextCursor is not None else None,
            "kept": {"exchanges": len(recorder.exchanges), "messages": len(recorder.messages), "capacity": recorder.exchanges.maxlen},
        }


class RulesResource(AdminResource):
    """
    C{GET /api/rules}: per check and rule, how often it fired, on what
    (top tools, upstreams, locations, keys), what it blocked or redacted,
    and in C{monitor} mode what it would have blocked; the configured rules
    that never fired; the latest messages monitor mode relayed but would
    have blocked.
    """

    def get(self, request: Request, key: ApiKey, path: list[str]) -> Any:
        _noSubpath(path)
        return self.service.recorder.rulesReport(self.service.runtime.config)


class Api(Resource):
    """
    C{/api/...}: the collections, each an L{AdminResource}.
    """

    def __init__(self, service: "ProxyService"):
        super().__init__()
        self.putChild(b"stats", StatsResource(service))
        self.putChild(b"events", EventsResource(service))
        self.putChild(b"rules", RulesResource(service))
        self.putChild(b"pins", PinsResource(service))

    def getChild(self, path: bytes, request: Request) -> Resource:
        return _NotFound()

    def render(self, request: Request) -> bytes:
        rid = newRequestId()
        return jsonAnswer(request, 404, envelope(404, "no such API; see /api/stats, /api/events, /api/rules, /api/pins", rid))


class _NotFound(Resource):
    isLeaf = True

    def render(self, request: Request) -> bytes:
        rid = newRequestId()
        return jsonAnswer(request, 404, envelope(404, "no such API", rid))


__all__ = [
    "AdminResource",
    "Api",
    "ApiError",
    "EventsResource",
    "PinsResource",
    "RulesResource",
    "StatsResource",
    "bearer",
    "jsonAnswer",
    "success",
]
