"""
The JSON-RPC answers the proxy gives in place of a refused message (SPEC
section 5), whatever transport carries them.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from akto_proxy.inspect.chain import Finding

#: the proxy's own refusals
REFUSAL_CODE = -31001
#: 2026-07-28: MCP headers that disagree with the body
HEADER_MISMATCH = -32020
#: the JSON-RPC code for an unknown tool (and invalid params)
INVALID_PARAMS = -32602
PARSE_ERROR = -32700


def metadata(requestId: str, findings: Iterable[Finding], guardrails: Iterable[str], latencyMs: Optional[float] = None) -> dict[str, Any]:
    """
    The brief's metadata object: C{request_id}, C{threats_detected},
    C{guardrails_applied} (and C{latency_ms} when known).
    """
    m: dict[str, Any] = {
        "request_id": requestId,
        "threats_detected": [f.asJSON() for f in findings],
        "guardrails_applied": list(guardrails),
    }
    if latencyMs is not None:
        m["latency_ms"] = round(latencyMs, 3)
    return m


def rpcError(msgId: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": msgId, "error": err}


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
    return rpcError(msgId, REFUSAL_CODE, f"Blocked by akto-proxy: {reason}", meta)


__all__ = ["HEADER_MISMATCH", "INVALID_PARAMS", "PARSE_ERROR", "REFUSAL_CODE", "metadata", "refusal", "rpcError"]
