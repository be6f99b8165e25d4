from twisted.application.service import ServiceMaker

akto_proxy = ServiceMaker(
    "akto-proxy",
    "akto_proxy.tap",
    "Security proxy for AI agent (MCP) traffic",
    "akto-proxy",
)
