"""
What the proxy keeps in memory from a configuration: a warm start runs no
Hyperscan compiler (its code is megabytes of resident memory once run), and
a reload that changes the checks lets the old generation's databases go.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import subprocess
import sys
import weakref
from typing import Iterable

from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SkipTest, SynchronousTestCase

import akto_proxy
from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.checks.threats import ThreatInspector
from akto_proxy.runtime import buildRuntime
from akto_proxy.service import HeapTrimmer, ProxyService

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


class HeapTrimmerTests(SynchronousTestCase):
    """
    L{HeapTrimmer}: the heap is trimmed when the resident size grew by the
    threshold since the lowest seen, and what is left is the new baseline.
    """

    def started(self, sizes: Iterable[int], can: bool = True) -> tuple[HeapTrimmer, Clock, list[int]]:
        clock = Clock()
        trimmed: list[int] = []
        now = iter(sizes)

        def trim() -> bool:
            trimmed.append(1)
            return can

        trimmer = HeapTrimmer(clock, rss=lambda: next(now), trim=trim, every=5, growth=100, again=3)
        trimmer.startService()
        self.addCleanup(lambda: trimmer.stopService() if trimmer.running else None)
        return trimmer, clock, trimmed

    def test_growthTrims(self) -> None:
        """
        Growth under the threshold leaves the heap alone; growth to it
        trims, and the size after the trim is the baseline.
        """
        trimmer, clock, trimmed = self.started([1000, 1000, 1099, 1100, 1010, 1050])
        clock.advance(5)  # 1099: +99
        self.assertEqual(trimmed, [])
        clock.advance(5)  # 1100: +100, trimmed to 1010
        self.assertEqual(trimmed, [1])
        self.assertEqual(trimmer.baseline, 1010)
        clock.advance(5)  # 1050: +40 from the new baseline
        self.assertEqual(trimmed, [1])

    def test_memoryInUseNotTrimmedAgain(self) -> None:
        """
        Memory really in use (the trim gives nothing back) is not trimmed
        at every look: only further growth, twice the threshold now,
        trims again.
        """
        _, clock, trimmed = self.started([1000, 1000, 1500, 1500, 1550, 1600, 1700, 1700])
        clock.advance(5)  # 1500 -> trimmed, nothing back
        clock.advance(5)  # 1550
        clock.advance(5)  # 1600: +100 from 1500, under 200
        self.assertEqual(trimmed, [1])
        clock.advance(5)  # 1700: +200
        self.assertEqual(trimmed, [1, 1])

    def test_freedAfterATrimTrimmedLater(self) -> None:
        """
        A trim during a burst leaves a high baseline; what the burst frees
        afterwards is trimmed once the size stayed C{growth} above the
        lowest seen for C{again} looks.
        """
        trimmer, clock, trimmed = self.started([1000, 1000, 1500, 1400, 1400, 1400, 1390, 1005, 1005])
        clock.advance(5)  # 1500: trimmed, 1400 left (the burst goes on)
        self.assertEqual((trimmed, trimmer.baseline), ([1], 1400))
        clock.advance(5)  # 1400
        clock.advance(5)  # 1400
        self.assertEqual(trimmed, [1])
        clock.advance(5)  # 1390, third look since: trimmed to 1005
        self.assertEqual(trimmed, [1, 1])
        self.assertEqual(trimmer.baseline, 1005)
        clock.advance(5)
        self.assertEqual(trimmed, [1, 1])

    def test_futileTrimsBackOff(self) -> None:
        """
        A size that stays high and that trims do not bring down (memory in
        use) is trimmed again after C{again} looks, then after twice as
        many each time.
        """
        _, clock, trimmed = self.started(itertools.chain([1000, 1000], itertools.repeat(1500)))
        looks: list[int] = []
        for look in range(1, 50):
            clock.advance(5)
            if len(trimmed) > len(looks):
                looks.append(look)
        self.assertEqual(looks, [1, 1 + 6, 1 + 6 + 12, 1 + 6 + 12 + 24])

    def test_futileGrowthBacksOff(self) -> None:
        """
        Memory taken into use (held streams) grows on: after a trim that
        gave nothing back, the next waits for twice the growth.
        """
        _, clock, trimmed = self.started([1000, 1000, 1100, 1100, 1250, 1300, 1300, 1500, 1500])
        for _ in range(5):
            clock.advance(5)
        # 1100: +100 trims (nothing back); 1250: +150 < 200; 1300: +200
        # trims; 1500: +200 < 400, twice; the again rule waits 12 looks
        self.assertEqual(trimmed, [1, 1])

    def test_lowestSeen(self) -> None:
        """
        Growth counts from the lowest size seen since the last trim.
        """
        trimmer, clock, trimmed = self.started([1000, 1000, 800, 899, 900, 900])
        clock.advance(5)
        self.assertEqual(trimmer.baseline, 800)
        clock.advance(5)
        self.assertEqual(trimmed, [])
        clock.advance(5)
        self.assertEqual(trimmed, [1])

    def test_noTrimStops(self) -> None:
        """
        A libc without C{malloc_trim}: the first attempt stops the looks.
        """
        _, clock, trimmed = self.started([1000, 1000, 2000], can=False)
        clock.advance(5)
        self.assertEqual(trimmed, [1])
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_noResidentSize(self) -> None:
        """
        Where the resident size cannot be read, nothing is scheduled.
        """
        clock = Clock()
        trimmer = HeapTrimmer(clock, rss=lambda: None, trim=lambda: self.fail("trimmed"))
        trimmer.startService()
        self.assertEqual(clock.getDelayedCalls(), [])
        trimmer.stopService()

    def test_daemonHasOne(self) -> None:
        """
        The daemon's service (twistd's: C{tuneGC}) runs a trimmer on its
        clock; a service built without the daemon's heap tuning does not.
        """
        config = parseConfig(f'listen: ["tcp:0:interface=127.0.0.1"]\nmcp: {{state_dir: "{os.path.abspath(self.mktemp())}"}}\n')
        reactor = MemoryReactorClock()
        plain = ProxyService(config, reactor)
        self.assertNotIn("heap-trimmer", [s.name for s in plain])
        tuned = ProxyService(config, reactor, tuneGC=True)  # built, not started: no freezing of this process
        self.assertIs(tuned.getServiceNamed("heap-trimmer").clock, reactor)


# Frees 40 MiB of 1 MiB heap blocks (glibc's mmap threshold raised as the
# databases' loading raises it), then lets a real HeapTrimmer look once.
RELEASE = """
import ctypes, json
from twisted.internet.task import Clock
from akto_proxy.service import HeapTrimmer, residentBytes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD: what a freed 5 MB database file read leaves
clock = Clock()
trimmer = HeapTrimmer(clock, growth=8 << 20)
trimmer.startService()
start = residentBytes()
blocks = [libc.malloc(1 << 20) for _ in range(40)]
for b in blocks:
    ctypes.memset(b, 1, 1 << 20)
for b in reversed(blocks[:-1]):  # the last keeps the heap's top in use: only a trim gives the rest back
    libc.free(b)
freed = residentBytes()
clock.advance(trimmer.step)
print(json.dumps([start, freed, residentBytes(), trimmer.trims]))
"""


# Six threads alive at once each allocate; glibc gives each its own arena
# up to its limit: the number of arenas (malloc_info) after they allocated.
ARENAS = """
import ctypes, re, sys, tempfile, threading
from akto_proxy.service import limitArenas
took = limitArenas() if sys.argv[1] == "limit" else None
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
alive = threading.Barrier(7)
def work():
    libc.malloc(1000)
    alive.wait(30)  # every thread holds its arena
    alive.wait(30)
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
alive.wait(30)
path = tempfile.mktemp()
f = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, f)
libc.fclose(f)
alive.wait(30)
for t in threads:
    t.join()
print(took, len(re.findall("<heap nr=", open(path).read())))
"""


class HeapReleaseTests(SynchronousTestCase):
    def setUp(self) -> None:
        if not sys.platform.startswith("linux") or not os.path.exists("/proc/self/statm"):
            raise SkipTest("Linux (glibc) only")

    def run_(self, script: str, *args: str) -> str:
        env = dict(os.environ, PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, check=True, env=env)
        return out.stdout.strip().splitlines()[-1]

    def test_arenasLimited(self) -> None:
        """
        After L{limitArenas}, threads share the main malloc arena; without
        it each allocating thread had its own.
        """
        self.assertEqual(self.run_(ARENAS, "limit"), "True 1")
        self.assertEqual(self.run_(ARENAS, "default"), "None 7")

    def test_freedHeapGivenBack(self) -> None:
        """
        With glibc, megabytes freed inside the heap stay resident until the
        trimmer's look trims them.
        """
        start, freed, after, trims = json.loads(self.run_(RELEASE))
        self.assertGreater(freed - start, 35 << 20)  # free() alone kept it
        self.assertGreater(freed - after, 35 << 20)  # the look gave it back
        self.assertEqual(trims, 1)
