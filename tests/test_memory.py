"""
What the proxy keeps in memory from a configuration: a warm start runs no
Hyperscan compiler (its code is megabytes of resident memory once run), and
a reload that changes the checks lets the old generation's databases go.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

import akto_proxy
from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.checks.threats import ThreatInspector
from akto_proxy.runtime import buildRuntime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(akto_proxy.__file__)))
SAMPLE = os.path.join(ROOT, "etc", "akto-proxy", "akto-proxy.yaml")

# Builds the service of a configuration and counts Hyperscan compilations.
PROBE = """
import json, sys
import hyperscan

compiled = []


class Counting(hyperscan.Database):
    def compile(self, *a, **kw):
        compiled.append(len(kw.get("expressions") or a[0]))
        return super().compile(*a, **kw)


hyperscan.Database = Counting
from twisted.internet import reactor
from akto_proxy.config import loadConfig
from akto_proxy.service import ProxyService

ProxyService(loadConfig(sys.argv[1]), reactor, sys.argv[1])
print(json.dumps(compiled))
"""


class WarmStartTests(SynchronousTestCase):
    def compilations(self, config: str, cache: str) -> list[int]:
        env = dict(os.environ, PYTHONPATH=ROOT, AKTO_PROXY_CACHE_DIR=cache, STATE_DIRECTORY=os.path.abspath(self.mktemp()))
        out = subprocess.run([sys.executable, "-c", PROBE, config], capture_output=True, text=True, timeout=300, check=True, env=env)
        return list(json.loads(out.stdout.strip().splitlines()[-1]))

    def test_noCompilerOnWarmStart(self) -> None:
        """
        The first start with the sample's checks compiles its databases and
        checks its patterns; the next finds every answer in the database
        cache and compiles nothing.
        """
        config = os.path.abspath(self.mktemp())
        with open(SAMPLE) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text.replace("/var/lib/akto-proxy", os.path.abspath(self.mktemp())))
        cache = os.path.abspath(self.mktemp())
        first = self.compilations(config, cache)
        self.assertIn(1, first)  # a custom pattern checked alone
        self.assertGreater(max(first), 100)  # and the databases
        self.assertEqual(self.compilations(config, cache), [])


CHECKS = """
listen: ["tcp:0"]
threat_detection:
  sensitivity: {sensitivity}
  custom_rules:
    - name: files
      pattern: "/etc/passwd|/etc/shadow"
      action: block
"""


class ReloadTests(SynchronousTestCase):
    def test_oldDatabasesLetGo(self) -> None:
        """
        A reload that changes the checks builds new databases; once nothing
        of the old generation is in use, its databases are collected.
        """
        clock = Clock()
        first = buildRuntime(parseConfig(CHECKS.format(sensitivity="low")), 1, clock)
        step = next(s for s in first.chain.inspectors if isinstance(s, ThreatInspector))
        old = weakref.ref(step)
        same = buildRuntime(parseConfig(CHECKS.format(sensitivity="low")), 2, clock)
        self.assertIn(step, same.chain.inspectors)  # unchanged checks: reused
        del first, same, step
        buildRuntime(parseConfig(CHECKS.format(sensitivity="high")), 3, clock)
        gc.collect()
        self.assertIsNone(old())
