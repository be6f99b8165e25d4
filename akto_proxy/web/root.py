"""
The resource tree: C{/proxy/...}, C{/.well-known/{name}/proxy/...} and the
proxy's own endpoints.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional, Union

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request

from akto_proxy import __version__
from akto_proxy.relay.rewrite import WELL_KNOWN
from akto_proxy.web.admin import bearer
from akto_proxy.web.answers import envelope, newRequestId
from akto_proxy.web.dashboard import Dashboard
from akto_proxy.web.proxy import ProxyResource

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService

log = Logger()


def _json(request: Request, status: int, body: bytes) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"content-length", str(len(body)).encode("ascii"))
    return body


class NotFound(Resource):
    """
    A 404 in the envelope, logged with the client's address and the key's
    name when one came.
    """

    isLeaf = True

    def __init__(self, service: "Optional[ProxyService]" = None):
        super().__init__()
        self.service = service

    def render(self, request: Request) -> bytes:
        rid = newRequestId()
        request.setHeader(b"x-akto-request-id", rid.encode("ascii"))
        client = getattr(request.getClientAddress(), "host", "?")
        path = request.path[:200].decode("latin-1")
        service = getattr(self, "service", None)
        key = None
        if service is not None:
            presented = request.requestHeaders.getRawHeaders(service.runtime.config.access_control.header.encode("latin-1"))
            found = service.runtime.keys.lookup(presented[-1] if presented else bearer(request))
            key = found.name if found is not None else None
        log.info("refused {path}: {reason}", path=path, reason="no such resource", key=key, client=client, request_id=rid, status=404)
        return _json(request, 404, envelope(404, "no such resource; proxy URLs start with /proxy/", rid))


class Health(Resource):
    """
    C{GET /health} with C{Authorization: Bearer {api_key}}: liveness and
    readiness in the brief's envelope.
    """

    isLeaf = True

    def __init__(self, service: "ProxyService"):
        super().__init__()
        self._service = service

    def render(self, request: Request) -> bytes:
        rid = newRequestId()
        request.setHeader(b"x-akto-request-id", rid.encode("ascii"))
        rt = self._service.runtime
        key = rt.keys.lookup(bearer(request))
        client = getattr(request.getClientAddress(), "host", "?")
        if key is None:
            log.info("health call refused: {reason}", reason="missing or unknown API key", path="/health", client=client, request_id=rid, status=401)
            request.setHeader(b"www-authenticate", b'Bearer realm="akto-proxy"')
            return _json(request, 401, envelope(401, "missing or unknown API key", rid))
        if request.method not in (b"GET", b"HEAD"):
            log.info("health call refused: {reason}", reason="method not allowed", key=key.name, path="/health", client=client, request_id=rid, status=405)
            return _json(request, 405, envelope(405, "use GET", rid))
        log.info("health call", key=key.name, path="/health", client=client, request_id=rid, status=200)
        body = {
            "success": True,
            "data": {
                "response": self._service.health(),
                "metadata": {
                    "request_id": rid,
                    "latency_ms": 0,
                    "threats_detected": [],
                    "guardrails_applied": [],
                },
            },
        }
        return _json(request, 200, json.dumps(body).encode("utf-8"))


class WellKnown(Resource):
    """
    C{/.well-known/{name}/proxy/{protocol}/{host}/{path}}: the upstream's
    OAuth discovery documents, relayed.
    """

    def __init__(self, service: "ProxyService"):
        super().__init__()
        self._service = service
        for name in WELL_KNOWN:
            self.putChild(name.encode("ascii"), ProxyResource(service, wellKnown=name))

    def getChild(self, path: bytes, request: Request) -> Resource:
        return NotFound(self._service)


class Root(Resource):
    def __init__(self, service: "ProxyService", admin: bool = True, proxy: bool = True):
        super().__init__()
        self._service = service
        if proxy:
            self.putChild(b"proxy", ProxyResource(service))
            self.putChild(b".well-known", WellKnown(service))
        if admin:
            self.putChild(b"health", Health(service))
            self.putChild(b"dashboard", Dashboard())
            for name, child in service.adminResources().items():
                self.putChild(name, child)

    def getChild(self, path: bytes, request: Request) -> Resource:
        return NotFound(self._service)

    def render(self, request: Request) -> Union[bytes, int]:
        body = json.dumps({"service": "akto-proxy", "version": __version__}).encode("utf-8")
        return _json(request, 200, body)


__all__ = ["Root"]
