"""
A headless Chromium driven over the Chrome DevTools Protocol, for the
dashboard's browser test: the browser is a child process on loopback
(C{--remote-debugging-port=0}; its WebSocket address is read from what it
prints), spoken to with Autobahn; one page target in flat session mode;
every event of the page kept for the test to inspect.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from typing import Any, Callable, Optional

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol, connectWS
from twisted.internet import protocol
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def findChromium() -> Optional[str]:
    """
    The browser: C{$AKTO_CHROMIUM}, else Debian's C{chromium} (or another
    Chrome) on the PATH; None when there is none.
    """
    given = os.environ.get("AKTO_CHROMIUM")
    if given:
        return shutil.which(given) or (given if os.access(given, os.X_OK) else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class CDPError(Exception):
    pass


class _BrowserProcess(protocol.ProcessProtocol):
    """
    Waits for "DevTools listening on ws://..." on stderr.
    """

    def __init__(self) -> None:
        self.stderr = b""
        self.address: Deferred[str] = Deferred()
        self.ended: Deferred[None] = Deferred()

    def errReceived(self, data: bytes) -> None:
        self.stderr += data
        if not self.address.called:
            m = re.search(rb"DevTools listening on (ws://\S+)", self.stderr)
            if m:
                self.address.callback(m.group(1).decode("ascii"))

    def outReceived(self, data: bytes) -> None:
        pass

    def processEnded(self, reason: Failure) -> None:
        if not self.address.called:
            self.address.errback(CDPError("chromium ended before listening: " + self.stderr.decode("utf-8", "replace")[-2000:]))
        self.ended.callback(None)


class _Protocol(WebSocketClientProtocol):
    def onOpen(self) -> None:
        self.factory.browser._opened(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.browser._received(json.loads(payload))

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        self.factory.browser._closed(reason)


class Chromium:
    """
    One headless browser.  C{events} keeps every event of the page session
    (method, params), in order.
    """

    def __init__(self, reactor: Any, executable: str, workdir: str, width: int = 1440, height: int = 1000):
        self.reactor = reactor
        self.executable = executable
        self.workdir = workdir
        self.width = width
        self.height = height
        self.process = _BrowserProcess()
        self.transport: Any = None
        self.ws: Optional[_Protocol] = None
        self._open: Deferred[None] = Deferred()
        self._closedD: Deferred[None] = Deferred()
        self._next = 0
        self._pending: dict[int, Deferred[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, Callable[[dict[str, Any]], bool], Deferred[dict[str, Any]]]] = []
        self.session: Optional[str] = None
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def start(self) -> None:
        profile = os.path.join(self.workdir, "profile")
        os.makedirs(profile, exist_ok=True)
        args = [
            self.executable,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-features=Translate,MediaRouter,OptimizationHints",
            "--metrics-recording-only",
            "--mute-audio",
            "--hide-scrollbars",
            # nothing but loopback can be reached, whatever the page asks
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        env = {"HOME": self.workdir, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": os.environ.get("TZ", "UTC")}
        self.transport = self.reactor.spawnProcess(self.process, self.executable, args, env=env)
        address = await self.process.address
        factory = WebSocketClientFactory(address)
        factory.protocol = _Protocol
        factory.browser = self  # type: ignore[attr-defined]
        factory.setProtocolOptions(maxMessagePayloadSize=0, maxFramePayloadSize=0, autoPingInterval=0)
        connectWS(factory)
        await self._open

    def _opened(self, ws: _Protocol) -> None:
        self.ws = ws
        self._open.callback(None)

    def _closed(self, reason: Optional[str]) -> None:
        pending, self._pending = self._pending, {}
        for d in pending.values():
            d.errback(CDPError(f"DevTools connection closed: {reason}"))
        if not self._open.called:
            self._open.errback(CDPError(f"DevTools connection failed: {reason}"))
        if not self._closedD.called:
            self._closedD.callback(None)

    def _received(self, msg: dict[str, Any]) -> None:
        if "id" in msg:
            d = self._pending.pop(msg["id"], None)
            if d is None:
                return
            if "error" in msg:
                d.errback(CDPError(json.dumps(msg["error"])))
            else:
                d.callback(msg.get("result", {}))
            return
        method = msg.get("method", "")
        params = msg.get("params", {})
        if msg.get("sessionId") == self.session:
            self.events.append((method, params))
        for waiter in list(self._waiters):
            name, match, d = waiter
            if name == method and match(params):
                self._waiters.remove(waiter)
                d.callback(params)

    def send(self, method: str, params: Optional[dict[str, Any]] = None, page: bool = True) -> "Deferred[dict[str, Any]]":
        assert self.ws is not None
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if page and self.session is not None:
            msg["sessionId"] = self.session
        d: Deferred[dict[str, Any]] = Deferred()
        self._pending[self._next] = d
        self.ws.sendMessage(json.dumps(msg).encode("utf-8"))
        return d

    def wait(self, method: str, match: Callable[[dict[str, Any]], bool] = lambda p: True) -> "Deferred[dict[str, Any]]":
        """
        The next event C{method} (of any session) whose params C{match}.
        """
        d: Deferred[dict[str, Any]] = Deferred()
        self._waiters.append((method, match, d))
        return d

    async def openPage(self) -> None:
        target = await self.send("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, page=False)
        self.session = attached["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            await self.send(f"{domain}.enable")
        await self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})

    async def navigate(self, url: str) -> None:
        loaded = self.wait("Page.loadEventFired")
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"navigation to {url} failed: {result['errorText']}")
        await loaded

    async def evaluate(self, expression: str, awaitPromise: bool = False) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": awaitPromise, "returnByValue": True})
        if "exceptionDetails" in result:
            raise CDPError("page script failed: " + json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    async def screenshot(self, path: str) -> None:
        """
        The whole page as PNG.
        """
        height = await self.evaluate("Math.ceil(document.documentElement.scrollHeight)")
        await self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
        shot = await self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        import base64

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        await self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})

    def requestedURLs(self) -> list[str]:
        return [p["request"]["url"] for m, p in self.events if m == "Network.requestWillBeSent"]

    def problems(self) -> list[str]:
        """
        Script errors, console errors and CSP reports of the page.
        """
        out = []
        for method, p in self.events:
            if method == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append("log: " + p["entry"].get("text", ""))
            elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console: " + json.dumps(p.get("args", []))[:500])
        return out

    async def close(self) -> None:
        """
        Close the browser and wait for its process to end (killed if it
        does not end on its own within 10 s).
        """
        if self.ws is not None and not self._closedD.called:
            try:
                self.send("Browser.close", page=False).addErrback(lambda f: None)
            except Exception:
                pass
        if self.transport is not None and not self.process.ended.called:
            kill = self.reactor.callLater(10, self._kill)
            await self.process.ended
            if kill.active():
                kill.cancel()
        if self.ws is not None and not self._closedD.called:
            self.ws.dropConnection(abort=True)
            await self._closedD

    def _kill(self) -> None:
        try:
            self.transport.signalProcess("KILL")
        except Exception:
            pass


__all__ = ["CDPError", "Chromium", "findChromium"]
