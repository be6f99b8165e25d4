"""
The unit files as systemd reads them: C{systemd-analyze verify} on copies
whose paths point at this checkout's virtualenv and sample configuration.
"""

from __future__ import annotations

import os
import re
import shutil
import sys

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = os.path.join(ROOT, "systemd")
VENV = "/opt/akto-proxy/.venv"
CONFIG = "/etc/akto-proxy/akto-proxy.yaml"


def units() -> dict[str, str]:
    return {name: open(os.path.join(UNITS, name)).read() for name in sorted(os.listdir(UNITS))}


class UnitTests(TestCase):
    def test_verify(self) -> Deferred[None]:
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            raise SkipTest("systemd-analyze is not installed (Debian package systemd)")

        async def run() -> None:
            work = os.path.abspath(self.mktemp())
            os.makedirs(work)
            venv = os.path.dirname(os.path.dirname(os.path.abspath(sys.executable)))
            for name, text in units().items():
                text = text.replace(VENV, venv).replace(CONFIG, os.path.join(ROOT, "etc", "akto-proxy", "akto-proxy.yaml"))
                with open(os.path.join(work, name), "w") as f:
                    f.write(text)
            names = ["akto-proxy.service", "akto-proxy@1.service", "akto-proxy@1.socket"]
            out, err, code = await getProcessOutputAndValue(analyze, ["verify", "--man=no", *[f"./{n}" for n in names]], path=work, env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
            # a parse problem is only a warning on stderr: none may be there
            self.assertEqual((code, err.decode()), (0, ""), out.decode())

        return ensureDeferred(run())

    def test_unitsAgree(self) -> None:
        """
        Every unit runs the same check before start and reload, from the path
        its comments name, with the directories the daemon writes.
        """
        found = units()
        for name in ("akto-proxy.service", "akto-proxy@.service"):
            text = found[name]
            self.assertIn(f"ExecStartPre={VENV}/bin/twistd akto-proxy --config {CONFIG} --check", text)
            self.assertIn(f"ExecReload={VENV}/bin/twistd akto-proxy --config {CONFIG} --check", text)
            self.assertIn(f"ExecStart={VENV}/bin/twistd -n --pidfile= akto-proxy --config {CONFIG}", text)
            for directory in ("StateDirectory=akto-proxy", "CacheDirectory=akto-proxy"):
                self.assertIn(directory, text)
            comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
            for path in re.findall(r"/opt/akto-proxy[^\s),]*", comments):
                self.assertTrue(path in ("/opt/akto-proxy", f"{VENV}", "/opt/akto-proxy/README.md") or path.startswith(VENV), path)
