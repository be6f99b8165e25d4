"""
Tests for akto_proxy.access: roles, sessions, rate limits, Redis state.
"""
