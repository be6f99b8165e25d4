"""
What a value does to the statement an application puts it in, by structure.

An application puts a value where SQL expects one literal: a number
(C{id = 5}), a string in single or double quotes (C{name = 'x'}), either of
them inside parentheses (C{IN ('x')}), a C{LIKE} pattern (a string again) or
an C{ORDER BY} position (a number).  L{injects} reads the value in each of
these places with a small SQL lexer and an expression state machine: the
value is an injection when, in some place, it leaves that literal and what
follows is well-formed SQL that changes the statement -- a boolean operator
with a literal condition, a call or a subquery after it (C{' or 1=1},
C{1 and sleep(5)}), C{UNION SELECT}, a stacked statement (C{1; drop}), a
clause (C{' order by 3}), a call joined to the literal by an operator
(C{'||pg_sleep(5)||'}) or a comment that cuts the rest of the query off
(C{admin'--}).  A value that stays one literal in every place (C{O''Brien}),
or whose text after leaving one is not SQL (C{O'Brien}, C{Rock 'n' Roll},
C{parents' or yours?}), is not.  Comments are blanks (versioned ones are
code), keywords are caseless, and any number of closing parentheses may
follow the literal.

Only values the prefilter's SQL candidate rules flag reach it
(C{libinjection_candidate} when libinjection says no,
C{structure_candidate}; see L{akto_proxy.inspect.checks.threats}), at
C{medium} and above, and only those in arguments that carry data: prose
and code never do.  Words before the quote a value leaves (a name, a size
in feet and inches) leave only the strong readings: a comparison, a union,
a statement, a clause.
"""

from __future__ import annotations

import re
from typing import Optional

# one token: (kind, text); kinds: "n" number, "s" string, "w" word, "k" keyword,
# "v" variable, "o" operator, "(" ")" "," ";" ".", "c" comment to the end
_TOKEN = re.compile(
    r"(?P<blank>[\s\x00]+|/\*(?!!).*?(?:\*/|$)|/\*!\d*|\*/)|"
    r"(?P<comment>--(?:[ \t\r\n\x0b\x0c]|$|-)|#|--(?=\S))|"
    r"(?P<null>\\N\b)|(?P<odbc>\{\s*\w+)|"
    r"(?P<n>0x[0-9a-f]+|0b[01]+|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)|"
    r"(?P<s>N?'(?:[^'\\]|''|\\.)*(?:'|$)|\"(?:[^\"\\]|\"\"|\\.)*(?:\"|$))|"
    r"(?P<q>`[^`]*`|\[[^\]\s]{1,64}\])|"
    r"(?P<v>@@?[\w$.]+|@)|"
    r"(?P<w>[a-z_$\u00c0-\uffff][\w$\u00c0-\uffff]*)|"
    r"(?P<o><=>|<>|!=|<=|>=|\|\||&&|::|<<|>>|!<|!>|[=<>+\-*/%^&|~!])|"
    r"(?P<p>[(),;.{}])",
    re.I | re.S,
)

_BOOLEAN = frozenset(("or", "and", "xor", "||", "&&"))
_INFIX = frozenset(("like", "rlike", "regexp", "glob", "is", "in", "div", "mod", "between", "collate", "escape", "similar", "to", "sounds", "match", "against"))
_COMPARE = frozenset(("=", "<>", "!=", "<=>", "<", ">", "<=", ">=", "!<", "!>", "like", "rlike", "regexp", "glob", "is", "in", "between", "sounds", "similar"))
_UNARY = frozenset(("not", "-", "+", "~", "!", "binary", "distinct", "all", "any", "some", "exists", "prior"))
_LITERAL_WORDS = frozenset(("null", "true", "false", "unknown", "current_date", "current_time", "current_timestamp", "current_user", "session_user", "system_user", "localtime", "localtimestamp"))
_CLAUSES = frozenset(("order", "group", "having", "limit", "offset", "procedure", "into", "union", "intersect", "except", "minus", "where", "from", "for", "fetch", "window"))
_STATEMENTS = frozenset((
    "select", "insert", "update", "delete", "drop", "create", "alter", "exec", "execute", "declare", "shutdown", "waitfor",
    "truncate", "grant", "revoke", "set", "begin", "call", "do", "if", "merge", "replace", "load", "use", "print",
    "copy", "handler", "rename", "lock", "kill", "backup", "restore", "dbcc", "sp_configure",
))
_KEYWORDS = _BOOLEAN | _INFIX | _UNARY | _LITERAL_WORDS | _CLAUSES | _STATEMENTS | frozenset(
    ("by", "as", "case", "when", "then", "else", "end", "on", "join", "values", "with", "asc", "desc", "outfile", "dumpfile", "delay", "time")
)


def _tokens(text: str) -> Optional[list[tuple[str, str]]]:
    """
    C{text} as SQL tokens, blanks (NUL too) and inner comments dropped;
    a comment that runs to the end (C{--}, C{#}, an unclosed C{/*}) ends the
    list as one C{"c"} token.  C{None} when a character is no SQL.
    """
    out: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None:
            return None
        kind = m.lastgroup
        value = m.group(0)
        pos = m.end()
        if kind == "blank":
            if value.startswith("/*") and not value.startswith("/*!") and not value.endswith("*/"):
                out.append(("c", value))  # an unclosed comment eats the rest
                return out
            continue
        if kind == "comment":
            # a line comment runs to the end of its line: with more after a
            # line break it is a blank (UNION#x\nSELECT), else it cuts the
            # query's rest off
            nl = text.find("\n", pos)
            if nl >= 0 and text[nl + 1 :].strip():
                pos = nl + 1
                continue
            out.append(("c", value + text[pos:end]))
            return out
        if kind == "w":
            low = value.lower()
            if low in _KEYWORDS:
                out.append(("k", low))
                continue
            out.append(("w", low))
            continue
        if kind == "q":
            out.append(("w", value))
            continue
        if kind == "null":
            out.append(("k", "null"))  # MySQL's \N
            continue
        if kind == "odbc":
            out.append(("(", "("))  # an ODBC escape: {fn ...}, {x ...}
            continue
        if kind == "p":
            out.append((")", ")") if value == "}" else (value, value))
            continue
        out.append((kind or "", value))
    return out


# what the tail does, as found by L{_judge}
_UNION = "union"
_STACKED = "stacked"
_BOOLEAN_CONDITION = "boolean"
_CLAUSE = "clause"
_CALL = "call"
_TRUNCATE = "truncate"
_OPERATOR = "operator"  # any operator applied to the literal (weak alone)
_BOOLEAN_LITERAL = "literal"  # a boolean operator and one literal: "' or 1"
_COMMENT = "comment"  # the tail ends in a comment
_SQL_VALUE = "sqlvalue"  # a variable, NULL or a database's own value after a quote: "'*@a is null - '"
_SUBQUERY = "subquery"  # SELECT ... FROM a table
_WEAK_AFTER_WORDS = frozenset((_TRUNCATE, _BOOLEAN_LITERAL, _SQL_VALUE, _CALL))
# what comes before the quote a value leaves: at most one word
_ONE_WORD = re.compile(r"\s*\S*\s*\Z")

# a statement's shape after a semicolon (over its tokens joined by blanks),
# as the value rules' standalone_statement reads one
_STATEMENT = re.compile(
    r"\s*(?:select\s+\S|insert\s+into\b|update\s+\S+\s+set\b|delete\s+from\b|drop\s+(?:table|database|schema|user|view|function|procedure|index|login)\b|"
    r"create\s+(?:table|database|user|login|function|procedure|trigger|view|or\s+replace)\b|alter\s+(?:table|user|login|database|role|system|session)\b|"
    r"truncate\s+table\b|declare\s+@|exec(?:ute)?\s*(?:xp_|sp_|master\.|@|\(|immediate\b)|grant\s+\w+|shutdown\s*(?:$|;|--|#|/\*|with\b)|"
    r"waitfor\s+(?:delay|time)\b|set\s+@|call\s+\w+\s*\(|copy\s+\S+\s+(?:from|to)\b|load\s+data\b|print\s*[@'\"(]|if\s*\()",
    re.I,
)

# calls that read the database or the server, wait, or fail on purpose: in
# a number's place a call to any of these is code, whatever joins it
_SQL_CALLS = frozenset((
    "sleep", "pg_sleep", "benchmark", "waitfor", "extractvalue", "updatexml", "load_file", "version", "user", "database",
    "schema", "ascii", "ord", "substring", "substr", "mid", "char", "chr", "concat", "concat_ws", "group_concat", "length",
    "if", "iif", "ifnull", "isnull", "nullif", "coalesce", "cast", "convert", "hex", "unhex", "md5", "sha1", "rand",
    "floor", "exp", "db_name", "user_name", "suser_name", "system_user", "current_user", "session_user", "randomblob",
    "sqlite_version", "get_lock", "make_set", "elt", "field", "instr", "locate", "position", "left", "right", "lower",
    "upper", "reverse", "unicode", "nchar", "char_length", "bit_length", "count", "string_agg", "listagg", "xmltype",
    "utl_inaddr", "dbms_pipe", "pg_read_file", "lo_import", "current_database", "current_setting", "gtid_subset",
    "json_keys", "row", "name_const", "polygon", "geometrycollection", "multipoint", "linestring", "exists",
))


def _judge(tokens: list[tuple[str, str]], operand: bool, quoted: bool) -> Optional[set[str]]:
    """
    Read C{tokens} as the rest of an expression: C{operand} when an operand
    is expected first (a number's place), else an operator (after the
    literal the value closed, C{quoted}).  The set of things the tail does
    (L{_UNION}, ...) when it is well-formed SQL to its end, else C{None}.
    A stacked statement is told by its shape (L{_STATEMENT}, over its
    tokens).
    """
    does: set[str] = set()
    expect = operand  # True: an operand next; False: an operator, a clause or the end
    i = 0
    n = len(tokens)
    boolean = False  # inside the right side of a boolean operator
    condition = False  # that right side compared or called something
    alone = False  # that right side is one literal (or true, 1, null)
    first = True  # no token read since the literal
    selecting = False  # a SELECT was read: FROM may follow
    while i < n:
        kind, value = tokens[i]
        nxt = tokens[i + 1] if i + 1 < n else ("", "")
        if kind == "c":
            if expect and not first:
                return None  # an operator left open: no statement
            if first and quoted and not _NUMBER_SIGN.match(value):
                does.add(_TRUNCATE)
            does.add(_COMMENT)
            break
        if expect:
            if kind in ("n", "s", "v") or (kind == "k" and value in _LITERAL_WORDS):
                if boolean and kind != "s" and not condition:
                    alone = True
                if kind in ("v", "k") and quoted:
                    does.add(_SQL_VALUE)
                expect = False
            elif kind == "w":
                if nxt[0] == "(":
                    if quoted or value in _SQL_CALLS:
                        does.add(_CALL)
                    if boolean:
                        condition = True
                    i += 2
                    if i < n and tokens[i][0] == ")":
                        i += 1
                        expect = False
                    first = False
                    continue
                while nxt[0] == "." and i + 2 < n and tokens[i + 2][0] in ("w", "k"):
                    i += 2
                    nxt = tokens[i + 1] if i + 1 < n else ("", "")
                expect = False
            elif kind == "(" or (kind == "k" and value in _UNARY) or (kind == "o" and value in ("-", "+", "~", "!")):
                pass
            elif kind == "k" and value in ("select", "case"):
                if value == "select":
                    does.add(_CALL)
                    selecting = True
                if boolean:
                    condition = True
            else:
                return None
        else:
            if kind == ")":
                pass
            elif (kind == "o" and value in ("||", "&&")) or (kind == "k" and value in _BOOLEAN):
                if boolean and (condition or alone):
                    does.add(_BOOLEAN_CONDITION if condition else _BOOLEAN_LITERAL)
                does.add(_OPERATOR)
                boolean = True
                condition = alone = False
                expect = True
            elif kind == "o" or (kind == "k" and value in _INFIX):
                does.add(_OPERATOR)
                if boolean and value in _COMPARE:
                    condition = True
                    alone = False
                if value == "is" and nxt == ("k", "not"):
                    i += 1
                elif value == "sounds" and nxt == ("k", "like"):
                    i += 1
                elif value in ("::", "collate"):
                    if nxt[0] not in ("w", "k", "s"):
                        return None
                    i += 2
                    first = False
                    continue
                expect = True
            elif kind == "k" and value == "not" and nxt[0] == "k" and nxt[1] in _INFIX:
                i += 1
                continue
            elif kind == "k" and value in ("when", "then", "else", "as"):
                expect = True
            elif kind == "k" and value in ("end", "asc", "desc"):
                pass
            elif kind == ",":
                expect = True
            elif kind == ";":
                if nxt[0] in ("", "c"):
                    if quoted and first:
                        does.add(_TRUNCATE)
                    break
                if nxt[0] == "k" and nxt[1] in _STATEMENTS and _STATEMENT.match(" ".join(v for k, v in tokens[i + 1 :] if k != "c")):
                    does.add(_STACKED)
                    break
                return None
            elif kind == "k" and value == "union":
                j = i + 1
                while j < n and (tokens[j][0] == "(" or tokens[j] in (("k", "all"), ("k", "distinct"))):
                    j += 1
                if j < n and tokens[j] == ("k", "select"):
                    does.add(_UNION)
                    break
                return None
            elif kind == "k" and value in ("order", "group") and nxt == ("k", "by"):
                does.add(_CLAUSE)
                i += 2
                expect = True
                first = False
                continue
            elif kind == "k" and value == "into" and (nxt in (("k", "outfile"), ("k", "dumpfile")) or nxt[0] == "v"):
                does.add(_CLAUSE)
                i += 2 if nxt[0] != "v" else 1
                expect = nxt[0] != "v"
                first = False
                continue
            elif kind == "k" and value == "from" and selecting and nxt[0] in ("w", "("):
                does.add(_SUBQUERY)
                selecting = False
                if nxt[0] == "(":
                    expect = True
                else:
                    i += 1
                    while i + 2 < n and tokens[i + 1][0] == "." and tokens[i + 2][0] in ("w", "k"):
                        i += 2
                    if i + 1 < n and tokens[i + 1][0] == "w":
                        i += 1  # an alias
                    expect = False
            elif kind == "k" and value == "where" and _SUBQUERY in does:
                expect = True
            elif kind == "k" and value == "limit" and not quoted and _SUBQUERY not in does and (nxt[0] != "n" or i != 1):
                return None  # "8-bit Limit": a number's LIMIT follows the number
            elif kind == "k" and value in ("having", "limit", "procedure"):
                does.add(_CLAUSE)
                expect = True
            else:
                return None
        first = False
        i += 1
    else:
        if expect and not first:
            return None
    if boolean and (condition or alone):
        does.add(_BOOLEAN_CONDITION if condition else _BOOLEAN_LITERAL)
    return does


_NUMBER_SIGN = re.compile(r"#\d")


# what the tail does: each alone changes the statement, but for
# L{_BOOLEAN_LITERAL} (C{or 1}: only where a quote was left) and
# L{_OPERATOR} (any operator: only in the lenient reading)
_STRONG = frozenset((_UNION, _STACKED, _BOOLEAN_CONDITION, _CLAUSE, _CALL, _TRUNCATE, _SUBQUERY))


def injects(value: str) -> Optional[str]:
    """
    The first place (C{"'"}, C{'"'}, C{"number"}) where C{value} leaves its
    literal and changes the statement, with what it does there
    (C{"' boolean"}), or C{None}.  Two readings stand beside the places
    (session 18): a union probe whatever fills its gaps (L{_UNION_PROBE}),
    and one bare word followed by a boolean and a comparison
    (C{staff OR x=y#}: a name's place left by a filter that drops quotes).
    """
    if len(value) > 512:
        value = value[:512]
    for quote in ("'", '"'):
        at = _leave(value, quote)
        if at < 0:
            continue
        rest = value[at:]
        tokens = _tokens(rest)
        if not tokens:
            continue
        does = _judge(tokens, False, True)
        if does is None:
            continue
        if value[:1] == quote and value.rstrip()[-1:] == quote:
            does.discard(_TRUNCATE)  # a quoted value: "#2 MOM"
        if not _ONE_WORD.match(value, 0, at - 1):
            # words before the quote: a name or prose with a foot or inch
            # mark (DRESS 18';, 12" OR 14"), where only a comparison, a
            # union, a statement or a clause tells SQL
            does -= _WEAK_AFTER_WORDS
        if does & _STRONG or _BOOLEAN_LITERAL in does or (_SQL_VALUE in does and _OPERATOR in does):
            return f"{quote} {min(does & (_STRONG | {_BOOLEAN_LITERAL, _SQL_VALUE}))}"
    if _UNION_PROBE.search(value):
        return "union probe"
    tokens = _tokens(value)
    if not tokens:
        return None
    head = tokens[0]
    if head[0] in ("n", "(") or (head == ("o", "-") and len(tokens) > 1 and tokens[1][0] == "n"):
        does = _judge(tokens, True, False)
    elif head[1] in _BOOLEAN and head[0] in ("k", "o") and len(tokens) > 1 and tokens[1][0] != "c":
        does = _judge(tokens[1:], True, False)  # a bare tail: "or true--", "||(elt(..))"
        if does is not None:
            does = does | ({_BOOLEAN_CONDITION} if does & {_BOOLEAN_CONDITION} or _COMMENT in does else set())
    elif head[0] == "w" and len(tokens) > 2 and tokens[1][0] == "k" and tokens[1][1] in ("or", "and", "xor"):
        # one bare word, then a boolean and a comparison: "staff OR x=y#";
        # only the comparison counts ("rock or roll", "Tom and Jerry" are
        # no condition)
        does = _judge(tokens[1:], False, False)
        if does is None or _BOOLEAN_CONDITION not in does or not _comparison(tokens[2:]):
            return None
        return "word boolean"
    else:
        return None
    if not does:
        return None
    if _BOOLEAN_LITERAL in does and _COMMENT in does:
        does.add(_BOOLEAN_CONDITION)  # "1 or true--": the rest cut off
    if does & (_STRONG - {_CALL}) or (_CALL in does and _numberCall(tokens)):
        return f"number {min(does & _STRONG)}"
    return None


def _comparison(tokens: list[tuple[str, str]]) -> bool:
    """
    Whether C{tokens} (a boolean's right side) compare two operands with an
    operator of SQL's (C{x=y}, C{1<2}), not only call or name something.
    """
    return any(k == "o" and v in _COMPARE for k, v in tokens)


# a union probe whatever fills the gaps between its words: UNION and SELECT
# kept apart only by what is no word (a filter's bait: comments, brackets,
# plus signs, a comment sign without its line break) and a select list of
# numbers or NULLs (UNION/**/SELECT/**/1,2,3, (UnIoN)+(SelECT)+1,2)
_UNION_PROBE = re.compile(
    r"\bunion[^\w\n]{1,24}(?:(?:all|distinct)[^\w\n]{1,24})?select[^\w\n]{1,24}(?:null|-?\d+)[^\w\n]{0,8},[^\w\n]{0,8}(?:null|-?\d+)\b",
    re.I,
)


def _numberCall(tokens: list[tuple[str, str]]) -> bool:
    """
    Whether a call in a number's place is to a function of a database's
    own (C{1-sleep(5)}), not any word before a parenthesis.
    """
    return any(k == "w" and v in _SQL_CALLS for k, v in tokens)


def _leave(value: str, quote: str) -> int:
    """
    Where C{value}, put between two C{quote}s, leaves its string: the index
    after the first C{quote} that is neither doubled nor escaped with a
    backslash, or -1.
    """
    i = value.find(quote)
    while i >= 0:
        if i + 1 < len(value) and value[i + 1] == quote:
            i = value.find(quote, i + 2)
            continue
        backslashes = 0
        j = i - 1
        while j >= 0 and value[j] == "\\":
            backslashes += 1
            j -= 1
        if backslashes % 2:
            i = value.find(quote, i + 1)
            continue
        return i + 1
    return -1
