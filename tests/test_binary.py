"""
Bodies that are not text, through the running proxy: binary uploads,
binary responses and binary WebSocket messages are relayed, not judged as
text by the injection heuristics (issue 16), while vendor-shaped secrets and
the operator's own patterns still apply to them.
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from tests.harness import ProxyHarness, Upstream, request
from tests.test_ws import UPSTREAMS, WSBase

CHECKS = """
threat_detection:
  sensitivity: medium
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
  custom_rules:
    - {name: no-passwd, pattern: "/etc/passwd", action: block}
"""

OCTETS = {b"content-type": [b"application/octet-stream"]}


def png(payload: bytes = b"") -> bytes:
    """
    A small valid PNG (one grey pixel): binary, NUL bytes in its header.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = chunk(b"IHDR", (1).to_bytes(4, "big") * 2 + b"\x08\x00\x00\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + payload + chunk(b"IEND", b"")


class HTTPBinaryTests(TestCase):
    def setUp(self) -> Any:
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, CHECKS)
        self.url = self.proxy.url(self.upstream, "/echo")

    async def upload(self, body: bytes, headers: dict[bytes, list[bytes]] = OCTETS) -> tuple[int, bytes]:
        response, answer = await request(self.url, b"POST", headers, body)
        return response.code, answer

    def test_binary_upload_with_nul_relayed(self) -> Any:
        async def run() -> None:
            for body in (b"\x00\x01\x02 hello \x00\xff\xfe", bytes(4096), os.urandom(2048) + b"\x00", png()):
                code, answer = await self.upload(body)
                self.assertEqual(code, 200, body[:16])
                self.assertEqual(json.loads(answer)["body"].encode("latin-1"), body)
            # the same with no content type, and as an image
            code, _ = await self.upload(png(), {b"content-type": [b"image/png"]})
            self.assertEqual(code, 200)
            code, _ = await self.upload(bytes(1000) + b"..\\..\\windows\\win.ini", {})
            self.assertEqual(code, 200)

        return ensureDeferred(run())

    def test_text_with_one_nul_still_judged(self) -> Any:
        async def run() -> None:
            code, answer = await self.upload(b"../../../../etc/hostname\x00.png", {b"content-type": [b"text/plain"]})
            self.assertEqual(code, 403)
            self.assertIn("path_traversal", answer.decode())

        return ensureDeferred(run())

    def test_binary_still_seen_by_secrets_and_custom_rules(self) -> Any:
        async def run() -> None:
            code, answer = await self.upload(png(b"tEXtkey\x00ghp_" + b"Zq8xK2mL9vN4pR7tY1wB6cD3fG5hJ0sA2eU8"))
            self.assertEqual(code, 403)
            self.assertIn("data_exfiltration", answer.decode())
            code, answer = await self.upload(b"\xff\x00 cat /etc/passwd \x00\x00")
            self.assertEqual(code, 403)
            self.assertIn("no-passwd", answer.decode())
            self.assertEqual(len(self.upstream.recorder.requests), 0)

        return ensureDeferred(run())

    def test_binary_response_relayed(self) -> Any:
        async def run() -> None:
            blob = bytes(8192) + b"'; DROP TABLE users; --\x00\x00" + bytes(100)
            for ctype in (b"application/x-blob", b"application/octet-stream", b"image/png"):
                self.upstream.handlers[b"custom"] = lambda req, body, c=ctype: (req.setHeader(b"content-type", c), blob)[1]
                response, answer = await request(self.proxy.url(self.upstream, "/custom"), b"GET")
                self.assertEqual(response.code, 200, ctype)
                self.assertEqual(answer, blob)

        return ensureDeferred(run())


class WebSocketBinaryTests(WSBase):
    extra = UPSTREAMS + CHECKS

    def test_zeros_relayed_both_ways(self) -> Any:
        async def run() -> None:
            client = await self.connect()
            zeros = bytes(64 * 1024)
            client.sendMessage(zeros, isBinary=True)
            self.assertEqual(await client.receive(), (zeros, True))
            self.assertEqual(self.store.messages[-1], (zeros, True))
            image = png()
            client.sendMessage(image, isBinary=True)
            self.assertEqual(await client.receive(), (image, True))
            await self.closeBoth(client)

        return ensureDeferred(run())

    def test_text_in_a_binary_frame_still_judged(self) -> Any:
        async def run() -> None:
            client = await self.connect()
            client.sendMessage(b"x; cat /etc/shadow", isBinary=True)
            client.sendMessage(b"fine", isBinary=True)
            self.assertEqual(await client.receive(), (b"fine", True))
            self.assertEqual(self.store.messages, [(b"fine", True)])
            await self.closeBoth(client)

        return ensureDeferred(run())
