"""
Writes C{sql_injection_s12.attacks.jsonl} and C{sql_injection_s12.benign.jsonl}
(session 12, issue 16).  Every line is C{tune}.

- C{crs-s12}: the positive tests of the CRS's REQUEST-942 rules of paranoia
  level 3 and 4 (the first builder took levels 1 and 2), argument values
  decoded once as the WAF does, that carry SQL by the first builder's test
  (most of those rules count special characters); and as benign, the
  negative tests (C{no_expect_ids}) of every REQUEST-942 rule whose
  description says they are false positives fixed or values that must not
  match (one that says injection or attack is kept out: it is an attack
  another rule catches; so is one holding an e-mail address or a JWT, the
  PII and secrets checks' matter).
- C{generated-s12:*}: this project's own structural generator: a value
  (a number, a name, an address) put where an application puts it (after
  a quote, a double quote, parentheses, or bare), then something that
  changes the statement (a condition, a call, a union, a stacked statement,
  a clause, a comment that cuts the rest off), then what keeps the query
  well-formed (a comment, a reopened quote); blanks spelled as comments,
  tabs or line breaks.  As benign, literal values of the same shapes: names
  with apostrophes, sizes with foot and inch marks, searches with OR/AND,
  quoted titles, arithmetic.

A text equal to a line already in the corpus (any part, the fresh part by
its manifest's SHA-256) is dropped before it is written; only the count is
printed.  No held-out source (payloadbox, fuzzdb, sqlmap, sakila, pagila) is
read.

Run: C{python tests/corpus/classic/build_sql_s12.py [--mirrors DIR]}
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from typing import Iterator
from urllib.parse import parse_qsl, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from build_injection import _CARRIES as CARRIES  # noqa: E402
from build_injection import MIRRORS, Mirror  # noqa: E402
from build_sql_s11 import _digest, _load  # noqa: E402

_CARRIES = CARRIES["sql_injection"]

SEED = "issue16:sql_injection:s12"
OWN = ("sql_injection_s12.attacks.jsonl", "sql_injection_s12.benign.jsonl")
ATTACK_TOOLS = [("search_products", "query"), ("get_user", "username"), ("lookup_order", "order_id"), ("list_items", "sort"),
                ("filter_records", "category"), ("get_customer", "email"), ("get_product", "id"), ("find_user", "name")]
BENIGN_TOOLS = [("get_user", "username"), ("find_user", "name"), ("get_customer", "name"), ("search_products", "query"),
                ("lookup_order", "order_id"), ("filter_records", "category"), ("get_product", "id"), ("update_profile", "city")]


# --- the CRS's other tests ---------------------------------------------------------


def _levels(m: Mirror) -> dict[int, int]:
    conf = next(p for p in m.files("crs", "rules/") if os.path.basename(p).startswith("REQUEST-942") and p.endswith(".conf"))
    return {
        int(i): int(pl)
        for i, pl in re.findall(r"id:(\d+),(?:(?!id:\d).){0,3000}?tag:'paranoia-level/(\d)'", m.show("crs", conf), re.S)
    }


def _values(stage: dict[str, object]) -> list[str]:
    inp = stage.get("input") or {}
    assert isinstance(inp, dict)
    values = []
    data = inp.get("data")
    if isinstance(data, str) and "=" in data and not data.lstrip().startswith(("{", "<")):
        values.extend(v for _, v in parse_qsl(data, keep_blank_values=False))
    query = urlsplit(str(inp.get("uri", ""))).query
    if query:
        values.extend(v for _, v in parse_qsl(query, keep_blank_values=False))
    return [v for v in values if v.strip()]


# A negative test says it is one (a false positive fixed, a value that
# must not match); one that says attack or injection is an attack another
# rule is meant to catch, no benign value.
_FP_TEST = re.compile(r"false.?positive|\bfp\b|must not match|true.negative|negative test|\bissue\b|fix for", re.I)
_ATTACK_TEST = re.compile(r"injection|attack|attempt|evasion|bypass", re.I)
# an e-mail address or a JWT in a negative: the PII and secrets checks'
# matter, flagged there by design wherever it sits
_OTHER_CLASS = re.compile(r"[\w.+-]+@[\w-]+\.\w|\beyJ[\w-]+\.eyJ")


def crsTests(m: Mirror) -> tuple[list[str], list[str]]:
    """
    (positives of paranoia levels 3-4 that carry SQL, by the first
    builder's own test, C{_CARRIES}; negatives of every level that say they
    are benign) of the REQUEST-942 rules' regression tests.
    """
    import yaml

    levels = _levels(m)
    positive: list[str] = []
    negative: list[str] = []
    for path in m.files("crs", "tests/regression/tests/"):
        if not os.path.basename(os.path.dirname(path)).startswith("REQUEST-942") or not path.endswith(".yaml"):
            continue
        doc = yaml.safe_load(m.show("crs", path))
        rule = doc.get("rule_id")
        for test in doc.get("tests", ()):
            for stage in test.get("stages", ()):
                log = (stage.get("output") or {}).get("log") or {}
                if rule in (log.get("expect_ids") or ()) and levels.get(rule, 0) >= 3:
                    positive.extend(v for v in _values(stage) if _CARRIES.search(v))
                elif rule in (log.get("no_expect_ids") or ()) and _FP_TEST.search(desc := str(test.get("desc", ""))) and not _ATTACK_TEST.search(desc):
                    negative.extend(v for v in _values(stage) if not _OTHER_CLASS.search(v))
    return positive, negative


# --- the structural generator ------------------------------------------------------

# a value of the kind the argument carries, then where it ends in the query
_VALUES = ["1", "42", "7", "0", "-1", "admin", "jsmith", "x", "abc", "a@b.co", "2024-01-01", "SKU-1", "guest"]
_CLOSERS = [("'", "'"), ('"', '"'), ("')", "('"), ("'))", "(('"), ('")', '("'), (")", "("), ("", "")]
# what changes the statement: (text, needs a reopened literal after it)
_CONDITIONS = [
    "or 2>1", "and 3<2", "or 7=7", "and 4=5", "or 'b'<'c'", "or 'q'='q'", "xor 1=1", "or 1 in (1,2)", "and 9 between 1 and 2",
    "or 0x41=0x41", "or 5 is not null", "or not 0", "or current_user=current_user", "and length(user())>0",
    "or exists(select 1)", "and (select 1)=1", "or ascii(substr(version(),1,1))>0", "|| 6=6", "&& 0=1", "or 1 like 1",
    "or 'a' rlike 'a'", "and 2*3=6", "or null is null", "or true", "and false", "or 1",
]
_ACTIONS = [
    "union select null", "union all select 1,2,3", "union distinct select @@version", "union select user(),2",
    "order by 4", "group by 1 having 1=1", "limit 1 into @v", "procedure analyse()",
    "; drop table t", "; update users set role='admin'", "; select pg_sleep(2)", "; waitfor delay '0:0:2'",
    "; declare @x int", "; insert into users values(1)", "; exec xp_cmdshell 'dir'", "; shutdown",
    "and sleep(2)", "or benchmark(100000,md5(1))", "and extractvalue(1,concat(0x7e,version()))",
    "and updatexml(1,concat(0x7e,user()),1)", "or pg_sleep(2) is null", "and 1=convert(int,@@version)",
]
_CONCAT = ["||pg_sleep(2)||", "+sleep(2)+", "*@a is null-", "/current_date xor ", "-(select 1)-", "||(select user)||", "+ascii('a')+"]
_ENDINGS = ["--", "-- -", "#", "/*", ";--", "%00", ""]
_BLANKS = [" ", " ", " ", "/**/", "\t", "\n", "  ", "/*x*/"]


def _spell(text: str, blank: str) -> str:
    return text.replace(" ", blank) if blank != " " else text


def generatedAttacks(rng: random.Random) -> Iterator[tuple[str, str]]:
    for _ in range(220):
        value = rng.choice(_VALUES)
        close, reopen = rng.choice(_CLOSERS)
        if not close and not value.lstrip("-").isdigit():
            value = rng.choice(["1", "42", "-1"])
        blank = rng.choice(_BLANKS)
        kind = rng.choice(["condition", "condition", "action", "concat"])
        if kind == "condition":
            tail = rng.choice(_CONDITIONS)
            if close and rng.random() < 0.4:
                # reopen the literal the query will close: ' or 7=7 and 'a'='a
                ending = f" and {reopen}a{close[0]}={close[0]}a"
            else:
                ending = rng.choice(_ENDINGS)
            text = f"{value}{close} {tail}{(' ' if ending and ending[0] != ' ' and ending != '%00' else '')}{ending}"
        elif kind == "action":
            tail = rng.choice(_ACTIONS)
            ending = rng.choice(_ENDINGS[:5])
            text = f"{value}{close} {tail} {ending}".rstrip()
        else:
            if not close.startswith("'"):
                close, reopen = "'", "'"
            text = f"{value}{close}{rng.choice(_CONCAT)}'"
        yield f"generated-s12:{kind}", _spell(text, blank)


# literal values of the same shapes: each stays one literal, or leaves one
# with nothing SQL after it
_NAMES = ["O'Brien", "D'Angelo", "Mc'Kenzie", "N'Golo Kanté", "L'Oréal", "Dell'Acqua", "O'Neil-Smith", "d'Artagnan", "Ng'ang'a",
          "Shaquille O'Neal", "Guns N' Roses", "Rock 'n' Roll", "Jack O'Lantern"]
_SIZES = ["PAN 12\" OR 14\"", "SHELF 3' OR 4' WIDE", "BOARD 2' x 4'", "5' 10\"", "TV 55\" and 65\"", "PIPE 1/2\" - 3/4\"",
          "RUG 8' X 10' -- GREY", "FRAME 8\"x10\" or 11\"x14\"", "ROPE 50' AND 100'", "HOSE 25' -- GREEN", "SCREEN 6' by 8'",
          "TILE 12\" SQ #2"]
_SEARCHES = ["tea or coffee", "black and white", "salt or pepper", "not for sale", "between the lines", "union station",
             "select comfort mattress", "drop earrings", "order by phone", "group by size", "like new", "is it worth it",
             "in stock or on order", "nulls and voids", "true or false quiz", "one or more", "1 or 2 bedrooms", "2 and 3 seater",
             "10 or 20 pack", "desk (used) or table", "chair -- leather", "pizza; pasta", "cats & dogs", "50% off"]
_PHRASES = ["It's 5 o'clock", "Don't stop", "I'm here; call me", "we're 'almost' done", "the '90s or '80s", "Rock 'n' roll or jazz",
            "Tom's and Jerry's", "O'Hare -- gate 5", "it's 1 or 2 items", "say 'yes' or 'no'", "a 'quote' and more",
            "'Hello' -- a song", "\"Yesterday\" or \"Help\"", "5 - 3 = 2", "(1 + 2) * 3", "x = y or z", "1/2 or 3/4",
            "version 1.2 or later", "-- draft --", "#1 seller", "2 x 4", "#hashtag and more"]


def generatedBenign(rng: random.Random) -> Iterator[tuple[str, str]]:
    for family, items in (("names", _NAMES), ("sizes", _SIZES), ("searches", _SEARCHES), ("phrases", _PHRASES)):
        for text in items:
            yield f"written-s12:{family}", text
    for name in _NAMES:
        yield "written-s12:names", rng.choice(["{n}", "{n}, Jr.", "{n} or {m}", "{n} and {m}", "'{n}'", "{n} (VIP)"]).format(
            n=name, m=rng.choice(_NAMES))


# --- assembly ------------------------------------------------------------------


def known() -> set[str]:
    """
    SHA-256 of every text already in the corpus, every part but this
    builder's own files.
    """
    out = set()
    for name in os.listdir(HERE):
        if name.endswith(".jsonl") and name not in OWN:
            out.update(_digest(e["text"]) for e in _load(os.path.join(HERE, name)))
    for name in ("attacks.jsonl", "benign.jsonl"):
        out.update(_digest(e["text"]) for e in _load(os.path.join(HERE, "..", name)))
    manifest = os.path.join(HERE, "fresh", "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            out.update(line.rstrip("\n").split("\t")[-1] for line in f)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default=MIRRORS, help="directory of owner+name/repo git mirrors")
    args = ap.parse_args()
    positive, negative = crsTests(Mirror(args.mirrors))
    seen = known()
    dropped = 0
    rng = random.Random(SEED)
    attacks = [("crs-s12", t) for t in positive] + list(generatedAttacks(rng))
    benign = [("crs-s12-negative", t) for t in negative] + list(generatedBenign(rng))
    out: dict[str, list[dict[str, str]]] = {OWN[0]: [], OWN[1]: []}
    for name, label, items, tools in ((OWN[0], "attack", attacks, ATTACK_TOOLS), (OWN[1], "benign", benign, BENIGN_TOOLS)):
        for source, text in items:
            h = _digest(text)
            if h in seen:
                dropped += 1
                continue
            seen.add(h)
            tool, arg = rng.choice(tools)
            out[name].append(dict(category="sql_injection", label=label, tool=tool, argument=arg, text=text, direction="request",
                                  source=source, split="tune"))
    for name, rows in out.items():
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} lines")
    print(f"dropped {dropped} texts already in the corpus (or twice here)")


if __name__ == "__main__":
    main()
