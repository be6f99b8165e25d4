"""
API keys: hashed lookup with constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional

from akto_proxy.config.model import AccessControl, ApiKey


class KeyRing:
    """
    The API keys of one configuration.  A presented key is hashed once and
    compared against every stored digest with C{hmac.compare_digest}, so the
    time taken does not depend on which key (if any) matched.
    """

    def __init__(self, access: AccessControl):
        self._entries: list[tuple[bytes, ApiKey]] = []
        for k in access.api_keys:
            digest = k.key_sha256 if k.key_sha256 is not None else hashlib.sha256(k.key_plain or b"").digest()
            self._entries.append((digest, k))

    def lookup(self, presented: Optional[bytes]) -> Optional[ApiKey]:
        if not presented:
            return None
        digest = hashlib.sha256(presented).digest()
        found: Optional[ApiKey] = None
        for stored, key in self._entries:
            if hmac.compare_digest(stored, digest):
                found = key
        return found

    def byName(self, name: str) -> Optional[ApiKey]:
        """
        The key of that name (for a request another instance authenticated).
        """
        for _, key in self._entries:
            if key.name == name:
                return key
        return None

    def digestOf(self, name: str) -> Optional[bytes]:
        for stored, key in self._entries:
            if key.name == name:
                return stored
        return None
