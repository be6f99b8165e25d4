"""
Real alert receivers on loopback: an SMTP server (Twisted's own ESMTP
server, with STARTTLS and AUTH when asked), and an HTTP receiver for Slack
and webhooks that verifies the webhook's signature as a SIEM would.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import json
from typing import Any, Callable, Optional

from twisted.cred.checkers import AllowAnonymousAccess, InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, endpoints, reactor
from twisted.internet.ssl import CertificateOptions, PrivateCertificate
from twisted.mail import smtp
from twisted.mail.imap4 import LOGINCredentials, PLAINCredentials
from twisted.web import server
from twisted.web.resource import Resource
from zope.interface import implementer

from tests.test_tls import makeCA, makeLeaf, pem


class Waiters:
    """
    Entries as they come, and Deferreds for the n-th.
    """

    def __init__(self) -> None:
        self.entries: list[Any] = []
        self._waiting: list[tuple[int, defer.Deferred[list[Any]]]] = []
        self._next: list[defer.Deferred[None]] = []

    def next(self) -> "defer.Deferred[None]":
        """
        Fires at the next entry.
        """
        d: defer.Deferred[None] = defer.Deferred()
        self._next.append(d)
        return d

    def add(self, entry: Any) -> None:
        self.entries.append(entry)
        waiting, self._next = self._next, []
        for w in waiting:
            w.callback(None)
        for n, d in list(self._waiting):
            if len(self.entries) >= n:
                self._waiting.remove((n, d))
                d.callback(self.entries)

    def wait(self, n: int, timeout: float = 20) -> "defer.Deferred[list[Any]]":
        d: defer.Deferred[list[Any]] = defer.Deferred()
        if len(self.entries) >= n:
            d.callback(self.entries)
        else:
            self._waiting.append((n, d))
            d.addTimeout(timeout, reactor)
        return d


# -- SMTP


@implementer(smtp.IMessage)
class _Message:
    def __init__(self, delivery: "_Delivery"):
        self.delivery = delivery
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> "defer.Deferred[None]":
        self.delivery.receiver.messages.add(
            {"user": self.delivery.user, "message": email.message_from_bytes(b"\n".join(self.lines)), "tls": self.delivery.receiver.tls[-1]}
        )
        return defer.succeed(None)

    def connectionLost(self) -> None:
        pass


@implementer(smtp.IMessageDelivery)
class _Delivery:
    def __init__(self, receiver: "SMTPReceiver", user: Any):
        self.receiver = receiver
        self.user = user

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
        return b"Received: by the test receiver"

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        return origin

    def validateTo(self, user: Any) -> Callable[[], _Message]:
        return lambda: _Message(self)


@implementer(IRealm)
class _Realm:
    def __init__(self, receiver: "SMTPReceiver"):
        self.receiver = receiver

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        assert smtp.IMessageDelivery in interfaces
        return smtp.IMessageDelivery, _Delivery(self.receiver, avatarId), lambda: None


class _ESMTP(smtp.ESMTP):
    def connectionMade(self) -> None:
        super().connectionMade()
        self.factory.receiver.connections.add(self)

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        receiver: SMTPReceiver = self.factory.receiver
        receiver.connections.discard(self)
        receiver.closed.add(self)

    def do_MAIL(self, rest: bytes) -> None:
        receiver: SMTPReceiver = self.factory.receiver
        receiver.tls.append(self.startedTLS)
        if receiver.requireAuth and self.delivery is None:
            self.sendCode(530, b"Authentication required")
            return
        super().do_MAIL(rest)


class SMTPReceiver:
    """
    @param users: user name to password; AUTH (LOGIN, PLAIN) is offered,
        and with C{requireAuth} mail is refused without it.
    @param tls: offer STARTTLS with a certificate for 127.0.0.1 (see
        L{caPEM}).
    """

    def __init__(self, users: Optional[dict[bytes, bytes]] = None, tls: bool = False, requireAuth: bool = False):
        self.messages = Waiters()
        self.connections: set[Any] = set()
        self.closed = Waiters()
        self.tls: list[bool] = []
        self.requireAuth = requireAuth
        checkers: list[Any] = [AllowAnonymousAccess()]
        if users:
            checkers.append(InMemoryUsernamePasswordDatabaseDontUse(**{k.decode(): v for k, v in users.items()}))
        self.portal = Portal(_Realm(self), checkers)
        self.context: Any = None
        self.caPEM = b""
        if tls:
            caKey, caCert = makeCA("akto smtp test CA")
            certPEM, keyPEM = makeLeaf(caKey, caCert, ["127.0.0.1"])
            self.caPEM = pem(caCert)
            cert = PrivateCertificate.loadPEM(certPEM + keyPEM)
            self.context = CertificateOptions(privateKey=cert.privateKey.original, certificate=cert.original)
        self.port: Any = None

    async def start(self, port: int = 0) -> "SMTPReceiver":
        receiver = self

        class Factory(smtp.SMTPFactory):
            protocol = _ESMTP

            def buildProtocol(self, addr: Any) -> Any:
                p = smtp.SMTPFactory.buildProtocol(self, addr)
                p.challengers = {b"LOGIN": LOGINCredentials, b"PLAIN": PLAINCredentials}
                p.ctx = receiver.context
                return p

        factory = Factory(self.portal)
        factory.receiver = self
        factory.noisy = False
        self.port = await endpoints.TCP4ServerEndpoint(reactor, port, interface="127.0.0.1").listen(factory)
        return self

    @property
    def portNumber(self) -> int:
        return int(self.port.getHost().port)

    async def stop(self) -> None:
        """
        Stop listening, once the clients have said QUIT (closed at once
        after a while).
        """
        from tests.observe.support import until

        try:
            await until(lambda: not self.connections, self.closed.next, timeout=5, what="SMTP clients to leave")
        except AssertionError:
            for p in list(self.connections):
                p.transport.abortConnection()
            await until(lambda: not self.connections, self.closed.next, timeout=5, what="SMTP connections to close")
        if self.port is not None:
            await self.port.stopListening()


# -- HTTP


def verify(secret: bytes, headers: dict[bytes, bytes], body: bytes) -> bool:
    """
    What a webhook receiver does: the HMAC-SHA256 of "<timestamp>.<body>"
    with the shared secret, compared in constant time.
    """
    timestamp = headers.get(b"x-akto-timestamp", b"")
    signature = headers.get(b"x-akto-signature", b"")
    expected = b"sha256=" + hmac.new(secret, timestamp + b"." + body, hashlib.sha256).hexdigest().encode()
    return bool(timestamp) and hmac.compare_digest(expected, signature)


class HTTPReceiver(Resource):
    """
    Records each POST (headers, body, decoded JSON, whether the signature
    verifies).  C{mode}: C{up} (200), C{down} (503), C{hang} (never
    answers), C{crash} (drops the connection).
    """

    isLeaf = True

    def __init__(self, secret: Optional[bytes] = None, clock: Any = None):
        super().__init__()
        self.secret = secret
        self.clock = clock  # stamps each attempt with its time, when given
        self.mode = "up"
        self.posts = Waiters()
        self.attempts = Waiters()
        self.hanging: list[server.Request] = []
        self.port: Any = None

    def render_POST(self, request: server.Request) -> Any:
        body = request.content.read() if request.content is not None else b""
        headers = {k.lower(): v[0] for k, v in request.requestHeaders.getAllRawHeaders()}
        self.attempts.add({"mode": self.mode, "headers": headers, "time": self.clock.seconds() if self.clock is not None else None})
        if self.mode == "hang":
            self.hanging.append(request)
            return server.NOT_DONE_YET
        if self.mode == "crash":
            request.channel.transport.abortConnection()
            return server.NOT_DONE_YET
        if self.mode == "down":
            request.setResponseCode(503)
            return b"down for maintenance"
        entry = {
            "headers": headers,
            "body": body,
            "json": json.loads(body),
            "signed": verify(self.secret, headers, body) if self.secret is not None else None,
        }
        self.posts.add(entry)
        return b"ok"

    async def start(self) -> "HTTPReceiver":
        site = server.Site(self)
        site.noisy = False
        self.port = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(site)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}/hook"

    def stop(self) -> "defer.Deferred[None]":
        for request in self.hanging:
            if not request.finished and request.channel is not None:
                request.channel.transport.abortConnection()
        return defer.maybeDeferred(self.port.stopListening)
