"""
Build the external corpora of the instruction detectors from public
repositories brought onto this machine as git snapshots (read with
C{git show}; nothing is downloaded here).  The texts are NOT committed:
they stay in C{data/} (ignored by git).  What is committed is this
builder and C{MANIFEST.tsv}: for every text of the THIRD holdout its id,
label, source, licence and the SHA-256 of the text, written when the set
was built and before anything was scored on it (C{evaluate} refuses a
third split whose texts do not match the manifest).

Two parts, from disjoint sources:

- C{train}: extra training texts for the learned model
  (C{tools/train_instructions.py --extra}), from InjecAgent (its data as
  kept in enkryptai/xInjectAgent, MIT).
- C{third}: the third holdout, from sources nothing is trained or tuned on:
  Tensor Trust (HumanCompatibleAI/tensor-trust-data), Azure/azure-mcp (MIT),
  microsoft/azure-devops-mcp (MIT), and the documentation of
  danzaio/prompt-injection-zoo (MIT), johannhartmann/mcp-injection-experiments
  and Mukesh-SCS/prompt-injection-benchmark (Apache-2.0).

    python -m tests.corpus.mcp.external.build [--mirror /work/.mirror] [--check]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from typing import Any, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
MANIFEST = os.path.join(HERE, "MANIFEST.tsv")
SEED = 20261207

#: repository -> (commit, licence)
SOURCES = {
    "enkryptai/xInjectAgent": ("21af27703ad4e591b8fc686ab9d79249d299a0e8", "MIT (InjecAgent, Qiusi Zhan 2023)"),
    "HumanCompatibleAI/tensor-trust-data": ("e2385ea9cf448c9641b96e2e39f113ed4979a5b0", "no licence file; Tensor Trust data released for research (not redistributed here)"),
    "Azure/azure-mcp": ("f7a3323e24328f6502078bbcf33cec595ac2c538", "MIT"),
    "microsoft/azure-devops-mcp": ("7ecd6f77bc33482f2455eb7283217636267291d8", "MIT"),
    "danzaio/prompt-injection-zoo": ("b5271186965f50b542261c9fad3ac0511057d774", "MIT"),
    "johannhartmann/mcp-injection-experiments": ("4a8a92d43a388b8d2c6e73d65d2fe28df97c444c", "no licence file (not redistributed here)"),
    "Mukesh-SCS/prompt-injection-benchmark": (None, "Apache-2.0"),
}


class Repo:
    def __init__(self, mirror: str, name: str):
        self.name = name
        self.git = os.path.join(mirror, name.replace("/", "+"), "repo")
        commit = SOURCES[name][0]
        self.commit = commit or self.run("rev-parse", "HEAD").strip()
        self.licence = SOURCES[name][1]

    def run(self, *args: str) -> str:
        return subprocess.run(["git", "--git-dir", self.git, *args], check=True, capture_output=True).stdout.decode("utf-8", "replace")

    def files(self) -> list[str]:
        return self.run("ls-tree", "-r", "--name-only", self.commit).splitlines()

    def show(self, path: str) -> str:
        return self.run("show", f"{self.commit}:{path}")

    def source(self, path: str) -> str:
        return f"https://github.com/{self.name}/blob/{self.commit[:12]}/{path}"


def digest(entry: dict[str, Any]) -> str:
    body = entry.get("text") if "text" in entry else json.dumps(entry["tool"], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# -- InjecAgent (training) ---------------------------------------------------


def injecAgent(repo: Repo, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """
    Training texts: tool results of InjecAgent with an attacker instruction
    planted (attacks; the base, enhanced and enkryptai's tool/tech/test
    variants), the same results with an honest sentence in its place and
    the simulated outputs of its tools (benign); tool definitions of its
    330 tools (benign) and the same with an attack text planted in the
    description (attacks).
    """
    attacks: list[str] = []
    templates: list[str] = []
    present = set(repo.files())
    for kind in ("dh", "ds"):
        for variant in ("base", "enhanced", "tool", "tech", "test"):
            path = f"data/test_cases_{kind}_{variant}.json"
            if path not in present:
                continue
            for case in json.loads(repo.show(path)):
                attacks.append((case["Tool Response"].strip('"'), path, case["Tool Response Template"], case["Tool Response"].strip('"').replace(case["Tool Response Template"].split("<Attacker Instruction>")[0], "", 1)))
    # the payload as written into the field (for planting in descriptions)
    payloads = sorted({a[3].rsplit("'", 1)[0] if "'" in a[3] else a[3] for a in attacks})
    for line in repo.show("data/user_cases.jsonl").splitlines():
        templates.append(json.loads(line)["Tool Response Template"])
    toolkits = json.loads(repo.show("data/tools.json"))
    tools = []
    sentences = set()
    for kit in toolkits:
        for t in kit["tools"]:
            props = {p["name"]: {"type": p.get("type", "string"), "description": p.get("description", "")} for p in t.get("parameters", [])}
            tools.append({"name": kit["toolkit"] + t["name"], "description": t.get("summary", ""), "inputSchema": {"type": "object", "properties": props}})
            sentences.add(t.get("summary", ""))
            for p in t.get("parameters", []) + t.get("returns", []):
                sentences.add(p.get("description", ""))
    simulated = json.loads(repo.show("data/attacker_simulated_responses.json"))
    for v in simulated.values():
        for s in re.findall(r'"([^"]{30,400})"', json.dumps(v, ensure_ascii=False)):
            if len(s.split()) >= 5:
                sentences.add(s)
    pool = sorted(s for s in sentences if len(s.split()) >= 5 and "'" not in s)
    unique = {}
    for text, path, _, _ in attacks:
        unique.setdefault(text, path)
    chosen = sorted(unique)
    rng.shuffle(chosen)
    injection: list[dict[str, Any]] = []
    src = lambda p: repo.source(p)  # noqa: E731
    for i, text in enumerate(chosen[:900]):
        injection.append({"id": f"xi-a{i:04d}", "label": "attack", "text": text, "source": src(unique[text]), "licence": repo.licence})
    for i in range(600):
        t = templates[i % len(templates)]
        injection.append({"id": f"xi-b{i:04d}", "label": "benign", "text": t.replace("<Attacker Instruction>", rng.choice(pool)), "source": src("data/user_cases.jsonl") + " (filled with a sentence of data/tools.json or data/attacker_simulated_responses.json)", "licence": repo.licence})
    sims = sorted(json.dumps(v, ensure_ascii=False) for v in simulated.values())
    rng.shuffle(sims)
    for i, text in enumerate(sims[:600]):
        injection.append({"id": f"xi-s{i:04d}", "label": "benign", "text": text, "source": src("data/attacker_simulated_responses.json"), "licence": repo.licence})
    poisoning: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        poisoning.append({"id": f"xt-b{i:04d}", "label": "benign", "tool": tool, "source": src("data/tools.json"), "licence": repo.licence})
        payload = rng.choice(payloads)
        bad = json.loads(json.dumps(tool))
        where = rng.randrange(3)
        if where == 0:
            bad["description"] = payload + " " + bad["description"]
        elif where == 1 or not bad["inputSchema"]["properties"]:
            bad["description"] = bad["description"] + "\n\n" + payload
        else:
            p = rng.choice(sorted(bad["inputSchema"]["properties"]))
            bad["inputSchema"]["properties"][p]["description"] += " " + payload
        poisoning.append({"id": f"xt-a{i:04d}", "label": "attack", "tool": bad, "source": src("data/tools.json") + " with a payload of data/test_cases_*.json planted", "licence": repo.licence})
    return poisoning, injection


# -- the third holdout --------------------------------------------------------


def sections(markdown: str, low: int = 200, high: int = 2000) -> Iterator[str]:
    """
    Sections of a markdown document (split at headings), of C{low} to
    C{high} characters (longer ones cut at a paragraph), without code
    fences' noise left out: documents that discuss injection quote it.
    """
    parts = re.split(r"\n(?=#{1,4} )", markdown)
    for part in parts:
        part = part.strip()
        while len(part) > high:
            cut = part.rfind("\n\n", 0, high)
            if cut < low:
                cut = high
            yield part[:cut].strip()
            part = part[cut:].strip()
        if len(part) >= low:
            yield part


def natural(attack: str) -> bool:
    """
    Whether a Tensor Trust attack has words a detector of text can read: at
    least 8 distinct words of letters, not one token repeated (floods of
    one character or word are left out, kept in no split).
    """
    words = re.findall(r"[^\W\d_]{2,}", attack.lower())
    return len(set(words)) >= 8 and len(set(words)) >= 0.15 * len(words)


def azureTools(repo: Repo) -> list[tuple[dict[str, Any], str]]:
    out = []
    for path in repo.files():
        if not path.endswith("Command.cs") or "/tests/" in path.lower():
            continue
        src = repo.show(path)
        m = re.search(r'Description\s*=>\s*(?:\$*"""(.*?)"""|\$?"((?:[^"\\]|\\.)*)")', src, re.S)
        if not m:
            continue
        desc = re.sub(r"[ \t]*\n[ \t]*", "\n", (m.group(1) or m.group(2) or "")).strip()
        if len(desc) < 20:
            continue
        parts = path.split("/")
        name = parts[1] + "_" + re.sub(r"Command\.cs$", "", parts[-1]).lower()
        out.append(({"name": name, "description": desc, "inputSchema": {"type": "object", "properties": {}}}, path))
    return out


def devopsTools(repo: Repo) -> list[tuple[dict[str, Any], str]]:
    out = []
    for path in repo.files():
        if not (path.startswith("src/tools/") and path.endswith(".ts")):
            continue
        src = repo.show(path)
        for m in re.finditer(r'server\.tool\(\s*([\w.\[\]"]+),\s*((?:"(?:[^"\\]|\\.)*"\s*\+?\s*)+),\s*\{(.*?)\n\s{4}\},', src, re.S):
            desc = "".join(ast.literal_eval(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', m.group(2)))
            props = {}
            for p in re.finditer(r'(\w+):\s*z[\s\S]*?\.describe\(\s*("(?:[^"\\]|\\.)*")', m.group(3)):
                props[p.group(1)] = {"type": "string", "description": ast.literal_eval(p.group(2))}
            name = m.group(1).split(".")[-1].strip('"[]')
            out.append(({"name": name, "description": desc, "inputSchema": {"type": "object", "properties": props}}, path))
    return out


def third(mirror: str, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tt = Repo(mirror, "HumanCompatibleAI/tensor-trust-data")
    attacksTT: list[tuple[str, str]] = []
    seen = set()
    for path in ("benchmarks/hijacking-robustness/v1/hijacking_robustness_dataset.jsonl", "benchmarks/extraction-robustness/v1/extraction_robustness_dataset.jsonl"):
        for line in tt.show(path).splitlines():
            a = json.loads(line)["attack"].strip()
            if a not in seen and natural(a) and len(a) <= 3000:
                seen.add(a)
                attacksTT.append((a, path))
    rng.shuffle(attacksTT)
    # documents: benign texts and carriers (disjoint, by a stable hash)
    docs: list[tuple[str, Repo, str]] = []
    for name, keep in (
        ("Azure/azure-mcp", lambda p: p.endswith(".md") and not p.startswith(".github/")),
        ("microsoft/azure-devops-mcp", lambda p: p.endswith(".md")),
        ("danzaio/prompt-injection-zoo", lambda p: p.endswith(".md") and "pt-BR" not in p),
        ("johannhartmann/mcp-injection-experiments", lambda p: p.endswith(".md") and not p.startswith("prompts/")),
        ("Mukesh-SCS/prompt-injection-benchmark", lambda p: p.endswith(".md")),
    ):
        repo = Repo(mirror, name)
        for path in repo.files():
            if keep(path):
                for s in sections(repo.show(path)):
                    docs.append((s, repo, path))
    docs = sorted(set((s, r.name, p) for s, r, p in docs))
    repos = {n: Repo(mirror, n) for n in SOURCES if n != "enkryptai/xInjectAgent"}
    benignDocs = [d for d in docs if int(hashlib.sha256(d[0].encode()).hexdigest(), 16) % 3 != 0]
    carriers = [d for d in docs if int(hashlib.sha256(d[0].encode()).hexdigest(), 16) % 3 == 0]
    rng.shuffle(benignDocs)
    injection: list[dict[str, Any]] = []
    for i, (text, name, path) in enumerate(benignDocs[:400]):
        injection.append({"id": f"t3pi-b{i:04d}", "label": "benign", "split": "third", "text": text, "source": repos[name].source(path), "licence": repos[name].licence})
    tools = azureTools(repos["Azure/azure-mcp"]) + devopsTools(repos["microsoft/azure-devops-mcp"])
    tools.sort(key=lambda t: json.dumps(t[0], sort_keys=True))
    rng.shuffle(tools)
    # every tool is a benign text, and carries an attack as another text:
    # a detector cannot tell them apart by the topic of the tool
    half = len(tools)
    poisoning: list[dict[str, Any]] = []
    owner = lambda p: "Azure/azure-mcp" if p.startswith("areas/") or p.startswith("core/") else "microsoft/azure-devops-mcp"  # noqa: E731
    for i, (tool, path) in enumerate(tools):
        poisoning.append({"id": f"t3tp-b{i:04d}", "label": "benign", "split": "third", "tool": tool, "source": repos[owner(path)].source(path), "licence": repos[owner(path)].licence})
    k = 0
    for i, (attack, path) in enumerate(attacksTT):
        if i < 400:
            text, name, cpath = carriers[i % len(carriers)]
            paras = text.split("\n\n")
            at = rng.randrange(len(paras) + 1)
            planted = "\n\n".join(paras[:at] + [attack] + paras[at:])
            injection.append({"id": f"t3pi-a{i:04d}", "label": "attack", "split": "third", "text": planted, "source": f"{tt.source(path)} (attack) planted in {repos[name].source(cpath)}", "licence": f"{tt.licence}; carrier {repos[name].licence}"})
        elif k < half:
            tool, tpath = tools[k]
            bad = json.loads(json.dumps(tool))
            where = rng.randrange(3)
            bad["description"] = attack + "\n" + bad["description"] if where == 0 else bad["description"] + "\n\n" + attack if where == 1 else bad["description"].replace(". ", ". " + attack + " ", 1) if ". " in bad["description"] else bad["description"] + " " + attack
            poisoning.append({"id": f"t3tp-a{k:04d}", "label": "attack", "split": "third", "tool": bad, "source": f"{tt.source(path)} (attack) planted in {repos[owner(tpath)].source(tpath)}", "licence": f"{tt.licence}; carrier {repos[owner(tpath)].licence}"})
            k += 1
    return poisoning, injection


def write(name: str, rows: list[dict[str, Any]]) -> None:
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", default="/work/.mirror")
    ap.add_argument("--write-manifest", action="store_true", help="(once, before scoring) record the third holdout")
    a = ap.parse_args(argv)
    tp, pi = injecAgent(Repo(a.mirror, "enkryptai/xInjectAgent"), random.Random(SEED))
    write("train_tool_poisoning.jsonl", [dict(r, split="train") for r in tp])
    write("train_prompt_injection.jsonl", [dict(r, split="train") for r in pi])
    ttp, tpi = third(a.mirror, random.Random(SEED + 1))
    write("tool_poisoning_third.jsonl", ttp)
    write("prompt_injection_third.jsonl", tpi)
    for name, rows in (("train tool poisoning", tp), ("train prompt injection", pi), ("third tool poisoning", ttp), ("third prompt injection", tpi)):
        print(f"{name}: {sum(r['label'] == 'attack' for r in rows)} attacks, {sum(r['label'] == 'benign' for r in rows)} benign")
    if a.write_manifest:
        with open(MANIFEST, "w", encoding="utf-8") as f:
            f.write("id\tlabel\tsha256\tsource\tlicence\n")
            for r in ttp + tpi:
                f.write(f"{r['id']}\t{r['label']}\t{digest(r)}\t{r['source']}\t{r['licence']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
