"""
akto-proxy: a security proxy for AI agent (MCP) traffic.
"""

__version__ = "0.1.0"
