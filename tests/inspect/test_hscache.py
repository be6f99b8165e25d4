"""
Compiled Hyperscan databases kept on disk between starts.
"""

from __future__ import annotations

import os

import hyperscan
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect import hscache
from akto_proxy.inspect.hscache import cacheDirectory, compileDatabase, compileProblem

FLAGS = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH


def matches(db: "hyperscan.Database", data: bytes) -> list[int]:
    found: list[int] = []
    db.scan(data, match_event_handler=lambda i, *a: found.append(i), scratch=hyperscan.Scratch(db))
    return sorted(found)


class CacheTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.dir = os.path.abspath(self.mktemp())

    def files(self) -> list[str]:
        return sorted(n for n in os.listdir(self.dir) if n.endswith(".db")) if os.path.isdir(self.dir) else []

    def test_storedThenLoaded(self) -> None:
        db = compileDatabase([b"foo", b"ba+r"], [0, 1], [FLAGS, FLAGS], directory=self.dir)
        self.assertEqual(len(self.files()), 1)
        again = compileDatabase([b"foo", b"ba+r"], [0, 1], [FLAGS, FLAGS], directory=self.dir)
        self.assertEqual(matches(db, b"FOO baaar"), [0, 1])
        self.assertEqual(matches(again, b"FOO baaar"), [0, 1])
        self.assertEqual(len(self.files()), 1)

    def test_compiledHoldsNoScratch(self) -> None:
        """
        A database compiled (cache or none) keeps no scratch space of the
        binding's beside those its users allocate, as one loaded from the
        cache keeps none: a first start costs no more than a warm one.
        """
        for directory in (self.dir, ""):
            compiled = compileDatabase([b"foo", b"ba+r"], [0, 1], [FLAGS, FLAGS], directory=directory)
            self.assertIsNone(compiled.scratch)
            self.assertEqual(matches(compiled, b"FOO baaar"), [0, 1])
        loaded = compileDatabase([b"foo", b"ba+r"], [0, 1], [FLAGS, FLAGS], directory=self.dir)
        self.assertIsNone(loaded.scratch)
        self.assertEqual(matches(loaded, b"FOO baaar"), [0, 1])
        stream = compileDatabase([b"foo"], [0], [FLAGS], hyperscan.HS_MODE_STREAM, directory=self.dir)
        self.assertIsNone(stream.scratch)

    def test_anyChangeIsAnotherDatabase(self) -> None:
        compileDatabase([b"foo"], [0], [FLAGS], directory=self.dir)
        other = compileDatabase([b"foo"], [0], [0], directory=self.dir)  # case-sensitive now
        compileDatabase([b"foo"], [7], [FLAGS], directory=self.dir)
        self.assertEqual(len(self.files()), 3)
        self.assertEqual(matches(other, b"FOO"), [])

    def test_damagedFileCompiledAgain(self) -> None:
        compileDatabase([b"foo"], [0], [FLAGS], directory=self.dir)
        (name,) = self.files()
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(b"not a database")
        db = compileDatabase([b"foo"], [0], [FLAGS], directory=self.dir)
        self.assertEqual(matches(db, b"xfoo"), [0])
        # and the good one written back
        self.assertEqual(matches(compileDatabase([b"foo"], [0], [FLAGS], directory=self.dir), b"foo"), [0])

    def test_unwritableDirectory(self) -> None:
        blocker = os.path.abspath(self.mktemp())
        with open(blocker, "w") as f:
            f.write("a file where the directory would be")
        db = compileDatabase([b"foo"], [0], [FLAGS], directory=os.path.join(blocker, "cache"))
        self.assertEqual(matches(db, b"foo"), [0])

    def test_badPatternStillRaises(self) -> None:
        self.assertRaises(hyperscan.error, compileDatabase, [b"(unclosed"], [0], [0], directory=self.dir)
        self.assertEqual(self.files(), [])

    def test_pruned(self) -> None:
        self.patch(hscache, "KEEP", 3)
        for i in range(5):
            compileDatabase([b"p%d" % i], [0], [0], directory=self.dir)
        self.assertEqual(len(self.files()), 3)

    def test_verdictsStoredThenLoaded(self) -> None:
        """
        Whether one expression compiles, and Hyperscan's words when it does
        not, are kept: asked again, the compiler is not run (its code is
        megabytes of resident memory once run).
        """
        never = rb"a\bb\Bc"
        empty = b"x*"
        flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_MULTILINE
        first = [compileProblem(p, flags, directory=self.dir) for p in (b"fo+", never, empty, b"(unclosed")]
        self.assertIsNone(first[0])
        self.assertIn("can never match", first[1])
        self.assertIn("empty", first[2])
        self.assertTrue(first[3])
        verdicts = [n for n in os.listdir(self.dir) if n.endswith(".verdict")]
        self.assertEqual(len(verdicts), 4)
        self.assertEqual(self.files(), [])  # no database among them

        class NoCompiler:
            def __init__(self, *a: object, **kw: object) -> None:
                raise AssertionError("compiled again")

        self.patch(hscache.hyperscan, "Database", NoCompiler)
        again = [compileProblem(p, flags, directory=self.dir) for p in (b"fo+", never, empty, b"(unclosed")]
        self.assertEqual(again, first)

    def test_verdictWithoutCache(self) -> None:
        self.assertIsNone(compileProblem(b"foo", 0, directory=""))
        self.assertIn("can never match", compileProblem(rb"a\bb\Bc", 0, directory="") or "")

    def test_verdictsPrunedApart(self) -> None:
        self.patch(hscache, "KEEP", 2)
        self.patch(hscache, "KEEP_VERDICTS", 3)
        for i in range(5):
            compileProblem(b"v%d" % i, 0, directory=self.dir)
            compileDatabase([b"d%d" % i], [0], [0], directory=self.dir)
        self.assertEqual(len(self.files()), 2)
        self.assertEqual(len([n for n in os.listdir(self.dir) if n.endswith(".verdict")]), 3)

    def test_directory(self) -> None:
        env = {k: os.environ.get(k) for k in ("AKTO_PROXY_CACHE_DIR", "CACHE_DIRECTORY", "XDG_CACHE_HOME")}

        def restore() -> None:
            for k, v in env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

        self.addCleanup(restore)
        for k in env:
            os.environ.pop(k, None)
        os.environ["XDG_CACHE_HOME"] = "/x"
        self.assertEqual(cacheDirectory(), "/x/akto-proxy")
        os.environ["CACHE_DIRECTORY"] = "/var/cache/akto-proxy"
        self.assertEqual(cacheDirectory(), "/var/cache/akto-proxy")
        os.environ["AKTO_PROXY_CACHE_DIR"] = ""
        self.assertIsNone(cacheDirectory())
