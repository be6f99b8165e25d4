"""
A real MCP client (mcp SDK) driven from the command line.

    python -m tests.support.mcp_client --url URL [--header 'Name: value']...
        [--transport streamable|sse] [--mode auto|legacy|2026-07-28]
        [--timeout 20] ACTIONS...

Actions run in the order given:

    --list-tools                  result: {"tools": [names], "descriptions": {...}}
    --call JSON                   {"tool": "echo", "arguments": {"text": "hi"}}
    --read-resource URI
    --get-prompt NAME|JSON        JSON: {"name": "summarize", "arguments": {...}}
    --list-resources / --list-prompts

Server requests are answered by the client when told how:

    --sampling-text TEXT          sampling/createMessage answered with TEXT
    --elicit-json JSON            elicitation/create accepted with JSON content

It prints one JSON line for the connection, then one per action:

    {"action": "connect", "ok": true, "result": {"protocolVersion": ..., ...}}
    {"action": "call", "ok": true, "result": {"content": [...], "isError": false,
     "structuredContent": ..., "text": "...", "progress": [...], "logs": [...]}}
    {"action": "call", "ok": false, "error": "...", "type": "MCPError", "code": -31001}

Exit status: 0 when every action ran (each may still be "ok": false; with
C{--strict} such a failure or an C{isError} tool result gives 1), 2 when
connecting failed, 3 on timeout (C{--timeout} bounds the whole run), 4 when the
transport failed after connecting, 64 on bad usage.  A watchdog ends the
process even if cancellation itself hangs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

EXIT_OK = 0
EXIT_ACTION_FAILED = 1
EXIT_CONNECT_FAILED = 2
EXIT_TIMEOUT = 3
EXIT_TRANSPORT_FAILED = 4
EXIT_USAGE = 64

_emitLock = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    with _emitLock:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
        sys.stdout.flush()


def _leaf(exc: BaseException) -> BaseException:
    """
    The first meaningful exception inside (nested) exception groups.
    """
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
        exc = (inner or list(exc.exceptions))[0]
    return exc


def describeError(action: str, exc: BaseException) -> dict[str, Any]:
    exc = _leaf(exc)
    out: dict[str, Any] = {"action": action, "ok": False, "error": str(exc) or repr(exc), "type": type(exc).__name__}
    if isinstance(exc, MCPError):
        out["error"] = exc.message
        out["code"] = exc.code
        if exc.data is not None:
            out["data"] = exc.data
    elif isinstance(exc, httpx2.HTTPStatusError):
        out["status"] = exc.response.status_code
    return out


def _dump(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


class ActionList(argparse.Action):
    """
    Collects actions into C{namespace.actions} keeping command-line order.
    """

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        actions = list(getattr(namespace, "actions", None) or [])
        actions.append((self.const, values))
        namespace.actions = actions


class ActionFlag(ActionList):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["nargs"] = 0
        super().__init__(*args, **kwargs)


def parseArgs(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.support.mcp_client")
    p.add_argument("--url", required=True)
    p.add_argument("--header", action="append", default=[], metavar="'Name: value'")
    p.add_argument(
        "--transport",
        choices=["streamable", "sse"],
        default=None,
        help="default: sse if the URL path ends in /sse, else streamable",
    )
    p.add_argument("--mode", default="auto", help="auto (discover, then initialize), legacy, or a modern version")
    p.add_argument("--timeout", type=float, default=20.0, help="bound on the whole run, seconds")
    p.add_argument("--strict", action="store_true", help="exit 1 if an action fails or a tool result is an error")
    p.add_argument("--sampling-text", default=None, help="answer sampling requests with this text")
    p.add_argument("--elicit-json", default=None, help="accept elicitation requests with this JSON content")
    p.add_argument(
        "--alternate-posts",
        type=int,
        default=None,
        metavar="PORT",
        help="send every other POST to this port instead (a round-robin balancer in front of two proxies); "
        "prints a final line {\"action\": \"posts\", \"ports\": [...]}",
    )
    p.set_defaults(actions=[])
    p.add_argument("--call", action=ActionList, const="call", dest="actions", metavar="JSON")
    p.add_argument("--list-tools", action=ActionFlag, const="list_tools", dest="actions")
    p.add_argument("--read-resource", action=ActionList, const="read_resource", dest="actions", metavar="URI")
    p.add_argument("--get-prompt", action=ActionList, const="get_prompt", dest="actions", metavar="NAME|JSON")
    p.add_argument("--list-resources", action=ActionFlag, const="list_resources", dest="actions")
    p.add_argument("--list-prompts", action=ActionFlag, const="list_prompts", dest="actions")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        if e.code not in (0, None):
            emit({"action": "usage", "ok": False, "error": "bad command line (see stderr)", "type": "UsageError"})
            raise SystemExit(EXIT_USAGE)
        raise
    headers: dict[str, str] = {}
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            p.print_usage(sys.stderr)
            sys.stderr.write(f"bad --header {h!r}: expected 'Name: value'\n")
            emit({"action": "usage", "ok": False, "error": f"bad --header {h!r}", "type": "UsageError"})
            raise SystemExit(EXIT_USAGE)
        headers[name.strip()] = value.strip()
    args.headers = headers
    if args.transport is None:
        args.transport = "sse" if urlsplit(args.url).path.rstrip("/").endswith("/sse") else "streamable"
    for kind, value in args.actions:
        if kind == "call":
            try:
                spec = json.loads(value)
                assert isinstance(spec, dict) and isinstance(spec.get("tool"), str)
            except (ValueError, AssertionError):
                sys.stderr.write(f'bad --call {value!r}: expected {{"tool": NAME, "arguments": {{...}}}}\n')
                emit({"action": "usage", "ok": False, "error": f"bad --call {value!r}", "type": "UsageError"})
                raise SystemExit(EXIT_USAGE)
    return args


class AlternatingTransport(httpx2.AsyncBaseTransport):
    """
    Sends POSTs to the URL's port and to C{other} in turn (GETs as they
    are): a round-robin balancer with no session affinity, in the client.
    """

    def __init__(self, other: int) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.other = other
        self.count = 0
        self.ports: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            if self.count % 2:
                request.url = request.url.copy_with(port=self.other)
                request.headers["host"] = f"{request.url.host}:{self.other}"
            self.count += 1
            self.ports.append(request.url.port or 80)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.alternating: AlternatingTransport | None = None
        self.progress: list[list[Any]] = []
        self.logs: list[Any] = []
        self.anyFailed = False
        #: the server requests this client was asked to answer, in order
        self.serverRequests: list[str] = []

    async def onProgress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append([progress, total, message])

    async def onLog(self, params: Any) -> None:
        self.logs.append(params.data)

    async def onSampling(self, context: Any, params: Any) -> Any:
        from mcp.types import CreateMessageResult, TextContent

        self.serverRequests.append("sampling")
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text=self.args.sampling_text), model="fixture-model")

    async def onElicit(self, context: Any, params: Any) -> Any:
        from mcp.types import ElicitResult

        self.serverRequests.append("elicitation")
        return ElicitResult(action="accept", content=json.loads(self.args.elicit_json))

    async def perform(self, client: Client, kind: str, value: Any) -> dict[str, Any]:
        self.progress = []
        self.logs = []
        if kind == "list_tools":
            listed = await client.list_tools()
            return {
                "tools": [t.name for t in listed.tools],
                "descriptions": {t.name: t.description for t in listed.tools},
            }
        if kind == "call":
            spec = json.loads(value)
            called = await client.call_tool(
                spec["tool"], spec.get("arguments") or {}, progress_callback=self.onProgress
            )
            out = _dump(called)
            out.setdefault("isError", False)
            out["text"] = "".join(c.get("text", "") for c in out.get("content", []) if c.get("type") == "text")
            out["progress"] = self.progress
            out["logs"] = self.logs
            out["server_requests"] = list(self.serverRequests)
            if out["isError"]:
                self.anyFailed = True
            return out
        if kind == "read_resource":
            read = await client.read_resource(value)
            out = _dump(read)
            out["text"] = "".join(c.get("text", "") for c in out.get("contents", []))
            return out
        if kind == "get_prompt":
            if value.lstrip().startswith("{"):
                spec = json.loads(value)
                prompt = await client.get_prompt(spec["name"], spec.get("arguments"))
            else:
                prompt = await client.get_prompt(value)
            return _dump(prompt)
        if kind == "list_resources":
            resources = await client.list_resources()
            return {"resources": [str(r.uri) for r in resources.resources]}
        if kind == "list_prompts":
            prompts = await client.list_prompts()
            return {"prompts": [pr.name for pr in prompts.prompts]}
        raise ValueError(f"unknown action {kind}")

    async def run(self) -> int:
        args = self.args
        async with AsyncExitStack() as stack:
            if args.transport == "sse":
                factory: Any = create_mcp_http_client
                if args.alternate_posts is not None:
                    self.alternating = AlternatingTransport(args.alternate_posts)
                    alternating = self.alternating

                    def factory(headers: Any = None, timeout: Any = None, auth: Any = None) -> httpx2.AsyncClient:
                        return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth, transport=alternating)

                transport: Any = sse_client(
                    args.url, headers=args.headers, timeout=args.timeout, sse_read_timeout=args.timeout,
                    httpx_client_factory=factory,
                )
            else:
                http = create_mcp_http_client(
                    headers=args.headers, timeout=httpx2.Timeout(args.timeout, read=args.timeout)
                )
                await stack.enter_async_context(http)
                transport = streamable_http_client(args.url, http_client=http)
            client = Client(
                transport,
                mode=args.mode,
                read_timeout_seconds=args.timeout,
                logging_callback=self.onLog,
                sampling_callback=self.onSampling if args.sampling_text is not None else None,
                elicitation_callback=self.onElicit if args.elicit_json is not None else None,
                log_level="debug",
                cache=None,
            )
            try:
                await stack.enter_async_context(client)
            except Exception as e:
                emit(describeError("connect", e))
                return EXIT_CONNECT_FAILED
            info = client.server_info
            emit(
                {
                    "action": "connect",
                    "ok": True,
                    "result": {
                        "protocolVersion": client.protocol_version,
                        "serverInfo": _dump(info) if info is not None else None,
                        "transport": args.transport,
                        "mode": args.mode,
                    },
                }
            )
            for kind, value in args.actions:
                try:
                    result = await self.perform(client, kind, value)
                except Exception as e:
                    self.anyFailed = True
                    emit(describeError(kind, e))
                else:
                    emit({"action": kind, "ok": True, "result": result})
            if self.alternating is not None:
                emit({"action": "posts", "ok": True, "ports": self.alternating.ports})
        if args.strict and self.anyFailed:
            return EXIT_ACTION_FAILED
        return EXIT_OK


def _watchdog(seconds: float) -> None:
    def fire() -> None:
        emit({"action": "timeout", "ok": False, "error": f"hard timeout after {seconds:g}s", "type": "Watchdog"})
        os._exit(EXIT_TIMEOUT)

    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()


async def amain(args: argparse.Namespace) -> int:
    try:
        with anyio.fail_after(args.timeout):
            return await Runner(args).run()
    except TimeoutError:
        emit({"action": "timeout", "ok": False, "error": f"timed out after {args.timeout:g}s", "type": "TimeoutError"})
        return EXIT_TIMEOUT
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        leaf = _leaf(e)
        if isinstance(leaf, TimeoutError):
            emit({"action": "timeout", "ok": False, "error": f"timed out after {args.timeout:g}s", "type": "TimeoutError"})
            return EXIT_TIMEOUT
        emit(describeError("transport", e))
        return EXIT_TRANSPORT_FAILED


def main(argv: list[str] | None = None) -> None:
    args = parseArgs(argv)
    _watchdog(args.timeout + 5)
    code = anyio.run(amain, args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
