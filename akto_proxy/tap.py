"""
The twistd plugin's options and service: C{twistd -n akto-proxy --config PATH}.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

from twisted.python import usage

from akto_proxy.config import DEFAULT_PATH, Config, ConfigError, loadConfig


class Options(usage.Options):
    synopsis = "[--config PATH] [--check] [--version]"
    longdesc = (
        "Run akto-proxy, the security proxy for AI agent (MCP) traffic, with the "
        "configuration in PATH (default " + DEFAULT_PATH + ").  --check validates "
        "the file and exits: 0 when valid, 1 with the error otherwise."
    )
    optParameters = [["config", "c", DEFAULT_PATH, "Configuration file (YAML)."]]
    optFlags = [["check", None, "Validate the configuration and exit."]]

    def opt_version(self) -> None:
        """
        Print the proxy's version and exit.
        """
        from akto_proxy import __version__

        sys.stdout.write(f"akto-proxy {__version__}\n")
        sys.stdout.flush()
        raise SystemExit(0)

    opt_V = opt_version

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
        # In the foreground (-n, as systemd runs it): JSON lines on stdout.
        # Daemonized, stdout is /dev/null: twistd's own log file takes the
        # lines (-l PATH, default twistd.log in the working directory).
        if parent is not None and parent.get("logger") is None and parent.get("nodaemon"):
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
