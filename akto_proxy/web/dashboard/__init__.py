"""
C{/dashboard}: the operator's page, static files served by the proxy.

The page holds no data: it asks for an admin API key in the browser (kept
in the tab's sessionStorage) and calls C{/api/...} with
C{Authorization: Bearer}; every figure needs the admin key.  The shell
itself (this HTML, script, style sheet and icon, the same for everyone) is
served without a key, since a browser cannot send a bearer header when it
navigates.  A strict Content-Security-Policy keeps it to the proxy's own
origin: no inline script, no other host, no framing.
"""

from __future__ import annotations

import os
from typing import Optional, Union

from twisted.web.resource import Resource
from twisted.web.server import Request

HERE = os.path.dirname(os.path.abspath(__file__))

#: name under /dashboard/ -> (file, content type)
FILES = {
    "": ("index.html", b"text/html; charset=utf-8"),
    "index.html": ("index.html", b"text/html; charset=utf-8"),
    "app.js": ("app.js", b"text/javascript; charset=utf-8"),
    "app.css": ("app.css", b"text/css; charset=utf-8"),
    "favicon.svg": ("favicon.svg", b"image/svg+xml"),
}

CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    b"form-action 'none'; frame-ancestors 'none'"
)

HEADERS = {
    b"content-security-policy": CSP,
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
    b"cache-control": b"no-cache",
}


def load() -> dict[str, tuple[bytes, bytes]]:
    """
    The page's files, read once.
    """
    files = {}
    for name, (path, contentType) in FILES.items():
        with open(os.path.join(HERE, path), "rb") as f:
            files[name] = (f.read(), contentType)
    return files


class Dashboard(Resource):
    """
    C{GET /dashboard} (and C{/dashboard/}) the page, C{/dashboard/app.js},
    C{app.css}, C{favicon.svg} its parts; anything else 404.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.files = load()

    def render(self, request: Request) -> Union[bytes, int]:
        for name, value in HEADERS.items():
            request.setHeader(name, value)
        path = request.postpath or []
        found: Optional[tuple[bytes, bytes]] = None
        if not path:
            found = self.files[""]
        elif len(path) == 1:
            found = self.files.get(path[0].decode("utf-8", "replace"))
        if found is None:
            return self._plain(request, 404, b"no such file\n")
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
            return self._plain(request, 405, b"use GET\n")
        body, contentType = found
        request.setHeader(b"content-type", contentType)
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        return body if request.method == b"GET" else b""

    @staticmethod
    def _plain(request: Request, status: int, body: bytes) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        return body


__all__ = ["CSP", "Dashboard"]
