"""
The proxy's own API under C{/api} (SPEC section 7): JSON in the brief's
envelope, for keys whose role has C{admin: true}
(C{Authorization: Bearer {api_key}}: none or unknown 401, not an admin 403).

    GET  /api/pins                  pins and pending changes, with a diff
    GET  /api/pins/{id}             one pin
    POST /api/pins/{id}/approve     the pending definition becomes the pin
    POST /api/pins/{id}/reject      the pending definition stays refused

Every call is logged with the key's name; every change of a pin too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, Union

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request

from akto_proxy.config.model import ApiKey
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


class Api(Resource):
    """
    C{/api/...}: the collections, each an L{AdminResource}.
    """

    def __init__(self, service: "ProxyService"):
        super().__init__()
        self.putChild(b"pins", PinsResource(service))

    def getChild(self, path: bytes, request: Request) -> Resource:
        return _NotFound()

    def render(self, request: Request) -> bytes:
        rid = newRequestId()
        return jsonAnswer(request, 404, envelope(404, "no such API; see /api/pins", rid))


class _NotFound(Resource):
    isLeaf = True

    def render(self, request: Request) -> bytes:
        rid = newRequestId()
        return jsonAnswer(request, 404, envelope(404, "no such API", rid))


__all__ = ["AdminResource", "Api", "ApiError", "PinsResource", "bearer", "jsonAnswer", "success"]
