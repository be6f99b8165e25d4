"""
The README's first five minutes: C{examples/demo.sh} runs a real MCP
server, the proxy and a real SDK client, and prints the proxy's access line
of the blocked call with its finding.
"""

from __future__ import annotations

import os
import shutil
import sys

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DemoTests(TestCase):
    timeout = 120

    def test_demoShowsTheBlockedCall(self) -> Deferred[None]:
        bash = shutil.which("bash")
        if bash is None:
            raise SkipTest("bash is not installed")

        async def run() -> None:
            bindir = os.path.dirname(sys.executable)
            env = dict(os.environ, PYTHON=sys.executable, TWISTD=os.path.join(bindir, "twistd"), DEMO_TIMEOUT="60")
            out, err, code = await getProcessOutputAndValue(bash, [os.path.join(ROOT, "examples", "demo.sh")], env=env, path=ROOT)
            text = out.decode("utf-8", "replace")
            self.assertEqual(code, 0, text[-3000:] + err.decode("utf-8", "replace")[-2000:])
            self.assertIn("DEMO OK: echo relayed, read_file /etc/passwd blocked", text)
            section = text.split("== proxy log lines about the blocked call", 1)[1]
            self.assertNotIn("(none found", section)
            self.assertIn('"blocked": true', section)
            self.assertIn('"name": "read_file"', section)
            self.assertIn("blocked tools/call read_file: check=path_traversal rule='absolute_sensitive_path' at params.arguments.path", section)

        return ensureDeferred(run())
