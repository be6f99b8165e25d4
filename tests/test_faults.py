"""
Faults that must not lose data, leak or crash: upstreams that reset in the
middle of a body, send oversized JSON or malformed heads; strings that are
valid JSON but not Unicode; the upstream pool's idle timeout.  Upstreams
here are raw Twisted protocols on loopback, so every byte is the test's.
"""

from __future__ import annotations

import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config.model import UpstreamPolicy


class PoolIdleTimeoutTests(SynchronousTestCase):
    def test_below_uvicorn_keepalive(self) -> None:
        """
        Idle upstream connections are dropped before uvicorn's 5 s
        keep-alive closes them (a POST sent on a connection the upstream is
        closing fails, unretried), and the README says the value the code
        uses.
        """
        default = UpstreamPolicy().pool_idle_timeout
        self.assertLess(default, 5.0)
        readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
        said = re.search(r"`upstreams\.pool_idle_timeout` \((\d+(?:\.\d+)?) s", readme)
        assert said is not None
        self.assertEqual(float(said.group(1)), default)
