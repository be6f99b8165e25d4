"""
Session 12's tune-only lines for command injection: real command lines of
many programs, not more of one obfuscation.  Writes
C{command_injection_s12.attacks.jsonl} and
C{command_injection_s12.benign.jsonl} beside this file (every line
C{"split": "tune"}: they were written knowing the rules).

Attacks: the command lines of redcanaryco/atomic-red-team's atomics (MIT,
commit below; the Linux and macOS C{sh}/C{bash} executors and Windows'
C{command_prompt} and C{powershell} ones, their C{#{input}} defaults filled
in) put where a data argument's value goes: after a value and a separator,
in a substitution, behind a quote that closes the one around the value, or
as the whole value; a share of them spelled one more way a shell undoes
(quotes or a backslash inside the program's name, an unset variable, an
ANSI-C string, braces, C{$IFS}, a glob-spelled path, cmd's carets and
quotes).  GTFOBins and LOLBAS (GPL-3.0) were not fetched; nothing of
theirs is used.

Benign: the prose of dylanaraps/pure-bash-bible (MIT) in prose arguments and
its shell lines for a coding tool's command, and values written here that a
shell-minded reader would misread: product searches and file names that
start with a program's name, lists with separators, prose with a
semicolon, query strings, Windows paths.

A line whose text (stripped) is a held-out or fresh line's is dropped
without being shown (the held-out lines of every C{*.jsonl} here, the
fresh part by C{fresh/MANIFEST.tsv}); the count is printed.

    python tests/corpus/classic/build_cmd_s12.py [--mirrors /work/.mirror]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import re
import subprocess
from typing import Iterator, Optional

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "issue16:command_injection:s12"
CATEGORY = "command_injection"
ATOMICS = ("redcanaryco+atomic-red-team", "9f85cf3e54b0cbdd6c702375c555273913eff442")
BIBLE = ("dylanaraps+pure-bash-bible", "8c19d0b482b04d8d50fb72b4c5148b41ce605c6d")

TOOLS = [("ping_host", "host"), ("convert_file", "filename"), ("dns_lookup", "domain"), ("resize_image", "image"),
         ("git_clone", "url"), ("backup", "name"), ("get_user", "username"), ("search_products", "query"), ("lookup_order", "order_id")]
VALUES = ["127.0.0.1", "example.com", "report.pdf", "photo.jpg", "main", "backup-01", "alice", "1001", "x", "", ""]
UNIX_CONTEXTS = ["{v};{c}", "{v}; {c}", "{v} ; {c}", "{v}|{c}", "{v} | {c}", "{v}&&{c}", "{v} && {c}", "{v}||{c}", "{v} || {c}",
                 "{v}&{c}", "{v} & {c}", "{v}%0a{c}", "{v}\n{c}", "{v}$({c})", "{v}`{c}`", "{v}';{c};'", "{v}\";{c};\"",
                 "{v}');{c};#", ";{c};", "|{c}", "&&{c}", "%0a{c}%0a", "{v}%3b{c}", "{v}%26%26{c}", "{v}%7c{c}", "$({c})", "`{c}`"]
WIN_CONTEXTS = ["{v}&{c}", "{v} & {c}", "{v}&&{c}", "{v} && {c}", "{v}|{c}", "{v} | {c}", "{v}||{c}", "{v}%26{c}", "{v}\r\n{c}",
                "{v}\"&{c}&\"", "&{c}&", "|{c}", "{v}%0d%0a{c}"]
PS_CONTEXTS = ["{v};{c}", "{v}; {c}", "{v} | {c}", "{v}';{c};'", "{v}\";{c};\"", ";{c}", "{v}%3b{c}", "{v}$({c})"]


def _atomics(repo: str, commit: str) -> tuple[list[str], list[str], list[str]]:
    """
    One-line commands of the atomics' executors: (Unix, cmd, PowerShell).
    """
    names = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", commit, "atomics"], capture_output=True, text=True,
                           check=True).stdout.split()
    unix: list[str] = []
    cmd: list[str] = []
    ps: list[str] = []
    for name in names:
        if not re.match(r"atomics/T[\d.]+/T[\d.]+\.yaml$", name):
            continue
        doc = yaml.safe_load(subprocess.run(["git", "-C", repo, "show", f"{commit}:{name}"], capture_output=True, text=True,
                                            check=True).stdout)
        for test in doc.get("atomic_tests") or ():
            executor = test.get("executor") or {}
            kind = executor.get("name")
            command = executor.get("command")
            if kind not in ("sh", "bash", "command_prompt", "powershell") or not isinstance(command, str):
                continue
            defaults = {k: str((v or {}).get("default", "")) for k, v in (test.get("input_arguments") or {}).items()}
            command = re.sub(r"#\{([\w-]+)\}", lambda m: defaults.get(m.group(1), m.group(1)), command)
            windows = kind != "sh" and kind != "bash"
            command = command.replace("PathToAtomicsFolder", "C:\\AtomicRedTeam\\atomics" if windows else "/opt/atomics")
            for line in command.splitlines():
                line = line.strip()
                if not (4 <= len(line) <= 160) or line.startswith(("#", "REM ", "rem ", "::", "<#", "}", "{", "fi", "done", "else", "then")):
                    continue
                if line.endswith(("{", "\\", "`", "(")) or "\n" in line or "#{" in line:
                    continue
                if re.match(r"[A-Za-z_]\w*=\S*$", line) or not re.match(r"[\w./\\\"'&%$\[-]", line):
                    continue  # an assignment alone, or no command's start
                if kind == "powershell" and line.startswith("$") and not re.match(r"\$\w+\s*=\s*(?:[A-Za-z]+-[A-Za-z]+|&|iex\b)", line):
                    continue  # a script's statement, not a command
                if "sshpass -p '" in line:
                    # (left out: after a %0a, the prefilter's database of both
                    # finds a secret in it that the response's rules, scanned
                    # apart, do not; main's too: test_rawproof.TogetherTests,
                    # reported, not this builder's to hide or fix)
                    continue
                (unix if kind in ("sh", "bash") else cmd if kind == "command_prompt" else ps).append(line)
    # (at most so many of each: the atomics hold many more PowerShell lines)
    r = random.Random(SEED + ":atomics")
    return tuple(sorted(r.sample(sorted(set(lines)), min(len(set(lines)), cap))) for lines, cap in ((unix, 700), (cmd, 450), (ps, 450)))  # type: ignore[return-value]


# --- one more spelling a shell undoes ---------------------------------------------

def _head(c: str) -> tuple[str, str]:
    first, _, rest = c.partition(" ")
    return first, (" " + rest if rest else "")


def _quoteInside(c: str, r: random.Random) -> str:
    first, rest = _head(c)
    if len(first) < 2 or not first.isalnum():
        return c
    k = r.randrange(1, len(first))
    q = r.choice("'\"")
    return first[:k] + q + q + first[k:] + rest if r.random() < 0.5 else first[:k] + q + first[k:] + q + rest


def _backslash(c: str, r: random.Random) -> str:
    first, rest = _head(c)
    return "\\".join(first) + rest if first.isalnum() and len(first) > 1 else c


def _unset(c: str, r: random.Random) -> str:
    first, rest = _head(c)
    if len(first) < 2 or not first.isalnum():
        return c
    k = r.randrange(1, len(first))
    return first[:k] + r.choice(["${u}", "$@", "${x:-}", "$9"]) + first[k:] + rest  # ($u before a letter names another variable)


def _ansiC(c: str, r: random.Random) -> str:
    first, rest = _head(c)
    return "$'" + "".join(f"\\x{ord(ch):02x}" for ch in first) + "'" + rest if first.isalnum() else c


def _ifs(c: str, r: random.Random) -> str:
    return c.replace(" ", r.choice(["$IFS", "${IFS}", "$IFS$9"])) if " " in c and "'" not in c and '"' not in c else c


def _braces(c: str, r: random.Random) -> str:
    parts = c.split(" ")
    return "{" + ",".join(parts) + "}" if 2 <= len(parts) <= 4 and all(p and not set(p) & set("{},'\"$|;&<>") for p in parts) else c


def _glob(c: str, r: random.Random) -> str:
    first, rest = _head(c)
    if not first.isalpha() or len(first) < 2:
        return c
    spelled = "".join("?" if r.random() < 0.5 else ch for ch in first)
    return "/???/" + spelled + rest if first in GLOB_SAFE else c


def _caret(c: str, r: random.Random) -> str:
    first, rest = _head(c)
    return "^".join(first) + rest if first.isalnum() else c


def _cmdQuotes(c: str, r: random.Random) -> str:
    first, rest = _head(c)
    if len(first) < 3 or not first.isalnum():
        return c
    k = r.randrange(1, len(first) - 1)
    return first[:k] + '"' + first[k:k + 1] + '"' + first[k + 1:] + rest


GLOB_SAFE = frozenset("cat ls id ps uname whoami hostname netstat ifconfig curl wget nc bash sh python3 perl find grep head tail env".split())
UNIX_SPELLINGS = [_quoteInside, _backslash, _unset, _ansiC, _ifs, _braces, _glob]
WIN_SPELLINGS = [_caret, _cmdQuotes]


def attacks(rng: random.Random, unix: list[str], cmd: list[str], ps: list[str]) -> Iterator[tuple[str, str]]:
    for lines, contexts, spellings, family in ((unix, UNIX_CONTEXTS, UNIX_SPELLINGS, "unix"), (cmd, WIN_CONTEXTS, WIN_SPELLINGS, "cmd"),
                                               (ps, PS_CONTEXTS, [], "powershell")):
        for line in lines:
            context = rng.choice(contexts)
            c = line
            how = "plain"
            if spellings and rng.random() < 0.35:
                spell = rng.choice(spellings)
                c = spell(line, rng)
                how = spell.__name__.lstrip("_")
            v = rng.choice(VALUES)
            if "%" in context:
                c = c.replace(" ", "%20") if rng.random() < 0.5 else c
            yield f"atomic-red-team:{family}:{how}", context.format(v=v, c=c)
        # and a share of them as the whole value: a command line where a value belongs
        for line in rng.sample(lines, min(len(lines), 60)):
            yield f"atomic-red-team:{family}:whole", line


# --- hard benign values --------------------------------------------------------------
# values that start with a program's name, or hold a separator, in data arguments
BENIGN_VALUES = [
    # product and catalogue searches named like programs
    "python crash course", "python for data analysis 3rd edition", "ruby red grapefruit", "perl bead necklace", "java coffee beans",
    "node red starter kit", "make up brush set", "make it stick", "time machine backup drive", "watch strap leather", "top sellers",
    "top 10 laptops", "head phones wireless", "tail light assembly", "cut resistant gloves", "sort by price", "find my order",
    "file folders letter size", "tree house kit", "more than words", "less is more", "yes to carrots", "join the club mug",
    "look book spring", "man of steel dvd", "open box deals", "print cartridges 63xl", "say anything poster", "split pea soup",
    "test tube rack", "touch lamp", "kill a mockingbird", "date night ideas", "screen protector", "script font pack",
    "host gifts", "ping golf clubs", "dig safe sign", "salt lamp", "chef knife set", "docker desktop sticker", "git gud shirt",
    "fish oil capsules", "swift playgrounds book", "dart board", "crystal glasses", "rust remover", "go board 19x19",
    "ssh key holder", "tmux cheat sheet poster", "vim plugin book", "emacs mug", "zip ties 100 pack", "tar remover",
    "env sustainability report", "w hotel", "at home gym", "ip camera outdoor", "su casa mug", "ed sheeran tickets",
    "export controls policy", "source code tshirt", "echo dot 5th gen", "alias grace", "trap music vinyl", "column radiator",
    "install guide pdf", "ls engine mount", "ps5 controller", "dd214 form", "cp violation", "mv agusta", "rm williams boots",
    "sleep mask silk", "timeout chair", "last minute gifts", "who framed roger rabbit", "finger puppets", "mount everest puzzle",
    "service manual 2019", "route 66 sign", "net worth tracker", "arp instruments", "brew kit ipa", "apt 4b",
    # file names and labels with separators
    "Tom & Jerry; season 2.mkv", "Salt & Pepper - Push It.mp3", "budget; final; v2.xlsx", "AT&T invoice.pdf", "R&D | Q3.pptx",
    "rock; paper; scissors", "Ben & Jerry's", "Q&A; follow-up.md", "notes; todo | done.txt", "up & down", "black & white.jpg",
    "cats & dogs & birds", "day|night", "north|south|east|west", "yes|no|maybe", "read; write; execute", "copy & paste",
    "find & replace.docx", "search & rescue", "cut & paste", "drag & drop", "trial & error", "lock & key", "ps & qs",
    "fish; chips", "bread & butter", "hook, line & sinker", "this; that; the other", "spring; summer; fall",
    # prose in data arguments, with a semicolon
    "Ship to the back door; ring twice", "Leave at reception; call on arrival", "Gift wrap please; no receipt",
    "Deliver after 5pm; the dog is friendly", "Alice; Bob; Carol", "Room 12; floor 3", "see attached; thanks",
    # query strings, styles and lists
    "https://shop.example/search?q=make+up&sort=price", "https://example.com/?a=1&b=2&c=3", "color: red; margin: 0",
    "font-family: Arial; font-size: 12px", "key1=value1;key2=value2", "a=1&b=2", "tags=cat|dog", "1;2;3", "10|20|30",
    "en-US; q=0.9", "text/html; charset=utf-8", "max-age=3600; must-revalidate", "id:42 & status:open",
    # things that look like paths, hosts and options
    "/home/alice/photos/cat.jpg", "./build/output.log", "~/notes/todo.md", "C:\\Users\\bob\\Desktop\\ping.txt",
    "cat-photo-01.png", "ls-2024-report.pdf", "whoami-podcast-ep1.mp3", "curl-up-yoga.mp4", "bash-party-invite.pdf",
    "-- no preference --", "--", "- none -", "n/a", "v1.2.3 -> v1.3.0", "2024-01-01 & 2024-12-31", "x86_64 | arm64",
]
BENIGN_PROSE_EXTRA = [
    "Run the tests; then open a PR", "The script uses `find . -name x`; is that slow?", "Use && between commands to chain them",
    "Pipe the output | grep it", "I tried ls -la and saw nothing", "Try pip3 install requests if it is missing",
]
PROSE_TOOLS = [("send_message", "text"), ("create_issue", "body"), ("git_commit", "message"), ("chat", "message"),
               ("create_issue", "title")]
CODE_TOOLS = [("run_command", "command")]


def _bible(repo: str, commit: str) -> tuple[list[str], list[str]]:
    """
    pure-bash-bible's README: its prose sentences and the lines of its
    shell examples.
    """
    text = subprocess.run(["git", "-C", repo, "show", f"{commit}:README.md"], capture_output=True, text=True, check=True).stdout
    prose: list[str] = []
    code: list[str] = []
    block = False
    for line in text.splitlines():
        if line.startswith("```"):
            block = not block
            continue
        s = line.strip()
        if block:
            if 6 <= len(s) <= 160 and not s.startswith("#"):
                code.append(s)
        elif 20 <= len(s) <= 240 and s[0].isalpha() and not s.startswith(("<", "|", "http")):
            prose.append(s)
    return sorted(set(prose)), sorted(set(code))


def _heldOut() -> set[str]:
    """
    The texts (stripped) and text digests of every held-out and fresh line,
    never shown.
    """
    out: set[str] = set()
    for path in glob.glob(os.path.join(HERE, "*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row.get("split", "tune") != "tune":
                    out.add(row["text"].strip())
                    out.add(hashlib.sha256(row["text"].encode("utf-8")).hexdigest())
    manifest = os.path.join(HERE, "fresh", "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            out.update(line.rstrip("\n").split("\t")[-1] for line in f)
    return out


def _kept(text: str, held: set[str]) -> bool:
    return text.strip() not in held and hashlib.sha256(text.encode("utf-8")).hexdigest() not in held and \
        hashlib.sha256(text.strip().encode("utf-8")).hexdigest() not in held


def _resolve(mirrors: str, name: str, commit: str) -> tuple[str, str]:
    repo = os.path.join(mirrors, name, "repo")
    full = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    return repo, commit if full.startswith(commit[:9]) else full


class Rows:
    """
    The lines a builder makes, by label (C{attacks}, C{benign}): each text
    once, none blank, none that a held-out or fresh line holds (counted in
    C{dropped}, never shown).
    """

    def __init__(self, category: str) -> None:
        self.category = category
        self.held = _heldOut()
        self.dropped = 0
        self.out: dict[str, list[dict[str, str]]] = {"attacks": [], "benign": []}
        self.seen: set[str] = set()

    def add(self, label: str, source: str, tool: str, arg: str, text: str) -> None:
        if text in self.seen or not text.strip():
            return
        self.seen.add(text)
        if not _kept(text, self.held):
            self.dropped += 1
            return
        self.out[label].append(dict(category=self.category, label="attack" if label == "attacks" else "benign", tool=tool,
                                    argument=arg, text=text, direction="request", source=source, split="tune"))

    def write(self, suffix: str) -> None:
        """
        Write C{<category>_<suffix>.<label>.jsonl} beside this file.
        """
        for label, items in self.out.items():
            path = os.path.join(HERE, f"{self.category}_{suffix}.{label}.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                for row in items:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"{os.path.basename(path)}: {len(items)} lines")
        print(f"dropped (equal to a held-out or fresh line): {self.dropped}")


def rows(mirrors: str) -> Rows:
    rng = random.Random(SEED)
    repo, commit = _resolve(mirrors, *ATOMICS)
    unix, cmd, ps = _atomics(repo, commit)
    brepo, bcommit = _resolve(mirrors, *BIBLE)
    prose, code = _bible(brepo, bcommit)
    collected = Rows(CATEGORY)
    add = collected.add

    for source, text in attacks(rng, unix, cmd, ps):
        tool, arg = rng.choice(TOOLS)
        add("attacks", source, tool, arg, text)
    for text in BENIGN_VALUES:
        tool, arg = rng.choice(TOOLS)
        add("benign", "written:s12:value", tool, arg, text)
    for text in BENIGN_PROSE_EXTRA + rng.sample(prose, min(len(prose), 150)):
        tool, arg = rng.choice(PROSE_TOOLS)
        add("benign", "pure-bash-bible:prose" if text in prose else "written:s12:prose", tool, arg, text)
    for text in rng.sample(code, min(len(code), 150)):
        tool, arg = rng.choice(CODE_TOOLS)
        add("benign", "pure-bash-bible:code", tool, arg, text)
    return collected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", default="/work/.mirror")
    args = parser.parse_args()
    rows(args.mirrors).write("s12")


if __name__ == "__main__":
    main()
