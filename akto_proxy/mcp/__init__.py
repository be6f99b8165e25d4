"""
The MCP core, independent of any transport: JSON-RPC messages and what MCP
says about them (L{jsonrpc}), the answers the proxy gives (L{answers}), the
state one conversation keeps (L{session}), the pipeline of stages that judges
each message (L{pipeline}, L{stages}) and the events it emits (L{events}).

Nothing here imports twisted.web or Autobahn: the transports (HTTP, SSE,
legacy HTTP+SSE, WebSocket, in L{akto_proxy.web}) decode the wire into
these messages and frame the pipeline's decisions back onto it.
"""
