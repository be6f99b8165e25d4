"""
What the learned model of instructions (akto_proxy/inspect/checks/learned.py)
costs: loading it, and judging texts of several kinds and sizes (µs per
text and per KB), single thread, pure Python.

    .venv/bin/python bench/learned_bench.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from akto_proxy.inspect.checks import learned  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcp_bench import text as prose  # noqa: E402  (the same filler prose)

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "tests", "corpus", "mcp", "prompt_injection.jsonl")


def timed(f: object, texts: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for t in texts:
            f(t)  # type: ignore[operator]
        samples.append((time.perf_counter() - t0) / len(texts) * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args()
    t0 = time.perf_counter()
    learned._models.clear()
    model = learned.load("injection")
    poisoning = learned.load("poisoning")
    assert model is not None and poisoning is not None
    print(f"load both models: {(time.perf_counter() - t0) * 1e3:.0f} ms, file {os.path.getsize(learned.MODEL_FILE) / 1024:.0f} KiB, "
          f"{len(model.table) + len(model.pairs) + len(poisoning.table) + len(poisoning.pairs)} features")
    rnd = random.Random(7)
    corpus = [json.loads(line)["text"] for line in open(CORPUS, encoding="utf-8")]
    rows = [
        ("prose 2 KB (bench/mcp_bench.py's clean result)", [prose(rnd, 2048)]),
        ("corpus texts 1.8-2.3 KB", [t for t in corpus if 1800 <= len(t) <= 2300][:50]),
        ("corpus texts < 500 B", [t for t in corpus if len(t) < 500][:50]),
        ("prose 64 KB", [prose(rnd, 65536)]),
        ("prose 1 MiB (first 64 KiB read)", [prose(rnd, 1 << 20)]),
        ("JSON numbers 2 KB (not prose)", [json.dumps([rnd.random() for _ in range(110)])[:2048]]),
        ("base64 2 KB (not prose)", [base64.b64encode(rnd.randbytes(1536)).decode()]),
    ]
    print(f"{'text':<48} {'us/text':>10} {'us/KB':>8}")
    for name, texts in rows:
        repeat = a.repeat if len(texts[0]) < 100_000 else max(5, a.repeat // 20)
        us = timed(model.probability, texts, repeat)
        kb = statistics.mean(len(t.encode()) for t in texts) / 1024
        print(f"{name:<48} {us:10.1f} {us / kb:8.1f}")


if __name__ == "__main__":
    main()
