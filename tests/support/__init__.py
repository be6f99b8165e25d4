"""
Real MCP SDK peers for end-to-end tests and the demo.

The SDK is asyncio/anyio while the proxy tests run on the Twisted reactor, so
both peers run as subprocesses that speak one JSON object per line on stdout:

- L{tests.support.mcp_upstream}: an MCP server (Streamable HTTP with JSON or
  SSE answers, or the legacy HTTP+SSE transport with any C{endpoint} shape).
- L{tests.support.mcp_client}: an MCP client performing actions given on the
  command line.
- L{tests.support.procs}: Twisted helpers that spawn both.
"""
