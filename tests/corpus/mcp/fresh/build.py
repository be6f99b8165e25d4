"""
Builds the FRESH holdout (C{tool_poisoning_fresh.jsonl},
C{prompt_injection_fresh.jsonl}): texts from public sources that neither
the rules nor the learned model saw, nor their authors, kept apart from
tuning for good.  Run once, by hand, where the sources were at hand (git
snapshots of the repositories below and the C{spikee} sdist from PyPI):

    python tests/corpus/mcp/fresh/build.py MIRROR SPIKEE_DATASETS

MIRROR holds C{owner+name/repo} git directories; SPIKEE_DATASETS is
C{spikee-0.9.2/spikee/data/workspace/datasets}.  Every entry records its
source (repository, commit, path) and licence.  Selection is by a fixed
seed; nothing here looks at what any detector says.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from typing import Any, Optional

SEED = 14
HERE = os.path.dirname(os.path.abspath(__file__))


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout


def show(repo: str, path: str) -> str:
    return git(repo, "show", f"HEAD:{path}")


def head(repo: str) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def stable(s: str) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest()[:12], 16)


# -- tool definitions from Python sources (FastMCP decorators, dict literals)


def _str(node: Any) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _str(node.left), _str(node.right)
        return a + b if a is not None and b is not None else None
    return None


def _fieldDescription(node: Any) -> Optional[str]:
    if isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg == "description":
                return _str(kw.value)
    return None


_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array", "List": "array", "dict": "object", "Dict": "object"}


def _annotated(ann: Any) -> tuple[str, Optional[str]]:
    if isinstance(ann, ast.Subscript) and isinstance(ann.value, ast.Name):
        elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        if ann.value.id == "Annotated":
            kind = _annotated(elts[0])[0]
            for e in elts[1:]:
                d = _fieldDescription(e) or _str(e)
                if d:
                    return kind, d
            return kind, None
        if ann.value.id == "Optional":
            return _annotated(elts[0])
        return _TYPES.get(ann.value.id, "string"), None
    if isinstance(ann, ast.Name):
        return _TYPES.get(ann.id, "string"), None
    return "string", None


def decoratedTools(src: str) -> list[dict[str, Any]]:
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        deco = None
        for d in node.decorator_list:
            f = d.func if isinstance(d, ast.Call) else d
            if (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")) == "tool":
                deco = d
        if deco is None:
            continue
        name, description = node.name, None
        if isinstance(deco, ast.Call):
            for kw in deco.keywords:
                if kw.arg == "name" and _str(kw.value):
                    name = _str(kw.value) or name
                if kw.arg == "description":
                    description = _str(kw.value)
        description = description or ast.get_docstring(node)
        if not description:
            continue
        props: dict[str, Any] = {}
        required = []
        args = node.args.args + node.args.kwonlyargs
        defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + list(node.args.defaults) + list(node.args.kw_defaults)
        for a, default in zip(args, defaults):
            if a.arg in ("self", "ctx", "context", "cls") or (isinstance(a.annotation, ast.Name) and a.annotation.id == "Context"):
                continue
            kind, d = _annotated(a.annotation)
            d = d or _fieldDescription(default)
            props[a.arg] = {"type": kind, **({"description": d} if d else {})}
            if default is None:
                required.append(a.arg)
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        out.append({"name": name, "description": description, "inputSchema": schema})
    return out


def dictTools(src: str) -> list[dict[str, Any]]:
    tree = ast.parse(src)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
        if "name" not in keys or "description" not in keys:
            continue
        d: dict[str, Any] = {}
        for k, v in zip(keys, node.values):
            if k in ("name", "description"):
                d[k] = _str(v)
            elif k in ("inputSchema", "parameters"):
                try:
                    d["inputSchema"] = ast.literal_eval(v)
                except ValueError:
                    pass
        if isinstance(d.get("name"), str) and isinstance(d.get("description"), str):
            out.append({"name": d["name"], "description": d["description"], "inputSchema": d.get("inputSchema") or {"type": "object", "properties": {}}})
    return out


# -- prose sections from Markdown


def sections(md: str, lo: int = 300, hi: int = 6000) -> list[str]:
    """
    The `## ` sections of a Markdown file (code fences kept), cut to
    C{hi} characters at a paragraph boundary; shorter than C{lo}: left out.
    """
    parts = re.split(r"\n(?=##+ )", md)
    out = []
    for p in parts:
        p = p.strip()
        if len(p) < lo:
            continue
        if len(p) > hi:
            cut = p.rfind("\n\n", 0, hi)
            p = p[: cut if cut > lo else hi]
        out.append(p)
    return out


def paragraphs(md: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", md) if 200 <= len(p.strip()) <= 1500 and not p.strip().startswith(("```", "|", "#", "<", "!["))]


# -- the sources


AWS = "awslabs+mcp"
AWS_SKIP = ("dynamodb-mcp-server", "ecs-mcp-server", "iam-mcp-server")  # in the tune/holdout corpus


def awsTools(mirror: str) -> list[tuple[str, dict[str, Any]]]:
    repo = os.path.join(mirror, AWS, "repo")
    files = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "src").split("\n") if p.endswith(".py") and "/tests/" not in p and "/test_" not in p]
    out = []
    seen = set()
    for path in files:
        server = path.split("/")[1]
        if server in AWS_SKIP:
            continue
        src = show(repo, path)
        if ".tool(" not in src and ".tool\n" not in src and "@mcp.tool" not in src:
            continue
        for t in decoratedTools(src):
            key = t["description"].strip()
            if key in seen or len(json.dumps(t)) > 15000:
                continue
            seen.add(key)
            out.append((f"https://github.com/awslabs/mcp/blob/{head(repo)}/{path}", t))
    return out


def awsReadmes(mirror: str) -> list[tuple[str, str]]:
    repo = os.path.join(mirror, AWS, "repo")
    files = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "src").split("\n") if p.endswith("README.md") and p.count("/") == 2]
    out = []
    for path in files:
        if path.split("/")[1] in AWS_SKIP:
            continue
        for s in sections(show(repo, path)):
            out.append((f"https://github.com/awslabs/mcp/blob/{head(repo)}/{path}", s))
    return out


def cheatSheets(mirror: str) -> list[tuple[str, str]]:
    repo = os.path.join(mirror, "OWASP+CheatSheetSeries", "repo")
    files = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "cheatsheets").split("\n") if p.endswith(".md")]
    out = []
    for path in files:
        for s in sections(show(repo, path)):
            out.append((f"https://github.com/OWASP/CheatSheetSeries/blob/{head(repo)}/{path}", s))
    return out


def demoPoisoned(mirror: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """
    Poisoned (and clean) tool definitions of public demonstrations:
    (source, licence, tool, label).
    """
    out: list[tuple[str, str, dict[str, Any], str]] = []
    repo = os.path.join(mirror, "tristanhausermannpernet+mcp-hacking", "repo")
    for path, label in (
        ("tool-poisoning-attack/poisoning-server.py", "attack"),
        ("tool-shadowing-attack/poisoning-server.py", "attack"),
        ("tool-shadowing-attack/email-server.py", "benign"),
        ("tool-baiting-attack/baiting-server.py", "benign"),
    ):
        for t in dictTools(show(repo, path)):
            out.append((f"https://github.com/tristanhausermannpernet/mcp-hacking/blob/{head(repo)}/{path}", "MIT", t, label))
    repo = os.path.join(mirror, "gensecaihq+mcp-poisoning-poc", "repo")
    for path in ("src/attacks/data_exfiltration.py", "src/attacks/tool_hijacking.py", "src/demo/malicious_server.py"):
        for t in dictTools(show(repo, path)):
            out.append((f"https://github.com/gensecaihq/mcp-poisoning-poc/blob/{head(repo)}/{path}", "MIT", t, "attack"))
    repo = os.path.join(mirror, "nmeisenzahl+hijack-agentic-ai", "repo")
    path = "demos/demo2-mcp-tool-abuse/src/mcp_servers/weather_server.py"
    for t in decoratedTools(show(repo, path)):
        out.append((f"https://github.com/nmeisenzahl/hijack-agentic-ai/blob/{head(repo)}/{path}", "MIT", t, "attack"))
    repo = os.path.join(mirror, "harryc295+tool-poisoning-bench", "repo")
    path = "scenarios.py"
    src = show(repo, path)
    for t in dictTools(src):
        out.append((f"https://github.com/harryc295/tool-poisoning-bench/blob/{head(repo)}/{path}", "MIT", t, "benign"))
    base = {t["name"]: t for t in dictTools(src)}
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Scenario":
            kw = {k.arg: k.value for k in node.keywords}
            if "description_override" in kw and isinstance(kw["description_override"], ast.Dict):
                for k, v in zip(kw["description_override"].keys, kw["description_override"].values):
                    name, text = _str(k), _str(v)
                    if name in base and text:
                        out.append((f"https://github.com/harryc295/tool-poisoning-bench/blob/{head(repo)}/{path}", "MIT", dict(base[name], description=text), "attack"))
    repo = os.path.join(mirror, "techstar9797+safe-mcp", "repo")
    path = "techniques/SAFE-T1001/test-logs.json"
    labels = {"data_processor": "attack", "api_client": "attack", "analyzer": "attack", "formatter": "attack", "helper": "attack"}
    for line in show(repo, path).splitlines():
        if line.strip():
            e = json.loads(line)
            t = {"name": e["tool_name"], "description": e["tool_description"], "inputSchema": {"type": "object", "properties": {}}}
            out.append((f"https://github.com/techstar9797/safe-mcp/blob/{head(repo)}/{path} (labels from test_detection_rule.py)", "Apache-2.0", t, labels.get(e["tool_name"], "benign")))
    return out


def spikee(datasets: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    def rows(path: str) -> list[dict[str, Any]]:
        with open(os.path.join(datasets, path), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    jailbreaks = rows("seeds-cybersec-2026-01/jailbreaks.jsonl") + rows("seeds-llm-mailbox/jailbreaks.jsonl")
    instructions = rows("seeds-cybersec-2026-01/instructions.jsonl") + rows("seeds-llm-mailbox/instructions.jsonl") + rows("seeds-sysmsg-extraction-2025-04/instructions.jsonl")
    documents = [r for r in rows("seeds-cybersec-2026-01/base_user_inputs.jsonl") if r.get("document") and "<PLACEHOLDER>" not in r["document"]]
    fp = rows("seeds-investment-advice-fp/standalone_user_inputs.jsonl")
    return jailbreaks, instructions, documents, fp


SPIKEE = "https://pypi.org/project/spikee/0.9.2/ (spikee/data/workspace/datasets/{})"


def payload(rnd: random.Random, jailbreaks: list[dict[str, Any]], instructions: list[dict[str, Any]]) -> tuple[str, str]:
    j = rnd.choice(jailbreaks)
    i = rnd.choice(instructions)
    text = j["text"].replace("<INSTRUCTION>", i["instruction"])
    return text, f"jailbreak {j['id']} + instruction {i['id']}"


def plant(carrier: str, text: str, where: str) -> str:
    if where == "start":
        return text + "\n\n" + carrier
    if where == "end":
        return carrier + "\n\n" + text
    cut = carrier.find(". ", len(carrier) // 3)
    cut = cut + 2 if 0 < cut < len(carrier) - 2 else len(carrier) // 2
    return carrier[:cut] + text + " " + carrier[cut:]


def main(mirror: str, datasets: str) -> None:
    rnd = random.Random(SEED)
    jailbreaks, instructions, documents, fp = spikee(datasets)

    # -- tool poisoning
    tools = awsTools(mirror)
    tools.sort(key=lambda st: stable(st[1]["name"] + st[1]["description"][:80]))
    perServer: dict[str, int] = {}
    benignTools, carriers = [], []
    for source, t in tools:
        server = source.split("/src/")[1].split("/")[0]
        if perServer.get(server, 0) < 8:
            perServer[server] = perServer.get(server, 0) + 1
            benignTools.append((source, t))
        else:
            carriers.append((source, t))
    tp: list[dict[str, Any]] = []
    for source, t in benignTools[:300]:
        tp.append({"label": "benign", "tool": t, "source": source, "licence": "Apache-2.0"})
    for source, licence, t, label in demoPoisoned(mirror):
        tp.append({"label": label, "tool": t, "source": source, "licence": licence})
    rnd.shuffle(carriers)
    for source, t in carriers[:90]:
        text, what = payload(rnd, jailbreaks, instructions)
        where = rnd.choice(("start", "middle", "end"))
        tp.append({
            "label": "attack",
            "tool": dict(t, description=plant(t["description"], text, where)),
            "source": f"spikee payload ({what}; {SPIKEE.format('seeds-*')}) planted at the {where} of the description of {source}",
            "licence": "Apache-2.0",
        })

    # -- prompt injection
    pi: list[dict[str, Any]] = []
    readmes = awsReadmes(mirror)
    sheets = cheatSheets(mirror)
    readmes.sort(key=lambda st: stable(st[1][:200]))
    sheets.sort(key=lambda st: stable(st[1][:200]))
    llm = [s for s in sheets if re.search(r"LLM|Prompt_Injection|AI_Agent|Secure_AI|Coding_with_AI", s[0])]
    other = [s for s in sheets if s not in llm]
    for source, text in llm[:60] + other[:70]:
        pi.append({"label": "benign", "kind": "doc", "text": text, "source": source, "licence": "CC-BY-SA-4.0"})
    half = len(readmes) // 2
    for source, text in readmes[:half][:90]:
        pi.append({"label": "benign", "kind": "readme", "text": text, "source": source, "licence": "Apache-2.0"})
    for r in fp[:60]:
        pi.append({"label": "benign", "kind": "other", "text": r["text"], "source": SPIKEE.format("seeds-investment-advice-fp/standalone_user_inputs.jsonl") + f" id {r['id']}", "licence": "Apache-2.0"})
    for d in documents:
        pi.append({"label": "benign", "kind": "email", "text": d["document"], "source": SPIKEE.format("seeds-cybersec-2026-01/base_user_inputs.jsonl") + f" id {d['id']}", "licence": "Apache-2.0"})
    carriersPi = [(s, p) for s, text in readmes[half:] for p in paragraphs(text)]
    rnd.shuffle(carriersPi)
    for k in range(170):
        text, what = payload(rnd, jailbreaks, instructions)
        where = rnd.choice(("start", "middle", "end"))
        if k < 20 and documents:
            d = documents[k % len(documents)]
            carrier, source, licence = d["document"], SPIKEE.format("seeds-cybersec-2026-01/base_user_inputs.jsonl") + f" id {d['id']}", "Apache-2.0"
        else:
            source, carrier = carriersPi[k % len(carriersPi)]
            licence = "Apache-2.0"
        pi.append({
            "label": "attack",
            "kind": "doc",
            "text": plant(carrier, text, where),
            "source": f"spikee payload ({what}; {SPIKEE.format('seeds-*')}) planted at the {where} of a paragraph of {source}",
            "licence": licence,
        })

    for name, rows, key in (("tool_poisoning_fresh.jsonl", tp, "tool"), ("prompt_injection_fresh.jsonl", pi, "text")):
        seen = set()
        kept = []
        for e in rows:
            body = json.dumps(e[key], sort_keys=True)
            if body in seen:
                continue
            seen.add(body)
            kept.append(e)
        rnd.shuffle(kept)
        prefix = "tpf" if key == "tool" else "pif"
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            for n, e in enumerate(kept, 1):
                f.write(json.dumps({"id": f"{prefix}-{n:04d}", "split": "fresh", **e}, ensure_ascii=False) + "\n")
        print(name, sum(e["label"] == "attack" for e in kept), "attacks", sum(e["label"] == "benign" for e in kept), "benign")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
