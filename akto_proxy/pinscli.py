"""
akto-proxy-pins: pinned tool definitions from the command line, on the
daemon's state file (C{mcp.state_dir}/pins.json).  The daemon reads the file
again on SIGHUP (C{systemctl reload akto-proxy}); with C{redis:} configured,
prefer the API (C{/api/pins}), which every instance shares at once.

    akto-proxy-pins [--config PATH] list
    akto-proxy-pins [--config PATH] show ID
    akto-proxy-pins [--config PATH] approve (ID | --all [--endpoint URL])
    akto-proxy-pins [--config PATH] reject ID
    akto-proxy-pins [--config PATH] import ENDPOINT FILE

C{import} pre-approves an upstream's definitions before the proxy first
sees them: FILE holds a C{tools/list} (C{prompts/list},
C{resources/list}) result, or the whole JSON-RPC response carrying one,
and ENDPOINT is the upstream's URL (scheme, host, port, path:
C{https://mcp.example.com/mcp}).
"""

from __future__ import annotations

import argparse
import re
import json
import os
import sys
import time
from typing import Any, Optional

from akto_proxy.config import DEFAULT_PATH, ConfigError, loadConfig
from akto_proxy.mcp.pins import PinStore


class _Now:
    """
    A clock for a command: writes at once.
    """

    def seconds(self) -> float:
        return time.time()

    def callLater(self, delay: float, f: Any, *args: Any) -> Any:
        f(*args)
        return None


def _endpoint(url: str) -> str:
    """
    The endpoint as the proxy names it: scheme, host (lower case), port
    only when not the default, path; no query.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = "https" if parts.scheme in ("https", "wss") else "http"
    host = (parts.hostname or "").lower()
    hostText = f"[{host}]" if ":" in host else host
    port = parts.port
    default = 443 if scheme == "https" else 80
    authority = hostText if port in (None, default) else f"{hostText}:{port}"
    return f"{scheme}://{authority}{parts.path or '/'}"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="akto-proxy-pins", description=re.sub(r"C\{([^}]*)\}", r"\1", __doc__.split("\n\n")[0]))
    p.add_argument("--config", default=DEFAULT_PATH)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    show = sub.add_parser("show")
    show.add_argument("id")
    approve = sub.add_parser("approve")
    approve.add_argument("id", nargs="?")
    approve.add_argument("--all", action="store_true")
    approve.add_argument("--endpoint")
    reject = sub.add_parser("reject")
    reject.add_argument("id")
    imp = sub.add_parser("import")
    imp.add_argument("endpoint")
    imp.add_argument("file")
    args = p.parse_args(argv)
    try:
        config = loadConfig(args.config)
    except ConfigError as e:
        sys.stderr.write(f"akto-proxy-pins: invalid configuration: {e}\n")
        return 1
    path = os.path.join(config.mcp.state_dir, "pins.json")
    store = PinStore(path, _Now())
    store.load()
    out = sys.stdout
    if args.command == "list":
        for pin in store.pins():
            out.write(f"{pin.id}  {pin.status:<8}  {pin.kind:<8}  {pin.name}  {pin.endpoint}\n")
        return 0
    if args.command == "show":
        pin = store.get(args.id)
        if pin is None:
            sys.stderr.write(f"akto-proxy-pins: no pin {args.id}\n")
            return 1
        out.write(json.dumps(pin.asJSON(), indent=2, ensure_ascii=False) + "\n")
        return 0
    if args.command in ("approve", "reject"):
        if args.command == "approve" and args.all:
            chosen = [p for p in store.pins() if p.pending is not None and (args.endpoint is None or p.endpoint == _endpoint(args.endpoint))]
        else:
            pin = store.get(args.id or "")
            if pin is None:
                sys.stderr.write(f"akto-proxy-pins: no pin {args.id}\n")
                return 1
            if pin.pending is None:
                sys.stderr.write(f"akto-proxy-pins: pin {pin.id} has no pending change\n")
                return 1
            chosen = [pin]
        for pin in chosen:
            (store.approve if args.command == "approve" else store.reject)(pin.id)
            out.write(f"{args.command}d {pin.id} {pin.kind} {pin.name} on {pin.endpoint}\n")
        out.write(f"{len(chosen)} pin(s) changed in {path}; reload the daemon to apply (systemctl reload akto-proxy)\n")
        return 0
    with open(args.file, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    endpoint = _endpoint(args.endpoint)
    count = 0
    for kind, field in (("tool", "tools"), ("prompt", "prompts"), ("resource", "resources")):
        items = data.get(field) if isinstance(data, dict) else None
        if isinstance(items, list):
            count += len(store.pinDefinitions(endpoint, kind, [i for i in items if isinstance(i, dict)]))
    if not count:
        sys.stderr.write("akto-proxy-pins: no tools, prompts or resources in the file\n")
        return 1
    out.write(f"pinned {count} definition(s) for {endpoint} in {path}; reload the daemon to apply\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
