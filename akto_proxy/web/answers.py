"""
What a plain HTTP client sees when the proxy says no (SPEC section 5): the
brief's envelope.  The JSON-RPC answers are L{akto_proxy.mcp.answers}.
"""

from __future__ import annotations

import json
import random
from typing import Any, Iterable, Optional

from akto_proxy.inspect.chain import Finding

def newRequestId() -> str:
    """
    A request id: unique, not secret (the random module's generator, seeded
    from the OS at start, costs no system call, unlike secrets).
    """
    return "req_%016x" % random.getrandbits(64)


class Refused(Exception):
    """
    A request refused from code that cannot answer it (reading a request
    header, deep inside admission): raised, and answered by the exchange
    with C{status} and the envelope.
    """

    def __init__(self, status: int, message: str, code: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or STATUS_CODES.get(status, "error")


STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


def envelope(
    status: int,
    message: str,
    requestId: str,
    code: Optional[str] = None,
    threats: Iterable[Finding] = (),
    extra: Optional[dict[str, Any]] = None,
) -> bytes:
    error: dict[str, Any] = {
        "code": code or STATUS_CODES.get(status, "error"),
        "message": message,
        "request_id": requestId,
        "threats_detected": [f.asJSON() for f in threats],
    }
    if extra:
        error.update(extra)
    return json.dumps({"success": False, "error": error}, separators=(",", ":")).encode("utf-8")
