#!/usr/bin/env python3
"""
Session 14, tune only: configuration that names secrets without holding
them, from repositories no other part drew its references from: the
GitHub Actions workflows (C{${{ secrets.X }}}) and compose files
(C{${VAR}}, C{secrets:}) of the MCP and AI-tooling repositories mirrored
for the other corpora.  Lines that hold a reference, and whole files that
hold no literal secret, as benign secrets lines of the tune split, in the
shapes an agent moves them (a gist it writes, a file it reads).

    python tests/corpus/classic/build_secrets_s14.py [--mirrors /work/.mirror]

Writes C{secrets_s14.benign.jsonl} (git-ignored, as the other lines taken
from snapshots).  A text equal to a line of any other part, held-out or
sealed included, is left out without being shown.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
from typing import Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build_exfil as X  # noqa: E402
import build_fresh as FR  # noqa: E402
from build_fourth import _LITERAL_SECRET, Unseen  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "secrets_s14.benign.jsonl")

# key -> (repository, commit, licence)
S14_REPOS = {
    "openai-python": ("openai/openai-python", "e43b422412a9e96c9cc5192c61fffbe2d7e04836", "Apache-2.0"),
    "ollama": ("ollama/ollama", "fb30760996871fa9460115c753afd2c60d4ab0f7", "MIT"),
    "mcp-servers": ("modelcontextprotocol/servers", "76d64c822f5125032f89eb71dbdb94e42b434821", "MIT"),
    "github-mcp-server": ("github/github-mcp-server", "64a49f34d076b6f5917dae1424521d43c7bcae84", "MIT"),
    "azure-mcp": ("Azure/azure-mcp", "f7a3323e24328f6502078bbcf33cec595ac2c538", "MIT"),
    "nemo-guardrails": ("NVIDIA/NeMo-Guardrails", "e7c23d117f04805fc0eb3e4a8fd35a5e3c5b105f", "Apache-2.0"),
    "garak": ("NVIDIA/garak", "cafbe992780df70015de7295ca026b70c4629ada", "Apache-2.0"),
    "llm-guard": ("protectai/llm-guard", "53af270c69316ed82cb71ba7b19d11b55bda3151", "MIT"),
    "azure-devops-mcp": ("microsoft/azure-devops-mcp", "7ecd6f77bc33482f2455eb7283217636267291d8", "MIT"),
    "purplellama": ("meta-llama/PurpleLlama", "4be64c3a24442b51c76175e6ec67722cc3f5fe38", "MIT"),
    "awslabs-mcp": ("awslabs/mcp", "100b55b6d92f731bc8d23486ce9efd5bbf90c606", "Apache-2.0"),
}

_WORKFLOW = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
_COMPOSE = re.compile(r"(^|/)(docker-)?compose[^/]*\.ya?ml$")


def references(r: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    repo, _, licence = S14_REPOS[r.key]
    for path in r.files():
        workflow, compose = _WORKFLOW.search(path), _COMPOSE.search(path)
        if not (workflow or compose):
            continue
        body = r.show(path)
        if _LITERAL_SECRET.search(body):
            continue  # a file that holds a literal password or token is no reference
        src = f"{repo} {path} ({licence})"
        refers = ("secrets." in body and "${{" in body) if workflow else bool(re.search(r"\$\{|secrets?:", body))
        if not refers:
            continue
        for line in body.splitlines():
            if ("secrets." in line and "${{" in line) or (compose and re.search(r"\$\{|_FILE\b|secrets?:", line)):
                yield FR._exfil("secrets", "benign", "secret-reference", line.strip(), src, rng, split="tune")
        yield FR._exfil("secrets", "benign", "secret-reference", body, src, rng, direction="request", tool=("create_gist", "content"), split="tune")
        yield FR._exfil("secrets", "benign", "secret-reference", body, src, rng, direction="response", tool=("read_file", ""), split="tune")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default="/work/.mirror")
    args = ap.parse_args()
    rng = random.Random("issue16:secrets:s14")
    unseen = Unseen(OUT)  # (every other part's, the sealed ones' too)
    rows = [e for key in S14_REPOS for e in references(FR.Repo(args.mirrors, key, S14_REPOS), rng) if unseen(e["text"])]
    X.writeJsonl(OUT, rows)
    print(f"{len(rows)} benign lines -> {os.path.relpath(OUT)}; {unseen.dropped} equal to a line of another part left out")


if __name__ == "__main__":
    main()
