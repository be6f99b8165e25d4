"""
C{GET /metrics}: the Prometheus text format, for keys whose role has
C{admin: true} (C{Authorization: Bearer {api_key}}; none or unknown 401,
not an admin 403, as the rest of the proxy's own endpoints).  With
C{metrics.enabled: false}, 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request

from akto_proxy.web.admin import bearer, jsonAnswer
from akto_proxy.web.answers import envelope, newRequestId

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService

log = Logger()


class MetricsResource(Resource):
    isLeaf = True

    def __init__(self, service: "ProxyService"):
        super().__init__()
        self.service = service

    def render(self, request: Request) -> bytes:
        rid = newRequestId()
        request.setHeader(b"x-akto-request-id", rid.encode("ascii"))
        rt = self.service.runtime
        client = getattr(request.getClientAddress(), "host", "?")
        key = rt.keys.lookup(bearer(request))
        if key is None:
            log.info("admin call refused: {reason}", reason="missing or unknown API key", path="/metrics", client=client, request_id=rid)
            request.setHeader(b"www-authenticate", b'Bearer realm="akto-proxy"')
            return jsonAnswer(request, 401, envelope(401, "missing or unknown API key", rid))
        if not rt.roles.isAdmin(key):
            log.info("admin call refused: {reason}", reason="key is not an admin", key=key.name, path="/metrics", client=client, request_id=rid)
            return jsonAnswer(request, 403, envelope(403, "this key's roles are not admin", rid, "forbidden"))
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET")
            return jsonAnswer(request, 405, envelope(405, "use GET", rid))
        metrics = self.service.metrics
        if not metrics.config.enabled:
            return jsonAnswer(request, 404, envelope(404, "metrics are off (metrics.enabled: false)", rid, "not_found"))
        body = metrics.text()
        request.setResponseCode(200)
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        return body if request.method != b"HEAD" else b""


__all__ = ["MetricsResource"]
