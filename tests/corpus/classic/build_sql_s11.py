"""
Writes C{sql_injection_s11.attacks.jsonl} and C{sql_injection_s11.benign.jsonl}
(session 11, issue 16): SQL injection evasions applied to base payloads of
the corpus's C{tune} part, and hard benign values of the same kinds.  Every
line is C{tune}: they were written to tune the rules on.

The transforms are this project's own code, written from the ideas of
sqlmap's tamper scripts (blanks a database accepts for a space, comments
and versioned comments around and inside keywords, operators spelled
another way -- C{BETWEEN}, C{LIKE}, C{GREATEST}, C{&&}/C{||} --, literals
glued to keywords, encodings, quote masks, comma-less forms) and of the
evasions libinjection and the CRS rules describe; no tamper script, and
none of sqlmap's test vectors, is copied.  The bases are the C{tune} lines
of C{sql_injection.attacks.jsonl} from PayloadsAllTheThings and
libinjection, the first corpus's SQL attacks and the generators' base
payloads (C{build_injection.SQL_BASES}, C{SQL_BASES_MORE}).

A generated text equal to a line already in the corpus (any part, the
fresh part by its manifest's SHA-256) is dropped, so no held-out text is
duplicated on the tune side; only the count is printed.

Run: C{python tests/corpus/classic/build_sql_s11.py}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
from typing import Callable, Iterator
from urllib.parse import quote, unquote_plus

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from build_injection import _CARRIES as CARRIES  # noqa: E402
from build_injection import _COMMENT_LINE, _DESCRIBED, MIRRORS, SQL_BASES, SQL_BASES_MORE, Mirror, lines  # noqa: E402

_CARRIES = CARRIES["sql_injection"]

SEED = "issue16:sql_injection:s11"
PER_TRANSFORM = 30
ATTACK_TOOLS = [("search_products", "query"), ("get_user", "username"), ("lookup_order", "order_id"), ("list_items", "sort"),
                ("filter_records", "category"), ("get_customer", "email"), ("get_product", "id"), ("find_user", "name")]

# --- bases ---------------------------------------------------------------------


def _load(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def bases() -> list[str]:
    """
    The base payloads: C{tune} lines only, short enough to read as a value.
    """
    out: list[str] = list(SQL_BASES) + list(SQL_BASES_MORE)
    for e in _load(os.path.join(HERE, "..", "attacks.jsonl")):
        if e["category"] == "sql_injection":
            out.append(e["text"])
    for e in _load(os.path.join(HERE, "sql_injection.attacks.jsonl")):
        if e["split"] == "tune" and e["source"] in ("patt", "libinjection"):
            out.append(e["text"])
    seen: set[str] = set()
    keep = []
    for t in out:
        if t in seen or not 4 <= len(t) <= 120 or "\n" in t or "%" in t or not re.search(r"[A-Za-z]{2}", t):
            continue
        seen.add(t)
        keep.append(t)
    return keep


# --- transforms ----------------------------------------------------------------

KEYWORDS = re.compile(
    r"\b(?:UNION|SELECT|FROM|WHERE|AND|OR|XOR|NOT|INSERT|INTO|VALUES|UPDATE|SET|DELETE|DROP|TABLE|EXEC|EXECUTE|DECLARE|ORDER|"
    r"GROUP|BY|HAVING|LIMIT|SLEEP|WAITFOR|DELAY|BENCHMARK|NULL|LIKE|CASE|WHEN|THEN|ELSE|END|IF|CONCAT|CHAR|VERSION|USER|"
    r"DATABASE|ALL|CREATE|ALTER|SHUTDOWN|ASCII|SUBSTRING|SUBSTR|MID|CAST|CONVERT|EXISTS|COUNT|IS)\b",
    re.I,
)
Transform = Callable[[str, random.Random], str]


def _kw(s: str, fn: Callable[[str], str]) -> str:
    return KEYWORDS.sub(lambda m: fn(m.group(0)), s)


def _spaces(s: str, fn: Callable[[], str]) -> str:
    return re.sub(" ", lambda m: fn(), s)


def _letters(r: random.Random, n: int = 6) -> str:
    return "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(1, n)))


def _randomComments(s: str, r: random.Random) -> str:
    def split(w: str) -> str:
        if len(w) < 2:
            return w
        k = r.randint(1, len(w) - 1)
        return w[:k] + "/**/" + w[k:]

    return _kw(s, split)


_LIT = r"(?:-?\d+|'[^']{0,12}'|\"[^\"]{0,12}\")"
_EQ = re.compile(rf"({_LIT})\s*=\s*({_LIT})")
_GT = re.compile(r"(\b\d+|\))\s*>\s*(\d+)")


def _between(s: str, r: random.Random) -> str:
    s = _EQ.sub(lambda m: f"{m.group(1)} BETWEEN {m.group(2)} AND {m.group(2)}", s)
    return _GT.sub(lambda m: f"{m.group(1)} NOT BETWEEN 0 AND {m.group(2)}", s)


def _greatest(s: str, r: random.Random) -> str:
    return _GT.sub(lambda m: f"GREATEST({m.group(1)},{int(m.group(2)) + 1})={m.group(1)}", s)


def _least(s: str, r: random.Random) -> str:
    return _GT.sub(lambda m: f"LEAST({m.group(1)},{int(m.group(2)) + 1})={int(m.group(2)) + 1}", s)


def _pct(s: str) -> str:
    return "".join(f"%{b:02X}" for b in s.encode("utf-8"))


def _percentage(s: str) -> str:
    # ASP drops a "%" that starts no escape: %S%E%L%E%C%T
    return re.sub(r"[A-Za-z]", lambda m: "%" + m.group(0), s)


def _overlong(s: str) -> str:
    return "".join(f"%C0%{0x80 | ord(c) & 0x3F:02X}" if c in " '\"=()" else c for c in s)


def _commalessLimit(s: str, r: random.Random) -> str:
    return re.sub(r"\bLIMIT\s+(\d+)\s*,\s*(\d+)", lambda m: f"LIMIT {m.group(2)} OFFSET {m.group(1)}", s, flags=re.I)


def _commalessMid(s: str, r: random.Random) -> str:
    return re.sub(r"\b(MID|SUBSTRING|SUBSTR)\s*\(([^(),]+|\([^()]*\)),\s*(\d+)\s*,\s*(\d+)\)",
                  lambda m: f"{m.group(1)}({m.group(2)} FROM {m.group(3)} FOR {m.group(4)})", s, flags=re.I)


def _leftRight(s: str, r: random.Random) -> str:
    return re.sub(r"\b(?:MID|SUBSTRING|SUBSTR)\s*\(([^(),]+|\([^()]*\)),\s*1\s*,\s*(\d+)\)",
                  lambda m: f"LEFT({m.group(1)},{m.group(2)})", s, flags=re.I)


def _halfVersioned(s: str, r: random.Random) -> str:
    return _kw(s, lambda w: "/*!0" + w)


def _modsecVersioned(s: str, r: random.Random) -> str:
    m = re.search(r"\s(AND|OR|UNION)\b.*?(?=(?:--|#|/\*)|$)", s, flags=re.I)
    if not m:
        return s
    return s[: m.start()] + f" /*!{r.choice(['30874', '00000', '50000', '12345'])}{m.group(0).strip()}*/" + s[m.end():]


def _scientific(s: str, r: random.Random) -> str:
    return re.sub(r"(\d)\s+(UNION|OR|AND|FROM|LIKE|XOR|ORDER|GROUP|HAVING|LIMIT)\b", lambda m: f"{m.group(1)}e0{m.group(2)}", s, flags=re.I)


def _misunion(s: str, r: random.Random) -> str:
    return re.sub(r"\s+UNION\b", lambda m: r.choice(["-.1UNION", "\\NUNION", ".e0UNION", " 1.UNION"]), s, flags=re.I)


def _ifnull(s: str, r: random.Random) -> str:
    return re.sub(r"\bIFNULL\s*\(([^(),]+|\([^()]*\)),([^(),]+)\)", r"IF(ISNULL(\1),\2,\1)", s, flags=re.I)


def _concatWs(s: str, r: random.Random) -> str:
    return re.sub(r"\bCONCAT\s*\(", "CONCAT_WS(MID(CHAR(0),0,0),", s, flags=re.I)


def _sleepLock(s: str, r: random.Random) -> str:
    return re.sub(r"\bSLEEP\s*\(\s*(\d+)\s*\)", r"GET_LOCK('x',\1)", s, flags=re.I)


def _spPassword(s: str, r: random.Random) -> str:
    return s + " sp_password" if re.search(r"--\s*$", s) else s + "-- sp_password"


def _decEntities(s: str) -> str:
    return "".join(f"&#{ord(c)};" for c in s)


def _json(s: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if not c.isalnum() else c for c in s)


def _backticks(s: str, r: random.Random) -> str:
    return re.sub(r"\b(FROM|INTO|UPDATE|TABLE)\s+([A-Za-z_]\w*)", r"\1 `\2`", s, flags=re.I)


def _brackets(s: str, r: random.Random) -> str:
    return re.sub(r"\b(FROM|INTO|UPDATE|TABLE)\s+([A-Za-z_]\w*)", r"\1[\2]", s, flags=re.I)


def _noSpaceParens(s: str, r: random.Random) -> str:
    # SELECT(a)FROM(t), AND(1)=(1): brackets where the spaces were
    s = re.sub(r"\b(SELECT|AND|OR|WHERE|UNION\s+SELECT)\s+([\w@.]+)", r"\1(\2)", s, flags=re.I)
    return re.sub(r"\s+(FROM|AND|OR)\s+", r"\1", s, flags=re.I)


def _oracleConcat(s: str, r: random.Random) -> str:
    return re.sub(r"'([A-Za-z0-9]{2,12})'", lambda m: "'" + m.group(1)[:1] + "'||'" + m.group(1)[1:] + "'", s)


def _mssqlConcat(s: str, r: random.Random) -> str:
    return re.sub(r"'([A-Za-z0-9]{2,12})'", lambda m: "'" + m.group(1)[:1] + "'+'" + m.group(1)[1:] + "'", s)


def _nullQuote(s: str, r: random.Random) -> str:
    return s.replace("'", "%00%27")


def _unmagic(s: str, r: random.Random) -> str:
    return s.replace("'", "%bf%27", 1)


def _lookalikeQuote(s: str, r: random.Random) -> str:
    return s.replace("'", r.choice(["\u2019", "\u2032", "\u00b4", "\u2018", "\uff07", "\u02bc"]))


TRANSFORMS: dict[str, Transform] = {
    "space2comment": lambda s, r: s.replace(" ", "/**/"),
    "space2mssqlblank": lambda s, r: _spaces(s, lambda: r.choice(["%01", "%02", "%03", "%04", "%05", "%06", "%07", "%08", "%0E", "%0F",
                                                                  "%10", "%1A", "%1C", "%1F"])),
    "space2mysqlblank": lambda s, r: _spaces(s, lambda: r.choice(["\t", "\n", "\x0b", "\x0c", "\r", "\xa0"])),
    "space2hash": lambda s, r: _spaces(s, lambda: "#" + _letters(r) + "\n"),
    "space2hash_url": lambda s, r: _spaces(s, lambda: "%23" + _letters(r) + "%0A"),
    "space2dash": lambda s, r: _spaces(s, lambda: "--" + _letters(r) + "\n"),
    "space2mssqlhash": lambda s, r: _spaces(s, lambda: "%23%0A"),
    "space2plus": lambda s, r: s.replace(" ", "+"),
    "multiplespaces": lambda s, r: _kw(s, lambda w: " " * r.randint(1, 4) + w + " " * r.randint(1, 4)),
    "randomcase": lambda s, r: _kw(s, lambda w: "".join(c.upper() if r.random() < 0.5 else c.lower() for c in w)),
    "randomcomments": _randomComments,
    "versionedkeywords": lambda s, r: _kw(s, lambda w: f"/*!{w}*/"),
    "versionedmorekeywords_space": lambda s, r: _kw(s, lambda w: f"/*!{w}*/").replace(" ", "/**/"),
    "halfversionedmorekeywords": _halfVersioned,
    "modsecurityversioned": _modsecVersioned,
    "equaltolike": lambda s, r: re.sub(r"(?<![<>!])=", " LIKE ", s),
    "equaltorlike": lambda s, r: re.sub(r"(?<![<>!])=", " RLIKE ", s),
    "between": _between,
    "greatest": _greatest,
    "least": _least,
    "symboliclogical": lambda s, r: re.sub(r"\b(AND|OR)\b", lambda m: "&&" if m.group(1).upper() == "AND" else "||", s, flags=re.I),
    "symboliclogical_url": lambda s, r: re.sub(r"\s*\b(AND|OR)\b\s*", lambda m: "%26%26" if m.group(1).upper() == "AND" else "%7C%7C", s,
                                               flags=re.I),
    "unionalltounion": lambda s, r: re.sub(r"\bUNION\s+ALL\b", "UNION", s, flags=re.I),
    "charencode": lambda s, r: _pct(s),
    "chardoubleencode": lambda s, r: _pct(s).replace("%", "%25"),
    "charunicodeencode": lambda s, r: "".join(f"%u{ord(c):04X}" for c in s),
    "charunicodeescape": lambda s, r: "".join(f"\\u{ord(c):04X}" for c in s),
    "percentage": lambda s, r: _percentage(s),
    "overlongutf8": lambda s, r: _overlong(s),
    "apostrophemask": lambda s, r: s.replace("'", "%EF%BC%87"),
    "apostrophenullencode": _nullQuote,
    "unmagicquotes": _unmagic,
    "appendnullbyte": lambda s, r: s + "%00",
    "commalesslimit": _commalessLimit,
    "commalessmid": _commalessMid,
    "substring2leftright": _leftRight,
    "concat2concatws": _concatWs,
    "ifnull2ifisnull": _ifnull,
    "scientific": _scientific,
    "misunion": _misunion,
    "sleep2getlock": _sleepLock,
    "sp_password": _spPassword,
    "informationschemacomment": lambda s, r: re.sub(r"information_schema\.", "information_schema/**/.", s, flags=re.I),
    "htmlencode_all": lambda s, r: _decEntities(s),
    "json_escape": lambda s, r: _json(s),
    "backtick_names": _backticks,
    "bracket_names": _brackets,
    "no_space_parens": _noSpaceParens,
    "oracle_concat": _oracleConcat,
    "mssql_concat": _mssqlConcat,
    "lookalike_quote": _lookalikeQuote,
    "lowercase": lambda s, r: s.lower(),
    "uppercase": lambda s, r: s.upper(),
}

# two stacked: an obfuscation, then an encoding (encoding once more keeps an attack an attack)
STACKED: dict[str, tuple[str, str]] = {
    "randomcase+charencode": ("randomcase", "charencode"),
    "space2comment+chardoubleencode": ("space2comment", "chardoubleencode"),
    "versionedkeywords+randomcase": ("versionedkeywords", "randomcase"),
    "space2hash+randomcase": ("space2hash", "randomcase"),
    "equaltolike+space2comment": ("equaltolike", "space2comment"),
    "between+space2mysqlblank": ("between", "space2mysqlblank"),
    "symboliclogical+space2comment": ("symboliclogical", "space2comment"),
    "randomcomments+space2plus": ("randomcomments", "space2plus"),
    "scientific+randomcase": ("scientific", "randomcase"),
    "halfversionedmorekeywords+charencode": ("halfversionedmorekeywords", "charencode"),
    "space2dash+charunicodeencode": ("space2dash", "charunicodeencode"),
    "apostrophemask+space2comment": ("apostrophemask", "space2comment"),
}


def attacks(rng: random.Random) -> Iterator[tuple[str, str]]:
    pool = bases()
    fns = dict(TRANSFORMS)
    for name, (a, b) in STACKED.items():
        fns[name] = lambda s, r, a=a, b=b: TRANSFORMS[b](TRANSFORMS[a](s, r), r)
    for name, fn in fns.items():
        changed = []
        for base in pool:
            out = fn(base, rng)
            if out != base and out.strip():
                changed.append(out)
        for text in rng.sample(changed, min(PER_TRANSFORM, len(changed))):
            yield f"generated-s11:{name}", text


# --- hard benign ---------------------------------------------------------------

NAMES = ["O'Brien", "D'Souza", "N'Golo Kanté", "Ng'ang'a", "Shaquille O'Neal", "Guns N' Roses", "O'Reilly Media", "De'Andre Hunter",
         "Ta'Quan", "Mary-Kate O'Malley", "Jean-Luc D'Arcy", "L'Oréal Paris", "Ke'ala", "dell'Acqua", "Sant'Angelo", "M'Baku",
         "O'Connor & Sons", "Hawai'i", "Côte d'Ivoire", "Joe's Diner", "Bill 'Bojangles' Robinson", "Dwayne \"The Rock\" Johnson",
         "'Weird Al' Yankovic", "Chris O'Dowd", "Rosie O'Donnell", "Conan O'Brien", "Ta'Nehisi Coates", "Sha'Carri Richardson"]
SEARCHES = [
    "red or blue shoes", "cats and dogs", "size 10 or 11", "laptop 16GB and SSD", "\"climate change\" AND policy", "python OR golang jobs",
    "1 or 2 bedroom apartments", "salt and pepper grinder", "rock or metal playlist", "in stock and on sale", "black OR white -grey",
    "hotels near union station", "select comfort mattress", "drop shipping suppliers", "insert molding", "update firmware router",
    "table and chairs set", "order by phone", "group by size", "having trouble logging in", "where to buy union jack flag",
    "delete account how to", "create table for 6", "null hypothesis meaning", "like new condition", "sleep mask or ear plugs",
    "benchmark results 2024", "waitfor it", "exec chair", "declare independence essay", "case when shipping", "version 2 or 3",
    "user guide pdf", "database administrator jobs", "union-made tools", "\"or\" vs \"and\" grammar", "truncate text css",
    "10 or more reviews", "4 and up stars", "2 and 3 year olds", "either or", "and/or clause contract", "not available",
    "1=1 wedding ring", "size 8=EU 42", "price < 50", "rating >= 4", "x=1 or x=2 solutions", "a or b or c",
    "shutdown windows 11", "alter ego costume", "grant application template", "revoke access email", "select all that apply",
]
CODES = ["SKU-123-OR-45", "AND-2024-X", "X1=Y2", "A/B test", "SEL-ECT-01", "OR-7781", "ID#4411", "PO-2024/11-03", "REF:88-AND-12",
         "TBL_USERS_01", "UNI-0N-9", "INV-0042;B", "--batch-7", "#order-1001", "0x1F4A", "1e10", "3.14e-2", "12--34", "A1'B2",
         "5' 11\"", "#1 or #2", "v1.2--beta", "2024-01-01 -- 2024-02-01", "C# and F#", "C++/CLI", "x86_64", "ab'cd", "N/A",
         "1' wide", "12\" pizza", "it's 10% off", "(555) 010-2030", "12 or 13", "3-5 days", "NULL", "true", "false",
         "or", "and", "union", "select", "1 and 2", "10,20,30", "1;2;3", "a;b;c", "@username", "user@example.com",
         "#hashtag", "$100 - $200", "50%-70%", "~/notes.txt", "2+2=4", "E=mc^2", "a<b and b<c", "1 = 1.0", "(a+b)*c", "5 > 3",
         "f(x)=x^2", "1/2 = 0.5", "n=100; p<0.05", "x >= 10 or y <= 2", "0 < x < 1", "sum(a, b)", "max(1,2)", "count: 12"]
PROSE = [
    "Select the best option from the list", "Drop me a line when you're back", "The union of two sets is a set",
    "Where is the table we booked?", "order by price, then by rating", "Insert your card and select a language",
    "Please update my email where it says old", "delete from my cart the blue one", "create a table for 6 at 7pm",
    "exec meeting; 9am", "I'd like 1 or 2 more", "it's 1=1 in this case, right?", "Don't drop the ball -- seriously",
    "He said 'hello' and left", "She's 5' 4\" and he's 6'", "Let's meet at 5 or 6", "between you and me", "true or false?",
    "cats & dogs; birds", "Sleep(8) hours a night is the goal", "Use the ORDER BY clause to sort", "What does 'OR 1=1' mean?",
    "The SELECT statement reads rows", "we need a union rep; ask HR", "Add 'and' between the names", "it's 'or' not 'and'",
    "Mom's 'famous' pie", "the 'where' clause is optional", "select count from the menu", "Ben & Jerry's or Häagen-Dazs",
    "rock 'n' roll or jazz", "John's and Mary's", "don't; won't; can't", "that's 'fine' -- really", "O'Hare or Midway?",
    "1 or 2, not 3", "null and void, per clause 4", "x or y, whichever is first", "the admin's notes", "user's 'display' name",
]
BENIGN_TOOLS = [("search_products", "query"), ("get_user", "username"), ("lookup_order", "order_id"), ("filter_records", "category"),
                ("get_customer", "name"), ("update_profile", "bio"), ("create_ticket", "title"), ("send_message", "text"),
                ("find_user", "name"), ("get_product", "id")]


def benign(rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    values = [("names", n) for n in NAMES] + [("searches", s) for s in SEARCHES] + [("codes", c) for c in CODES] + [("prose", p) for p in PROSE]
    for family, text in values:
        tool, arg = rng.choice(BENIGN_TOOLS)
        yield f"written-s11:{family}", tool, arg, text
    # names in context: a search, a greeting, a record
    for name in NAMES:
        tmpl = rng.choice(["{n}", "Dear {n},", "{n} (manager)", "{n}; {m}", "{n} and {m}", "{n} or {m}", "contact: {n}", "{n} - 2nd floor",
                           "'{n}'", "\"{n}\"", "{n} #3", "{n} -- VIP"])
        tool, arg = rng.choice(BENIGN_TOOLS[:5] + BENIGN_TOOLS[8:])
        yield "written-s11:names_context", tool, arg, tmpl.format(n=name, m=rng.choice(NAMES))
    for s in SEARCHES:
        tmpl = rng.choice(["{s}", "{s} -used", "\"{s}\"", "{s} near me", "{s} 2024", "best {s}", "{s}?", "{s} (cheap)"])
        yield "written-s11:searches_context", "search_products", "query", tmpl.format(s=s)


# --- more public lines, tune only ------------------------------------------------

# Files of the two tune sources left out: PayloadsAllTheThings' copies of
# fuzzdb's lists and libinjection's captures of sqlmap (fuzzdb and sqlmap
# are what the fresh part was built from).
_FRESH_KIN = re.compile(r"FUZZDB_|payloads-sql-blind|sqlmap", re.I)
PER_FILE = 60
PUBLIC_SQL_TOOLS = [("search_products", "query"), ("get_user", "username"), ("lookup_order", "order_id"), ("get_customer", "email"),
                    ("filter_records", "category"), ("find_user", "name")]


def publicAttacks(m: Mirror, rng: random.Random, known: set[str]) -> Iterator[tuple[str, str]]:
    """
    Lines of the C{tune} sources' lists the first builder did not sample
    (it took up to 50 or 40 a file): PayloadsAllTheThings' Intruder lists
    and libinjection's C{data/sqli-*.txt}, up to L{PER_FILE} new ones a file.
    """
    for key, under, decode in (("patt", "SQL Injection/Intruder/", False), ("libinjection", "data/", True)):
        for path in m.files(key, under):
            name = os.path.basename(path)
            if _FRESH_KIN.search(name) or (key == "libinjection" and not name.startswith("sqli-")):
                continue
            pool = []
            for x in lines(m.show(key, path), comments=key == "libinjection"):
                x = _DESCRIBED.sub("", (unquote_plus(x) if decode else x).strip())
                if _COMMENT_LINE.match(x):
                    continue
                if x and len(x) <= 2000 and _digest(x) not in known and x not in pool:
                    pool.append(x)
            for x in rng.sample(pool, min(PER_FILE, len(pool))):
                yield f"{key}-s11", x


def publicBenign(m: Mirror, rng: random.Random, known: set[str]) -> Iterator[tuple[str, str, str, str]]:
    """
    libinjection's false positives the first builder did not sample, as
    values of data-carrying arguments.
    """
    for x in lines(m.show("libinjection", "data/false_positives.txt"), comments=True):
        x = unquote_plus(x).strip()
        if x and _digest(x) not in known:
            tool, arg = rng.choice(BENIGN_TOOLS)
            yield "libinjection-s11", tool, arg, x


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- assembly ----------------------------------------------------------------


def known() -> set[str]:
    """
    SHA-256 of every text already in the corpus, every part.
    """
    out = set()
    for name in os.listdir(HERE):
        if name.endswith(".jsonl") and not name.startswith("sql_injection_s11"):
            for e in _load(os.path.join(HERE, name)):
                out.add(hashlib.sha256(e["text"].encode("utf-8", "surrogatepass")).hexdigest())
    for name in ("attacks.jsonl", "benign.jsonl"):
        for e in _load(os.path.join(HERE, "..", name)):
            out.add(hashlib.sha256(e["text"].encode("utf-8", "surrogatepass")).hexdigest())
    manifest = os.path.join(HERE, "fresh", "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            out.update(line.rstrip("\n").split("\t")[-1] for line in f)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default=MIRRORS, help="directory of owner+name/repo git mirrors")
    args = ap.parse_args()
    mirror = Mirror(args.mirrors)
    seen = known()
    before = set(seen)
    dropped = 0
    rng = random.Random(f"{SEED}:attacks")
    rows = []
    for source, text in attacks(rng):
        h = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if h in seen:
            dropped += 1
            continue
        seen.add(h)
        tool, arg = rng.choice(ATTACK_TOOLS)
        rows.append(dict(category="sql_injection", label="attack", tool=tool, argument=arg, text=text, direction="request",
                         source=source, split="tune"))
    prng = random.Random(f"{SEED}:public")
    for source, text in publicAttacks(mirror, prng, before):
        h = _digest(text)
        if h in seen or not _CARRIES.search(text):
            continue
        seen.add(h)
        tool, arg = prng.choice(PUBLIC_SQL_TOOLS)
        rows.append(dict(category="sql_injection", label="attack", tool=tool, argument=arg, text=text, direction="request",
                         source=source, split="tune"))
    brng = random.Random(f"{SEED}:benign")
    brows = []
    for source, tool, arg, text in list(benign(brng)) + list(publicBenign(mirror, brng, before)):
        h = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if h in seen:
            dropped += 1
            continue
        seen.add(h)
        brows.append(dict(category="sql_injection", label="benign", tool=tool, argument=arg, text=text, direction="request",
                          source=source, split="tune"))
    for name, out in (("sql_injection_s11.attacks.jsonl", rows), ("sql_injection_s11.benign.jsonl", brows)):
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            for row in out:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(out)} lines")
    print(f"dropped {dropped} texts already in the corpus")


if __name__ == "__main__":
    main()
