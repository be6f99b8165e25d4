"""
The twistd plugin's options and service: C{twistd -n akto-proxy --config PATH}.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

from twisted.python import usage

from akto_proxy.config import DEFAULT_PATH, Config, ConfigError, loadConfig


class Options(usage.Options):
    synopsis = "[--config PATH] [--check]"
    longdesc = (
        "Run akto-proxy, the security proxy for AI agent (MCP) traffic, with the "
        "configuration in PATH (default " + DEFAULT_PATH + ").  --check validates "
        "the file and exits: 0 when valid, 1 with the error otherwise."
    )
    optParameters = [["config", "c", DEFAULT_PATH, "Configuration file (YAML)."]]
    optFlags = [["check", None, "Validate the configuration and exit."]]

    loaded: Optional[Config] = None
    jsonStdout = False  # our JSON-lines observer logs to stdout

    def postOptions(self) -> None:
        path = self["config"]
        try:
            self.loaded = loadConfig(path)
        except ConfigError as e:
            sys.stderr.write(f"akto-proxy: invalid configuration: {e}\n")
            sys.stderr.flush()
            raise SystemExit(1)
        if self["check"]:
            for warning in self.loaded.warnings:
                sys.stderr.write(f"akto-proxy: warning: {warning}\n")
            sys.stdout.write(f"akto-proxy: configuration {path} is valid\n")
            sys.stdout.flush()
            raise SystemExit(0)
        parent: Any = getattr(self, "parent", None)
        if parent is not None and parent.get("logger") is None:
            parent["logger"] = "akto_proxy.observe.logs.stdoutObserver"
            self.jsonStdout = True


def makeService(options: Options) -> Any:
    from twisted.internet import reactor

    from akto_proxy.service import ProxyService

    config = options.loaded if options.loaded is not None else loadConfig(options["config"])
    accessLog = None
    if options.jsonStdout:
        from akto_proxy.observe.logs import AccessLog

        # twistd has not redirected sys.stdout yet: this is the stream the
        # JSON observer writes to (they share one writer, which batches
        # access lines: see observe.logs.LineWriter)
        accessLog = AccessLog(sys.stdout, reactor=reactor)
    return ProxyService(config, reactor, options["config"], tuneGC=True, accessLog=accessLog)
