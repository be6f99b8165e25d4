"""
Compiled Hyperscan databases kept on disk between starts: compiling the
threat rules and the instruction signals takes seconds (most of the
daemon's start-up); loading them back takes milliseconds.  So is whether a
single expression compiles at all (L{compileProblem}: the configuration's
patterns are checked so at every start and reload): a start that finds
every answer here never runs Hyperscan's compiler, whose code is some
3.7 MiB of the process's resident memory once run.

A database is stored under a name made from everything that changes it
(the expressions, ids, flags, mode, the Hyperscan release and the machine),
in C{AKTO_PROXY_CACHE_DIR}, else systemd's C{$CACHE_DIRECTORY}
(C{CacheDirectory=akto-proxy} in the unit files), else
C{$XDG_CACHE_HOME/akto-proxy} or C{~/.cache/akto-proxy}.  Set
C{AKTO_PROXY_CACHE_DIR} to the empty string to turn it off.  A directory
that cannot be written, a file that cannot be read or a database this
machine cannot run (another CPU) is no error: the database is compiled,
as without a cache.  Files are written to a temporary name and renamed, so
a process never reads half a database.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from typing import Optional, Sequence

import hyperscan
from twisted.logger import Logger

log = Logger()


def cacheDirectory() -> Optional[str]:
    """
    Where databases are kept, or None when caching is off.
    """
    configured = os.environ.get("AKTO_PROXY_CACHE_DIR")
    if configured is not None:
        return configured or None
    systemd = os.environ.get("CACHE_DIRECTORY")
    if systemd:
        return systemd.split(":")[0]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "akto-proxy")


def _name(expressions: Sequence[bytes], ids: Sequence[int], flags: Sequence[int], mode: int) -> str:
    h = hashlib.sha256()
    version = getattr(hyperscan, "__version__", "")
    h.update(f"{version}|{platform.machine()}|{mode}|{len(expressions)}|".encode())
    for e, i, f in zip(expressions, ids, flags):
        h.update(len(e).to_bytes(4, "big") + e + i.to_bytes(4, "big", signed=True) + f.to_bytes(8, "big"))
    return f"hs-{h.hexdigest()[:40]}.db"


def compileProblem(expression: bytes, flags: int, directory: Optional[str] = None) -> Optional[str]:
    """
    What Hyperscan says compiling C{expression} alone with C{flags} in block
    mode (the text of its C{hyperscan.error}), or None when it compiles;
    from the cache when it holds the answer.
    """
    directory = directory if directory is not None else cacheDirectory()
    path = os.path.join(directory, _name([expression], [0], [flags], hyperscan.HS_MODE_BLOCK)[:-3] + VERDICT) if directory else None
    if path is not None:
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8") or None
        except FileNotFoundError:
            pass
        except Exception as e:  # unreadable: compile
            log.info("cached pattern verdict {path} not used: {error}", path=path, error=str(e))
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        db.compile(expressions=[expression], ids=[0], elements=1, flags=[flags])
    except hyperscan.error as e:
        problem: Optional[str] = str(e) or "error"
    else:
        problem = None
        _dropScratch(db)
    if path is not None:
        _store(path, (problem or "").encode("utf-8"))
    return problem


def compileDatabase(
    expressions: Sequence[bytes],
    ids: Sequence[int],
    flags: Sequence[int],
    mode: int = hyperscan.HS_MODE_BLOCK,
    directory: Optional[str] = None,
) -> "hyperscan.Database":
    """
    C{Database(mode).compile(...)}, from the cache when it holds it.
    Raises C{hyperscan.error} as compiling does.
    """
    directory = directory if directory is not None else cacheDirectory()
    path = os.path.join(directory, _name(expressions, ids, flags, mode)) if directory else None
    if path is not None:
        try:
            with open(path, "rb") as f:
                return hyperscan.loadb(f.read(), mode)
        except FileNotFoundError:
            pass
        except Exception as e:  # unreadable, truncated, another CPU: compile
            log.info("cached pattern database {path} not used: {error}", path=path, error=str(e))
    db = hyperscan.Database(mode=mode)
    db.compile(expressions=list(expressions), ids=list(ids), elements=len(expressions), flags=list(flags))
    _dropScratch(db)
    if path is not None:
        _store(path, hyperscan.dumpb(db))
    return db


def _dropScratch(db: "hyperscan.Database") -> None:
    """
    Free the scratch space the binding allocates for a database it
    compiles (C{db.scratch}): every user scans with a scratch of its own
    (as for a database loaded from the cache, which has none), and the
    spare one held 0.5 MB of a first start's memory with the sample's
    checks.
    """
    db.scratch = None


#: databases kept; the oldest beyond are removed (each change of the rules
#: or of the configuration's patterns makes new ones)
KEEP = 32
#: single-expression verdicts kept (L{compileProblem}: a few bytes each)
KEEP_VERDICTS = 1024
VERDICT = ".verdict"


def _store(path: str, data: bytes) -> None:
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".hs-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        _prune(directory, os.path.splitext(path)[1])
    except OSError as e:
        log.info("pattern database not cached in {directory}: {error}", directory=directory, error=str(e))


def _prune(directory: str, suffix: str) -> None:
    keep = KEEP_VERDICTS if suffix == VERDICT else KEEP
    kept = []
    for name in os.listdir(directory):
        if name.startswith("hs-") and name.endswith(suffix):
            try:
                kept.append((os.stat(os.path.join(directory, name)).st_mtime, name))
            except OSError:
                continue
    kept.sort()
    for _, name in kept[: max(0, len(kept) - keep)]:
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:
            pass


__all__ = ["KEEP", "KEEP_VERDICTS", "cacheDirectory", "compileDatabase", "compileProblem"]
