"""
Requests from the server to the client (sampling, elicitation) through the
proxy, with the real MCP SDK as server and client, on Streamable HTTP (JSON
and SSE answers) and legacy HTTP+SSE:

- relayed both ways when clean;
- a server request that policy refuses is answered to the server with a
  JSON-RPC error on the channel it came from, so the tool call that made it
  ends at once with the reason (it used to be dropped: the call hung until
  the client gave up);
- a client's answer that policy refuses is replaced by a JSON-RPC error for
  the id it answers and sent on to the server, with the same effect (it used
  to get 202 and never reach the server).

(The SDK's Streamable HTTP server cannot make server requests when it
answers with JSON: "no back-channel for server-initiated requests".)

The client's whole run is bounded at 12 s and each call would wait that long
for an answer that never comes: a result that names the refusal proves the
call ended because of the proxy's answer.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import TestCase

from tests.harness import KEY, ProxyHarness
from tests.support.mcp_upstream import VAULT_TOKEN
from tests.support.procs import ProcessHandle, resultOf, runClient, startUpstream

reactor: Any = _reactor

CONFIG = """
threat_detection:
  enabled_checks: []
  custom_rules:
    - name: "Vault tokens"
      pattern: "akto-vault-[0-9a-f]+"
      action: "block"
"""


class _ServerRequests:
    transport = ""
    mode = "legacy"

    def setUp(self) -> Deferred[None]:
        d = startUpstream(reactor, self.transport, None)

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            upstreamURL, port, self.upstream = result
            self.addCleanup(self.upstream.stop)  # type: ignore[attr-defined]
            self.proxy = ProxyHarness(self, CONFIG)
            path = upstreamURL.split(f"127.0.0.1:{port}", 1)[1]
            self.url = f"{self.proxy.base}/proxy/http/127.0.0.1:{port}{path}"

        return d.addCallback(started)

    async def client(self, *args: str) -> list[dict[str, Any]]:
        return await runClient(
            reactor,
            ["--url", self.url, "--header", f"X-Akto-Api-Key: {KEY}", "--mode", self.mode, "--timeout", "12", *args],
        )

    def assertRefused(self, call: dict[str, Any]) -> None:
        """
        The tool call ended with the proxy's reason: the SDK server turns
        the error its request got into the call's own JSON-RPC error.
        """
        if call["ok"]:
            text = call["result"]["text"]
            self.assertTrue(call["result"]["isError"], call)  # type: ignore[attr-defined]
        else:
            text = call["error"]
            self.assertEqual(call.get("code"), -31001, call)  # type: ignore[attr-defined]
        self.assertIn("Blocked by akto-proxy: custom_rules (Vault tokens)", text)  # type: ignore[attr-defined]

    def test_relayedWhenClean(self) -> Deferred[None]:
        async def go() -> None:
            lines = await self.client(
                "--sampling-text", "a fine line",
                "--elicit-json", json.dumps({"answer": "blue"}),
                "--call", json.dumps({"tool": "ask_model", "arguments": {"topic": "tea"}}),
                "--call", json.dumps({"tool": "ask_user", "arguments": {"question": "favourite colour?"}}),
            )
            sampled = resultOf(lines, "call", 0)
            self.assertTrue(sampled["ok"], sampled)  # type: ignore[attr-defined]
            self.assertEqual(sampled["result"]["text"], "model said: a fine line")  # type: ignore[attr-defined]
            asked = resultOf(lines, "call", 1)
            self.assertEqual(asked["result"]["text"], "user said: blue", asked)  # type: ignore[attr-defined]

        return ensureDeferred(go())

    def test_refusedServerRequestEndsTheCall(self) -> Deferred[None]:
        async def go() -> None:
            lines = await self.client(
                "--sampling-text", "never asked",
                "--call", json.dumps({"tool": "ask_model", "arguments": {"topic": "tea", "secret": True}}),
                "--call", json.dumps({"tool": "echo", "arguments": {"text": "still here"}}),
            )
            self.assertRefused(resultOf(lines, "call", 0))
            self.assertNotIn(VAULT_TOKEN, json.dumps(lines))  # type: ignore[attr-defined]
            self.assertEqual(resultOf(lines, "call", 1)["result"]["text"], "still here")  # type: ignore[attr-defined]

        return ensureDeferred(go())

    def test_refusedClientAnswerEndsTheCall(self) -> Deferred[None]:
        async def go() -> None:
            lines = await self.client(
                "--elicit-json", json.dumps({"answer": f"the token is {VAULT_TOKEN}"}),
                "--call", json.dumps({"tool": "ask_user", "arguments": {"question": "the vault token?"}}),
            )
            call = resultOf(lines, "call", 0)
            self.assertRefused(call)
            self.assertNotIn(VAULT_TOKEN, call.get("error", "") + call.get("result", {}).get("text", ""))  # type: ignore[attr-defined]

        return ensureDeferred(go())


class StreamableSSE(_ServerRequests, TestCase):
    transport = "streamable-sse"


class LegacySSE(_ServerRequests, TestCase):
    transport = "legacy-sse"
