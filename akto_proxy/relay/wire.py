"""
HTTP facts the relay applies in both directions: hop-by-hop headers, the
content codings it can inspect, what an upstream failure means for the
client.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any

from twisted.internet import error as ierror
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived
from twisted.web.iweb import IResponse

from akto_proxy.relay.http import MalformedResponse, UpstreamForbidden

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
INSPECTABLE_ENCODINGS = (b"gzip", b"deflate", b"identity")
BINARY_TYPES = (b"image/", b"audio/", b"video/", b"font/", b"application/octet-stream", b"application/zip", b"application/pdf")


class TooLarge(Exception):
    """
    A body (or its decoded bytes) is over its limit.
    """


def decodeBody(data: bytes, encoding: bytes, limit: int) -> bytes:
    """
    Decode a gzip or deflate body, refusing more than C{limit} decoded bytes
    (a gzip bomb is refused, not expanded).
    """
    encoding = encoding.strip().lower()
    if encoding in (b"", b"identity"):
        return data
    if encoding in (b"gzip", b"x-gzip"):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == b"deflate":
        d = zlib.decompressobj()
        if data[:1] and (data[0] & 0x0F) != 8:
            d = zlib.decompressobj(-zlib.MAX_WBITS)
    else:
        raise ValueError(f"unsupported content-encoding {encoding.decode('latin-1')}")
    out = d.decompress(data, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise TooLarge()
    out += d.flush()
    if len(out) > limit:
        raise TooLarge()
    return out


def narrowAcceptEncoding(value: bytes) -> bytes:
    """
    C{Accept-Encoding} narrowed to the codings the proxy can inspect.
    """
    kept = []
    for item in value.split(b","):
        coding = item.split(b";", 1)[0].strip().lower()
        if coding in INSPECTABLE_ENCODINGS:
            kept.append(item.strip())
    return b", ".join(kept) if kept else b"identity"


@functools.lru_cache(maxsize=8)
def requestSkip(apiHeader: str, xForwarded: bool) -> frozenset[bytes]:
    """
    Request headers never passed upstream as they came: hop-by-hop ones, the
    proxy's own key and request id, those the proxy sets itself.
    """
    skip = set(HOP_BY_HOP) | {b"host", b"content-length", b"expect", b"x-akto-request-id"}
    skip.add(apiHeader.lower().encode("latin-1"))
    if xForwarded:
        skip |= {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
    return frozenset(skip)


def tokens(values: list[bytes]) -> set[bytes]:
    """
    The lower-case header names listed in C{Connection} header values.
    """
    return {t.strip().lower() for v in values for t in v.split(b",")}


def discard(response: IResponse) -> None:
    """
    Drop an unwanted body and close its connection rather than pin it.
    """

    class _Drop(Protocol):
        def connectionMade(self) -> None:
            if self.transport is not None:
                self.transport.stopProducing()

    try:
        response.deliverBody(_Drop())
    except Exception:
        pass


def isTLSFailure(reason: Failure) -> bool:
    from OpenSSL import SSL

    try:
        from service_identity import VerificationError
    except ImportError:  # pragma: no cover
        VerificationError = SSL.Error
    return reason.check(SSL.Error, VerificationError) is not None or "certificate" in repr(reason.value).lower()


def failureKind(failure: Failure, timedOut: bool = False) -> str:
    """
    An upstream failure in one word, for metrics and alerts: C{timeout},
    C{dns}, C{refused}, C{tls}, C{reset} (closed without a response),
    C{malformed} (a response head a strict parser refuses) or C{other};
    C{fence} for an address the fence refused.
    """
    if failure.check(UpstreamForbidden):
        return "fence"
    if timedOut or failure.check(ierror.TimeoutError, ierror.ConnectingCancelledError):
        return "timeout"
    if failure.check(ierror.DNSLookupError):
        return "dns"
    if failure.check(ierror.ConnectionRefusedError):
        return "refused"
    if failure.check(ResponseNeverReceived, ResponseFailed):
        reasons = getattr(failure.value, "reasons", [])
        if any(r.check(MalformedResponse) for r in reasons):
            return "malformed"
        return "tls" if any(isTLSFailure(r) for r in reasons) else "reset"
    return "other"


def upstreamFailure(failure: Failure, timedOut: bool = False) -> tuple[int, str, str]:
    """
    What an upstream request's failure means for the client: an HTTP
    status, a message and the envelope's code (403 for an address the fence
    refused, 504 for a timeout, 502 otherwise).
    """
    if failure.check(UpstreamForbidden):
        reason: Any = failure.value
        return 403, f"upstream address refused: {reason.reason}", "upstream_not_allowed"
    if timedOut or failure.check(ierror.TimeoutError, ierror.ConnectingCancelledError):
        return 504, "upstream timed out", "gateway_timeout"
    if failure.check(ierror.DNSLookupError):
        message = "upstream host name could not be resolved"
    elif failure.check(ierror.ConnectionRefusedError):
        message = "upstream refused the connection"
    elif failure.check(ResponseNeverReceived, ResponseFailed):
        reasons = getattr(failure.value, "reasons", [])
        if any(r.check(MalformedResponse) for r in reasons):
            message = "upstream sent a malformed response head (a line not ended by CRLF, or a bare CR or NUL in it)"
        elif any(isTLSFailure(r) for r in reasons):
            message = "TLS handshake with upstream failed"
        else:
            message = "upstream closed the connection without a response"
    else:
        message = f"upstream error: {failure.getErrorMessage()}"
    return 502, message, "bad_gateway"


__all__ = [
    "BINARY_TYPES",
    "HOP_BY_HOP",
    "INSPECTABLE_ENCODINGS",
    "TooLarge",
    "decodeBody",
    "failureKind",
    "discard",
    "isTLSFailure",
    "narrowAcceptEncoding",
    "requestSkip",
    "tokens",
    "upstreamFailure",
]
