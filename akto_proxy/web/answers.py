"""
What a client sees when the proxy says no (SPEC section 5): the HTTP
envelope, and JSON-RPC answers for refused messages.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional

from akto_proxy.inspect.chain import Finding

REFUSAL_CODE = -31001
HEADER_MISMATCH = -32020
MODERN_REVISION = "2026-07-28"

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


def metadata(requestId: str, findings: Iterable[Finding], guardrails: Iterable[str], latencyMs: Optional[float] = None) -> dict[str, Any]:
    m: dict[str, Any] = {
        "request_id": requestId,
        "threats_detected": [f.asJSON() for f in findings],
        "guardrails_applied": list(guardrails),
    }
    if latencyMs is not None:
        m["latency_ms"] = round(latencyMs, 3)
    return m


def refusal(
    msgId: Any,
    method: Optional[str],
    reason: str,
    meta: dict[str, Any],
    modern: bool = False,
) -> dict[str, Any]:
    """
    The JSON-RPC answer to a refused request: a tool error result the model
    can read for C{tools/call}, a C{-31001} error otherwise.  Under the
    2026-07-28 revision results carry C{resultType} (its schema requires it).
    """
    if method == "tools/call":
        result: dict[str, Any] = {
            "content": [{"type": "text", "text": f"Blocked by akto-proxy: {reason}"}],
            "isError": True,
            "_meta": {"akto": meta},
        }
        if modern:
            result["resultType"] = "complete"
        return {"jsonrpc": "2.0", "id": msgId, "result": result}
    return {
        "jsonrpc": "2.0",
        "id": msgId,
        "error": {"code": REFUSAL_CODE, "message": f"Blocked by akto-proxy: {reason}", "data": meta},
    }


PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"


def isModern(headerVersion: Optional[str], message: Any) -> bool:
    """
    Is this request of the 2026-07-28 revision or later (header or C{_meta})?
    """
    version = headerVersion
    if isinstance(message, dict):
        params = message.get("params")
        if isinstance(params, dict) and isinstance(params.get("_meta"), dict):
            v = params["_meta"].get(PROTOCOL_VERSION_META_KEY)
            if isinstance(v, str):
                version = v
    return isinstance(version, str) and version >= MODERN_REVISION


def rpcError(msgId: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": msgId, "error": err}


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode(obj: Any) -> bytes:
    return _ENCODER.encode(obj).encode("utf-8")
