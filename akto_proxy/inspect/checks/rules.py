"""
The named rules of the threat checks and of PII protection.

Patterns are written in the subset Hyperscan and Python's C{re} share (no
lookaround, no backreference, no named group): Hyperscan finds which rules
hit which string in one pass, C{re} then finds the spans of the few that hit
and hands them to a validator.

C{level} is the sensitivity from which a rule applies (1 low, 2 medium,
3 high), as CRS paranoia levels; rules sharing a name are tiers of one rule
and the highest tier allowed wins.  C{variants} names the normalised forms
the rule is matched against (see L{akto_proxy.inspect.normalize}).
C{fragment} rules apply only to strings that are data (a name, a filename,
a host) rather than a whole SQL statement or command line: that is where an
injection lives, and what a database or shell tool legitimately carries is
the whole statement.
"""

from __future__ import annotations

from typing import Optional

import attrs

from akto_proxy.inspect.checks.shell import PROGRAMS, VERBS, WORD_PROGRAMS
from akto_proxy.inspect.paths import TRIGGER

LEVELS = {"low": 1, "medium": 2, "high": 3}


@attrs.frozen
class Rule:
    check: str
    name: str
    pattern: str
    severity: str = "high"
    level: int = 1
    variants: str = "rd"
    caseless: bool = True
    validator: Optional[str] = None
    group: int = 0
    fragment: bool = False
    internal: bool = False
    entity: Optional[str] = None  # PII entity, for the pii guardrail
    single: bool = False  # report once per message (patterns that would report at every byte)
    confirm: Optional[str] = None  # the C{re} pattern, when Hyperscan gets a cheaper prefilter
    # where the string must sit (see L{argumentKind}): "data", an argument
    # that carries a value (a name, a host, a file, an id), matched by the
    # threat step over those strings only; None: anywhere
    context: Optional[str] = None
    # matches only across a line break inside a string: matched over the
    # strings that hold one (strings joined by line breaks would meet it at
    # every join, and the prefilter would scan every string again)
    lines: bool = False
    # the confirmation's matches are found by a reader of scanner.MATCHERS
    # (the same matches as C{re} finds, in linear time) rather than C{re}
    matcher: Optional[str] = None


SQL = "sql_injection"
CMD = "command_injection"

# --- where a string sits ------------------------------------------------------
# Argument names that carry code (a statement, a command line, a source
# file), and those that carry prose; any other argument carries a value.
# C{query} carries SQL only for a tool whose name says database.
CODE_ARGUMENTS = frozenset({
    "sql", "statement", "statements", "stmt", "script", "code", "command", "commands", "cmd", "source", "program",
    "expression", "expr", "snippet", "patch", "diff", "content", "contents", "file_content", "new_content",
    "old_string", "new_string", "body_html", "template_source", "query_text", "shell", "args", "argv",
    "where", "filter", "filters", "condition", "conditions", "predicate", "having", "order_by", "selector",
})
TEXT_ARGUMENTS = frozenset({
    "text", "message", "messages", "body", "title", "description", "comment", "comments", "prompt", "note", "notes",
    "bio", "summary", "subject", "question", "answer", "input",
    "instructions", "reason", "details", "markdown", "html", "caption", "label", "content_text", "reply",
    "topic", "context", "feedback", "status", "headline",
})
DATABASE_TOOL = r"sql|query|db|database|postgres|mysql|sqlite|snowflake|bigquery|redshift|clickhouse|duckdb|oracle|mssql|athena|warehouse"
# Tools whose query is prose for a search engine or a model, not a value
PROSE_TOOL = r"web|internet|google|bing|duckduckgo|brave|docs|documentation|wiki|knowledge|news|ask|chat|llm|browse|perplexity|research"
# Words of a tool's name (split at _ - . / and case changes) that say what
# it is given leaves for someone else: mail, chat, search, translation,
# HTTP, public posts.  Contact details in a request's arguments are judged
# only for these tools at low and medium (the issue's "outward-facing
# tools"); a tool of the organisation's own data (lookup_order,
# update_profile, run_sql) is where contacts are handled, not leaked.  A
# message with no tool (a plain HTTP body) counts as outward.
OUTWARD_TOOL_WORDS = frozenset(
    "mail email gmail outlook smtp send post message msg dm chat slack teams discord telegram sms whatsapp tweet toot "
    "publish share upload http https fetch request webhook url browse browser navigate search translate translation "
    "gist issue ticket comment reply forward notify notification invite paste pastebin".split()
)
PATH = "path_traversal"
EXFIL = "data_exfiltration"

# --- SQL injection ---------------------------------------------------------

_SQL_FN = r"(?:@@version|version\s*\(\s*\)|user\s*\(\s*\)|current_user|database\s*\(\s*\)|schema\s*\(\s*\)|information_schema|pg_catalog|sqlite_master|mysql\.user|sys\.\w+|all_tables|load_file|group_concat\s*\(|concat(?:_ws)?\s*\(|char\s*\(\s*\d+|0x[0-9a-f]{4,}|null\s*,\s*null|table_name|column_name|password|passwd)"

# a literal a CASE branch returns
_SQL_LITERAL = r"(?:-?\d+|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\"|null|true|false)"
# a Java static method called by its quoted class name
_JAVA_ROUTINE = r"[\"'`](?:java|javax)\.[a-z_][\w$]*(?:\.[\w$]+)+[\"'`]\s*\("

SQL_RULES = (
    Rule(SQL, "time_based_blind",
         r"\b(?:sleep|pg_sleep)\s*\(\s*['\"]?\d+(?:\.\d+)?['\"]?\s*(?:[^\s\d.'\")]|\)\s*(?:$|[^\s\w]|(?:and|or|xor|limit|from|union|then|else|end|when|as|like|rlike|regexp)\b))|"
         r"\bbenchmark\s*\(\s*\d+\s*,|\bwaitfor\s+(?:delay|time)\s+'|"
         r"\bdbms_(?:pipe\.receive_message|lock\.sleep)\s*\(|\brandomblob\s*\(\s*\d{6,}|\bpg_sleep_for\s*\(|"
         r"\bget_lock\s*\(\s*['\"]?[\w.-]*['\"]?\s*,\s*\d",
         variants="rdq"),
    Rule(SQL, "stacked_queries",
         r";\s*(?:drop\s+(?:table|database|schema|user|login)\b|truncate\s+table\b|shutdown\b|"
         r"exec(?:ute)?\s+(?:xp_|sp_|master\.)|declare\s+@\w+|alter\s+(?:user|login|role)\b|create\s+(?:user|login)\b|"
         r"grant\s+(?:all|dba|sysadmin)|insert\s+into\s+\w*(?:user|admin|account)|update\s+\w+\s+set\s+\w*(?:pass|role|admin|is_admin))",
         variants="rdq"),
    Rule(SQL, "stacked_queries",
         r"(?:^\s*[\w@.-]*|['\"`)])\s*;\s*(?:select\b|insert|update|delete|drop|declare|create|alter|truncate|shutdown|grant|merge|copy|call|set\s+@|begin\s+declare\s+@)\b|"
         r"(?:^\s*[\w@.-]*|['\"`)])\s*;\s*exec(?:ute)?\s*(?:[(@'\"\[]|(?:xp|sp)_|master\b|immediate\b|\w*[_.][\w.]*\s*(?:$|;|--|#|['@\"(])|[\w.]+\s*(?:['@\"(]|;|--|#))|"
         r"['\"`)]\s*;\s*(?:desc|describe|show\s+(?:tables|databases|grants|columns))\b|['\"`)]\s*;\s*print\s*[@'\"(]",
         variants="rdq", level=2, fragment=True),
    Rule(SQL, "union_based",
         r"\bunion(?:\s+|\(|/\*.*?\*/)+(?:all\s+|distinct\s+)?\(?\s*select\b.{0,160}?" + _SQL_FN,
         variants="rdq"),
    Rule(SQL, "union_based",
         r"(?:['\"`)]|\d)\s*(?:/\*.*?\*/\s*)*\bunion(?:\s+|\(|/\*.*?\*/)+(?:all\s+|distinct\s+)?\(?\s*select\b",
         variants="rdq", fragment=True),
    Rule(SQL, "tautology",
         r"(?:['\"`)]|\b\d+)\s*\)*\s*(?:or|xor|\|\|)\s*\(*\s*['\"]?\w*['\"]?\s*(?:=|<>|!=|like|is|>|<)\s*\(*['\"]?\w*|"
         r"['\"`]\s*\)*\s*(?:or|\|\|)\s+(?:true|not\s+false|\d+)\b|"
         r"^\s*(?:or|and)\s+['\"]?\w+['\"]?\s*=\s*['\"]?\w+",
         variants="rdq", validator="tautology"),
    Rule(SQL, "tautology",
         r"\bwhere\b.{0,120}\bor\s*\(*\s*(['\"]?)\w+['\"]?\s*=\s*['\"]?\w+",
         variants="rdq", validator="tautology"),
    # a value, then OR and a name equal to itself, no quote needed: "hi or a=a"
    Rule(SQL, "tautology",
         r"^\s*[\w.@-]{1,40}\s+(?:or|xor|\|\|)\s+\(*\s*[a-z_]\w*\s*=\s*[a-z_]\w*\s*\)*\s*(?:$|--|#|/\*|;)",
         variants="rdq", validator="tautology", level=2, fragment=True),
    Rule(SQL, "comment_truncation",
         r"^[^'\"`\s]{0,64}['\"`]\s*\)*\s*(?:--|#(?:\D|$)|/\*|;\s*--|;\s*#|;\s*%00|;\s*$)",
         variants="rdq", fragment=True, validator="comment_truncation"),
    Rule(SQL, "error_based",
         r"\b(?:extractvalue|updatexml)\s*\(.{0,80}(?:concat|0x7e|select|version|user)|"
         r"\bconvert\s*\(\s*int\s*,\s*(?:@@|db_name|user|\(\s*select)|\bexp\s*\(\s*~\s*\(\s*select|"
         r"\bfloor\s*\(\s*rand\s*\(\s*0\s*\)\s*\*\s*2\s*\)|\bcast\s*\(\s*\(?\s*select\b.{0,80}\bas\s+(?:int|numeric|signed)|"
         r"\butl_inaddr\.get_host_(?:name|address)\s*\(|\bctxsys\.drithsx\.sn\s*\(|\bgtid_subset\s*\(",
         variants="rdq"),
    Rule(SQL, "out_of_band",
         r"\bxp_cmdshell\b|\bxp_dirtree\b|\bsp_oacreate\b|\bload_file\s*\(|\binto\s+(?:out|dump)file\s+['\"]|"
         r"\butl_http\.request\s*\(|\bdbms_ldap\.|\bcopy\s+\(?.{0,60}\bto\s+program\b|\blo_import\s*\(|"
         r"\bpg_read_file\s*\(|\bsys_exec\s*\(|\bsys_eval\s*\(|\bopenrowset\s*\(",
         variants="rdq"),
    Rule(SQL, "boolean_blind",
         r"(?:['\"`)]|\b\d+)\s*\)*\s*(?:and|or|&&|\|\|)\s+\(*\s*(?:ascii|substring|substr|mid|length|ord|hex|unicode|char_length|if)\s*\(|"
         r"\b(?:and|or)\s+\d+\s*=\s*\(\s*select\b|\b(?:and|or)\s+(?:exists|not\s+exists)\s*\(\s*select\b|"
         r"\b(?:and|or)\s+\(\s*select\b.{0,120}\)\s*(?:=|>|<|like)|\bif\s*\(.{0,60},\s*(?:sleep|benchmark)\s*\(|"
         r"\bcase\s+when\b.{0,80}\bthen\b.{0,40}(?:sleep|benchmark|1/0)",
         variants="rdq", fragment=True),
    Rule(SQL, "order_by_probe",
         r"^[^\s'\"]{0,40}['\"`)]?\s*\b(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*|$)",
         variants="rdq", fragment=True, level=2),
    # A condition on literals only (1=1, 'a'='a', 8=3, 1=0): it selects
    # nothing or everything, which is all it is for; quote or no quote.
    Rule(SQL, "boolean_tail",
         r"(?:^|[\s)('\"`]|\b|\d)(?:and|or|xor|&&|\|\||having|where)\s*\(*\s*(?:not\s+)?(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\"|true|false|null)\s*\)*\s*"
         r"(?:=|<>|!=|<=>|<=|>=|<|>|\blike\b|\bis\b(?:\s+not\b)?|\brlike\b|\bregexp\b)\s*\(*\s*(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|'[^'\s]{0,20}|\"[^\"\n]{0,20}\"|\"[^\"\s]{0,20}|true|false|null)",
         variants="rdq", validator="boolean_tail", level=2, context="data"),
    Rule(SQL, "boolean_tail",
         r"(?:^\s*|['\"`)]\s*|\b\d+\s*)(?:and|or|xor|&&|\|\|)\s+(?:not\s+)?(?:true|false)\b\s*(?:--|#|/\*|;|$)|"
         r"^\s*(?:and|or|having)\s+\(*\s*(?:not\s+)?(?:\d+|true|false)\s*\)*\s*(?:--|#|/\*|;|$)",
         variants="rdq", level=2, context="data"),
    # A value that closes its quote and goes on in SQL: an operator, a
    # clause or a statement after the quote (admin' or ..., x' collate ...).
    Rule(SQL, "quote_breakout",
         r"^[^'\"`\s]{0,64}['\"`]\s*\)*\s*(?:or|and|xor|not|is|in|like|rlike|regexp|glob|match|similar|collate|notnull|isnull|"
         r"between|div|mod|union|order|group|having|limit|procedure|into|where|insert|update|delete|drop|create|alter|exec|execute|"
         r"declare|select|grant|truncate|replace|merge|call|print|shutdown|waitfor|sounds)\b\s*[\w(@'\"`\[{-]",
         variants="rdq", level=2, context="data", validator="quote_breakout"),
    Rule(SQL, "quote_breakout",
         r"^[^'\"`\s]{0,64}['\"`]\s*(?:[|^&<>=/%*+-]{1,2}|::)\s*\w+\s*(?:--|#|/\*)|"
         r"^\s*(?:or|and|xor|having)\s+[^\s<>=].{0,80}?(?:[=<>!?@~#]|\blike\b|\bis\b|\bregexp\b|\bglob\b)",
         variants="rdq", level=2, context="data"),
    # An incomplete comparison after a boolean operator, a subquery in a value.
    Rule(SQL, "boolean_tail",
         r"(?:^|\s|['\"`)])(?:and|or|xor)\s+[\w'\"]{1,30}\s*(?:=|==|<>|!=|<|>|\blike\b|\bis\b|\brlike\b|\bregexp\b|\bglob\b)\s*(?:['\"(]\s*$|$)|"
         r"\(\s*select\b.{1,200}?\bfrom\b|\(\s*select\s+(?:-?\d+|@@?\w+|null|'[^'\n]{0,20}'|[\w.]+\s*\([^()\n]{0,40}\))\s*\)",
         variants="rdq", level=2, context="data"),
    # A whole statement, or a union probe, in an argument that carries a value.
    Rule(SQL, "standalone_statement",
         r"^\s*[/;]?\s*\(*\s*(?:select\s+(?:[\w@*,'\"().\s/+%-]{1,200}?\s*\b|[\w@*,'\"().\s/+%-]{0,200}?\d)from\s*[\w.$`\"\[\]]+\s*(?:$|;|--|#|/\*|\)|\bwhere\b|\blimit\b|\bunion\b|\border\b|\bgroup\b|\bjoin\b|\bas\b|,)|"
         r"select\s+(?:@@?\w+|[\w.]+\s*\(|null\b|-?\d+\s*,|'[^']*'\s*,|\*\s+from)|"
         r"insert\s+into\s+[\w.`\"\[\]]+\s*(?:\(|values\b|select\b)|update\s+[\w.`\"\[\]]+\s+set\s+\w+\s*=|delete\s+from\s+[\w.`\"\[\]]+\s*(?:$|;|--|#|\bwhere\b)|"
         r"replace\s*(?:/\*.*?\*/\s*)?\w*\s*(?:/\*.*?\*/\s*)?\([\w\s,]+\)\s*values\b|"
         r"drop\s+(?:table|database|schema|user|view|function|procedure|index|login)\b|drop\s+[\w.`\"\[\]]+\s*;\s*(?:--|#)|"
         r"create\s+(?:(?:table|database|user|login|function|procedure|trigger|view|temporary\s+table|alias)\s+(?:if\s+not\s+exists\s+)?[\w.`\"\[\]@]+\s*(?:\(|\bas\b|\breturns\b|\bidentified\b|\bon\b|\bsoname\b|$|;|--|#)|or\s+replace\b)|"
         r"alter\s+(?:table|user|login|database|role|system|session)\b|truncate\s+table\b|declare\s+@|"
         r"exec(?:ute)?\s*(?:xp_|sp_|master\.|@|\()|grant\s+\w+(?:\s*,\s*\w+)*\s+(?:on|to)\b|shutdown\s*(?:$|;|--|#|/\*|with\s+nowait)|waitfor\s+(?:delay|time)\b|"
         r"union\s+(?:all\s+|distinct\s+)?\(?\s*select\b|(?:do|call|begin)\s+\w+\s*\(|"
         r"(?:except|intersect|minus)\s+\(?\s*select\b|case\s+when\b.{1,100}?\bthen\b|execute\s+immediate\b|"
         r"select\s+(?:0x[0-9a-f]+|pg_sleep|sleep|benchmark|version|user|database|current_user|session_user|system_user|current_schema|"
         r"current_database|current_role|suser_name|user_name|@@\w+)\b|"
         r"from\s+[\w.`\"\[\]]+\s+(?:where|group\s+by|order\s+by|limit|join|inner|left|union)\b)",
         variants="rdq", level=2, context="data"),
    # A value that is a comparison of two literals.
    Rule(SQL, "boolean_tail",
         r"^\s*(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\")\s*(?:not\s+)?(?:like|regexp|rlike|glob|is(?:\s+not)?|=|<>|!=|<=>)\s*"
         r"(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\"|null|true|false)\s*$",
         variants="rdq", level=2, context="data"),
    # A condition on literals spelled with BETWEEN (1 BETWEEN 0 AND 2):
    # a comparison written the way filters of "=" and "<" do not see.
    Rule(SQL, "boolean_tail",
         r"(?:^|[\s)('\"`]|\b)(?:and|or|xor|&&|\|\||having|where)\s*\(*\s*(?:not\s+)?(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\")\s+"
         r"(?:not\s+)?between\s+(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\")\s+and\s+(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\")"
         r"\s*\)*\s*['\"`]?\s*(?:$|--|#|/\*|;|\))",
         variants="rdq", level=2, context="data"),
    # A value that is only "|| x=x": the operator as symbols, no quote.
    Rule(SQL, "tautology",
         r"^\s*\|\|\s*\(*\s*['\"]?\w+['\"]?\s*(?:=|<=>|like|is)\s*['\"]?\w+",
         variants="rdq", validator="tautology", level=2, context="data"),
    # A value that closes its quote and reopens one across an operator:
    # string arithmetic ('-', admin'*', A' MOD 'B), true for every row
    # where a string compares as a number.
    Rule(SQL, "quote_breakout",
         r"^[^'\"`\s]{0,64}'\s*(?:[-+*/%^&|]{1,2}|(?:not\s+)?(?:like|rlike|regexp)\b|div\b|mod\b|xor\b|sounds\s+like\b)\s*'(?:[^']|$|'\s*(?:[-+*/%^&|]|$))",
         variants="rdq", level=2, context="data"),
    # A value that closes its quote, then a boolean operator and an
    # expression left open for the query's own text to complete (' or abc!).
    Rule(SQL, "boolean_tail",
         r"^[^'\"`\s]{0,64}['\"`]\s*\)*\s*(?:or|and|xor|\|\||&&)\s+[\w'\"]{1,30}\s*(?:[-+*/%^&|!]|!=|<>)\s*$|"
         r"^\s*(?:or|and|xor)\s+\w{1,30}\s*[-+*/%^&|!]\s*$",
         variants="rdq", level=2, context="data"),
    # A cast or operator only SQL has, after a literal or a call.
    Rule(SQL, "sql_operator",
         r"['\")]\s*::\s*(?:int|integer|bigint|smallint|text|bool|boolean|json|jsonb|varchar|numeric|regclass|oid|bytea|inet)\b|"
         r"(?:and|or|xor|&&|\|\|)\s+[\w.`\"\[\]]+\s+is\s+(?:not\s+)?null\b",
         variants="rdq", level=2, context="data"),
    Rule(SQL, "union_based",
         r"(?:\b|\d[a-z]?|\\n?)union(?:\s+|\(|/\*.*?\*/)+(?:all\s+|distinct(?:row)?\s+)?\(*\s*select\s*(?:null\b|-?\d+|'|\"|@@?\w|\*|[\w.]+\s*\(|\(|\w+\s*,|\w+\s+from\b)",
         variants="rdq", level=2, context="data"),
    # The catalogue, system functions and dialect objects of a database in
    # a value: what an injection reads, never what a value holds.
    Rule(SQL, "schema_probe",
         r"\binformation_schema\b|\b(?:sysobjects|syscolumns|sysusers|sysdatabases|syslogins|sysibm\.\w+|all_tables|all_users|"
         r"all_tab_columns|user_tables|dba_users|pg_catalog|pg_shadow|pg_user|pg_tables|sqlite_master|sqlite_schema|"
         r"msysobjects|mysql\.user|rdb\$\w+|sys\.(?:tables|objects|databases|sql_logins|server_principals|columns))\b|"
         r"\bv\$version\b|@@(?:version|datadir|hostname|basedir|servername|language)\b|"
         r"\b(?:sqlite_version|load_extension|pg_read_file|pg_ls_dir|pg_backend_pid|current_setting|suser_sname|is_srvrolemember|"
         r"db_name|sys_context|version|user|database|current_database|current_user|session_user|system_user|schema|"
         r"@@\w+)\s*\(\s*\)?|\b(?:dbms_\w+|utl_(?:http|inaddr|file|smtp|tcp))\.\w+",
         variants="rdq", level=2, context="data", validator="schema_probe"),
    # Strings worth a tokeniser: a quote or a number meeting SQL.
    Rule(SQL, "libinjection_candidate",
         r"['\"`)]\s*(?:\)\s*)*(?:or|and|xor|union|having|order|group|limit|select|into|procedure|where|like|rlike|regexp|;|--|#|/\*|\|\||&&|=|<|>|\+|-\s*\d)|"
         r"\b\d+\s*\)*\s+(?:or|and|xor|union|having|order\s+by|group\s+by|limit|procedure|into)\b|"
         r"\b(?:or|and)\s+\d+\s*[=<>]|\bunion\b.{0,40}\bselect\b|;\s*(?:select|drop|insert|update|delete|exec|declare|shutdown)\b|"
         r"^[ \t]*[\w@.$()-]{1,40}[ \t]*\)*[ \t]+(?:and|or|xor|having|union|procedure|into|div|mod|like|rlike|regexp|sounds[ \t]+like)[ \t]+[\w(@'\"-][^\n]{0,60}$",
         variants="rdq", internal=True),
    # Values worth reading as SQL by structure (L{sqlshape.injects}) that
    # the candidates above leave: a quote closed before an operator only
    # SQL applies to a string (*, /, IS, IN, DIV, COLLATE, ::), a
    # parenthesised SELECT, a value that begins with a boolean operator.
    Rule(SQL, "structure_candidate",
         r"['\"`]\s*\)*\s*(?:[*/%^&|!~]|::|\b(?:is|in|not|div|mod|collate|between|sounds|escape)\b)|"
         r"^\s*\(+\s*select\b|^\s*(?:or|and|xor|&&|\|\|)\s*[\w('\"@(-]",
         variants="rdq", internal=True, context="data", level=2),
    # NoSQL (MongoDB) injection in a value: an operator whose operand every
    # document meets ({"$ne": null}, {"$gt": ""}, {"$regex": ".*"}; a Mongo
    # tool's real filters compare with values), a bypass operator as a flat
    # form field (password[$ne]=; Strapi's nested filters[x][$ne] pass),
    # server-side JavaScript ($where, a collection written or dropped from
    # the shell, a quote closed before a statement that stalls or returns
    # true).
    Rule(SQL, "nosql_injection",
         r"\$where\s*['\"]?\s*:|\$(?:ne|nin)['\"]?\s*:\s*(?:null|\"\"|''|\[\s*\]|-?1|0)\s*[,}\]]|\$(?:gt|gte)['\"]?\s*:\s*(?:\"\"|''|null)\s*[,}\]]|"
         r"\$regex['\"]?\s*:\s*['\"](?:\.\*|\.\+|\^)['\"]|(?:^|[?&;\s])[\w.-]+\[\s*\$(?:ne|nin|regex|where|exists|gt)\s*\]\s*=|"
         r"\bdb\.[\w$]+\.(?:insert|insertone|insertmany|update|updateone|updatemany|remove|deleteone|deletemany|drop|mapreduce)\s*\(|"
         r"['\"]\s*;\s*(?:return\s+(?:true|1|this)\b|sleep\s*\(\s*\d|while\s*\(|(?:(?:var|let|const)\s+)?\w+\s*=\s*new\s+date\s*\(\s*\))",
         variants="rdq", level=2, context="data"),
    # A value that closes its quote and the call or VALUES list it sat in
    # with a NULL after a comma (',NULL), '),NULL)): a column count probe.
    Rule(SQL, "quote_breakout", r"^[^'\"`\s]{0,64}['\"`][\s)]*,\s*null\s*\)",
         variants="rdq", level=2, context="data"),
    # A value that closes its quote and goes on with OR and another quoted
    # literal (' or '' ', admin' or 'x), the query's own quote closing it.
    Rule(SQL, "quote_breakout",
         r"^[^'\"`\s]{0,64}(['\"])\s*\)*\s*(?:or|xor|\|\|)\s+\(*\s*['\"]",
         variants="rdq", level=2, context="data"),
    # Values no data holds: a wildcard LIKE, a number minus a truth value,
    # MSSQL's dynamic SQL and system procedures, a boolean joined to a
    # delay, PostgreSQL's COPY of a server file (a SELECT of the session's
    # identity and a dropped object with the rest commented out are
    # standalone_statement's).
    Rule(SQL, "sql_fragment",
         r"^\s*like\s+['\"]%+['\"]|^\s*\d+\s*[-+*/]\s*(?:true|false)\s*$|\bexec(?:ute)?\s*\(\s*@\w+\s*\)|\bexec(?:ute)?\s+(?:master\.\.)?(?:xp|sp)_|"
         r"(?:['\"`)]|\d)\s*\)*\s*(?:or|and|xor|\|\||&&)\s+\(*\s*(?:sleep|pg_sleep|benchmark)\s*\(|"
         r"\bcopy\s+[\w.\"]+(?:\s*\([^)]*\))?\s+(?:from|to)\s+(?:program\b|'/(?:etc|proc|root|home|var|dev)/)",
         variants="rdq", level=2, context="data"),
    # What an automated probe asks of a database in a value: a condition of
    # two numbers inside CASE, IIF or ELT, a derived table's alias closed
    # before WHERE n=n, a heavy query (a series or a repetition of millions),
    # a quote closed before a subquery.
    Rule(SQL, "sql_probe",
         r"\bcase\s+when\s*\(*\s*\d+\s*(?:=|<>|!=|<|>)\s*\d+|\b(?:iif|elt)\s*\(\s*\d+\s*=\s*\d+\s*,|\)\s*as\s+\w+\s+where\s+\d+\s*=\s*\d+|"
         r"\bgenerate_series\s*\(\s*\d+\s*,\s*\d{6,}|\brepeat\s*\(.{0,60}?,\s*\d{7,}\s*\)|^[^'\"`\s]{0,64}['\"`]\s*\(+\s*select\b",
         variants="rdq", level=2, context="data"),
    # Session 15: SQL in a value that reads no catalogue and compares no
    # literals: a CASE expression whose branches are literals (CASE
    # randomblob(N) WHEN NOT NULL THEN 1 ELSE 1 END, a heavy query timed by
    # its cost), SQLite's blob generators, a Java static method called as
    # an SQL function by its quoted class name (HSQLDB's and H2's
    # "java.lang.Thread.sleep"(5)).
    Rule(SQL, "sql_probe",
         r"\bcase\b[^\n]{1,120}?\bwhen\b[^\n]{1,120}?\bthen\s+" + _SQL_LITERAL + r"\s+else\s+" + _SQL_LITERAL + r"\s+end\b|"
         r"\b(?:randomblob|zeroblob)\s*\(|" + _JAVA_ROUTINE,
         variants="rdq", level=2, context="data",
         # (the CASE's tail alone: where Hyperscan saw the whole, in time linear in the value)
         confirm=r"\bthen\s+" + _SQL_LITERAL + r"\s+else\s+" + _SQL_LITERAL + r"\s+end\b|\b(?:randomblob|zeroblob)\s*\(|" + _JAVA_ROUTINE),
    # A value that opens with a quote, closes the query's own quote with it
    # and comments out the rest after one word ('test--): the word is left
    # a bare identifier, a probe for a syntax error ('1-- leaves a number,
    # which some fields hold that way).
    Rule(SQL, "comment_truncation", r"^\s*['\"`][a-z_][\w@.$-]{0,63}--\s*$", variants="rdq", level=2, context="data"),
)  # fmt: skip

# --- command injection -----------------------------------------------------

_DANGER = (
    r"(?:whoami|uname(?:\s+-\w+)?|ifconfig|ipconfig|netstat|systeminfo|printenv|hostname\b|id\s*(?:$|[;&|`)#])|"
    r"(?:wget|curl|nc|ncat|netcat|socat|telnet|nslookup|dig|tftp|ftp|ssh|scp)\s+[^\s|;&`]|"
    r"(?:bash|sh|zsh|ksh|dash|csh|python[23]?|perl|ruby|php|node|lua)(?:\s+-\w|\s+/|\s*$|\s*[;&|)])|"
    r"(?:cat|tac|nl|head|tail|more|less|strings|xxd|od|base64)\s+(?:-\w+\s+)*[/~.$]|"
    r"ls(?:\s+-\w+)?(?:\s+[/~.]|\s*$|\s*[;&|`)])|rm\s+-\w*[rf]|chmod\s+[+0-7u]|chown\s|mkfifo\s|kill\s+-9|"
    r"sleep\s+\d|ping\s+-[cni]\s*\d|echo\s+\S|env\s*(?:$|[;&|`)])|set\s*(?:$|[;&|`)])|"
    r"powershell|pwsh|cmd(?:\.exe)?\s*/[ck]|certutil|bitsadmin|wmic|reg\s+(?:query|add)|net\s+(?:user|localgroup)|"
    r"type\s+[a-z]:\\|dir\s+[a-z]:\\|/bin/\w+|/usr/bin/\w+|sudo\s+\S|crontab\s|useradd\s|passwd\s*(?:$|[;&|`)]))"
)

#: a command after a separator (chained_command; validators.chainedCommand
#: reads it again to tell a markdown table's cells apart)
CHAINED = r"(?:;|&&?|\|\|?|\$\()\s*" + _DANGER

# Commands whose name is no English word: a value that begins with one is a
# command line; and commands that are words, which need an option or a
# path after them to count.
BARE_COMMANDS = (
    r"whoami|uname|ifconfig|ipconfig|netstat|nslookup|wget|curl|ncat|netcat|socat|nc|zsh|ksh|csh|tcsh|sh|"
    r"python[23]?(?:\.\d+)?|perl|php\d?|ruby|irb|nodejs|lua|chmod|chown|chgrp|mkfifo|crontab|useradd|usermod|userdel|"
    r"passwd|sudo|systeminfo|tasklist|powershell|pwsh|certutil|bitsadmin|wmic|ansible(?:-[\w-]+)?|pip[23]?|npm|npx|"
    r"gcc|g\+\+|c89|c99|clang|tcpdump|nmap|telnet|tftp|ftp|ssh|scp|sftp|rsync|base64|xxd|hexdump|"
    r"printenv|getent|lsof|killall|pkill|nohup|strace|ltrace|gdb|docker|kubectl|systemctl|"
    r"journalctl|iptables|umount|fdisk|shred|openssl|gpg|unzip|gzip|bzip2|xz|7z|apt-get|"
    r"yum|dnf|apk|dpkg|rpm|awk|gawk|sed|grep|egrep|fgrep|xargs|uniq|wc|chattr|lsattr|"
    r"usleep|ping6|traceroute|whois|hostname|lastlog|vim|nano|emacs|chef-\w+|knife|cscli|flock|cpulimit|rmt|rmt-\w+|"
    r"busybox|chroot|setarch|taskset|unshare|nsenter|capsh|runuser|doas|pkexec|sh\.distrib|cmd|cmd\.exe|"
    # looking around a host (Linux, Windows)
    r"df|du|lscpu|lsblk|lsmod|lspci|lsusb|dmesg|hostnamectl|sysctl|getfacl|"
    r"netsh|nbtstat|nltest|dsquery|gpresult|schtasks|wevtutil|vssadmin|bcdedit|icacls|cacls|driverquery|getmac|qwinsta|quser|"
    r"cmdkey|klist|setspn|fsutil|"
    # more of the same (Linux, Windows): recon, files, processes
    r"uptime|vmstat|iostat|mpstat|pstree|pgrep|showmount|smbclient|rpcinfo|nmblookup|logname|lsb_release|getsebool|sestatus|"
    r"whereis|ldd|readelf|objdump|tracert|pathping|findstr|attrib|xcopy|robocopy|takeown|mountvol|diskpart|openfiles|qprocess|"
    r"taskkill|cipher|mysql|psql|sqlite3|mongo|redis-cli|reboot|poweroff"
)
# Commands an attacker runs to look around or call home: alone in a value,
# they are a command line.
ATTACK_COMMANDS = (
    r"whoami|uname|ifconfig|ipconfig|netstat|nslookup|wget|curl|ncat|netcat|socat|nc|telnet|tftp|systeminfo|tasklist|"
    r"certutil|bitsadmin|wmic|printenv|getent|mkfifo|crontab|useradd|usermod|userdel|passwd|busybox|pkexec|nsenter|"
    r"capsh|lastlog|ping6|usleep|sh|zsh|ksh|csh|tcsh|dmesg|lscpu|lsblk|lsmod|hostnamectl|driverquery|getmac|qwinsta|quser|nltest|cmdkey|klist|"
    r"lsb_release|sestatus|getsebool|logname|pstree|nmblookup|rpcinfo|showmount|openfiles|qprocess"
)
WORD_COMMANDS = (
    r"find|make|install|mail|file|touch|kill|date|time|test|which|watch|top|write|wall|split|join|paste|look|"
    r"man|open|print|read|say|set|shift|source|start|stop|type|wait|echo|printf|cp|mv|rm|ln|mkdir|rmdir|cd|export|"
    r"alias|trap|column|tr|yes|exec|eval|let|declare|local|readonly|unset|ulimit|umask|go|java|node|git|timeout|"
    r"bash|dash|sleep|ping|host|w|who|last|id|more|less|head|tail|cat|tac|nl|sort|cut|rev|tee|dir|env|pwd|ls|ps|dd|"
    r"ed|ex|vi|ip|ss|su|cc|route|mount|service|finger|tar|zip|apt|brew|dig|arp|net"
)

# What may make a value a shell's (L{shell.commandInValue} then judges it).
_SHELLISH = (
    r"(?:[;&|]|\|\|)[ \t]*['\"]?(?:[a-z0-9./\\~$`{(\[-]|%[a-z])|\$[({'\[]|\$[a-z_]\w*|`[^`\n]{0,200}`|<<<|[<>]\(|"
    r"^[ \t]*['\"]?(?:" + PROGRAMS + r")['\"]?[ \t]+\S|"
    r"^[ \t]*['\"]?(?:" + WORD_PROGRAMS + r")(?:[ \t][^\r\n]{0,100}?)?(?:[ \t](?:-{1,2}[a-z]|[/~][a-z.]|\.{1,2}/|[a-z]:\\|/[a-z]{1,12}(?:[ \t]|$)|[a-z_]\w*=)|>)|"
    r"^[ \t]*[a-z][\w.-]*[ \t]+(?:\S+[ \t]+)?-{1,2}[a-z]|"
    r"^[ \t]*(?:" + VERBS + r")-[a-z]{2,}[ \t]+\S|"
    r"^[ \t]*[\w/]*(?:\w['\"\\^]+|['\"\\^]+\w)[\w'\"\\^/]*[ \t]|^[ \t]*\{[\w/.-]+,|^[ \t]*/[\w/?*\[\]-]*[?*\[]"
)

# What may make a value build code and hand it to an evaluator (session 13).
_EVALUATED = (
    r"\beval\b|<<<|\|\s*[\w/'\"\\]*(?:sh|\$\{!#\}|\$bash)\b|\|\s*\$\{!#\}|\b(?:ba|z|da|k)?sh\s+-c\b|"
    r"(?:\$\(|`)\s*(?:printf|echo|rev|base64|xxd|tr)\b|"
    r"%[a-z_][\w()]*:~|![a-z_]\w*(?::[^!\s]{1,20})?!|\bcall\s|\bset\s+\"?[a-z_]\w*=|\bfor\s+(?:/[lf]\s+)?%|"
    r"[a-z]`[a-z]|'\s*\+\s*'|-f\s*'|\[char|-join|\biex\b|scriptblock\]::create|newscriptblock|\^[a-z]|[a-z]\"[a-z]|invoke-expression|invokescript|frombase64string|"
    r"\s[-/]e(?:c|n[a-z]*)?\s+[a-z0-9+/]{12}|\|\s*(?:powershell|pwsh)\b|\$(?:env:comspec|pshome|shellid)\s*\[|\[-1\.\.|"
    r"^\s*\$[a-z_]\w*\s*=\s*\S|^\s*[a-z]+-[a-z]+\s+(?:-\w+\s+)?\$[a-z_]"
)

CMD_RULES = (
    Rule(CMD, "reverse_shell",
         r"/dev/(?:tcp|udp)/[\w.-]+/\d+|\b(?:nc|ncat|netcat)\b[^|;&\n]{0,80}\s-[a-z]*[ec]\s*\S*(?:sh|cmd)\b|"
         r"\bmkfifo\b.{0,80}\b(?:nc|ncat|telnet|openssl|sh)\b|\bsocat\b.{0,80}\bexec:|"
         r"\bpython[23]?\s+-c\s*['\"]?.{0,60}\bimport\s+(?:socket|pty)|\bpty\.spawn\s*\(|"
         r"\bperl\s+-e\s*['\"]?.{0,30}\buse\s+socket|\bphp\s+-r\s*['\"]?.{0,40}\bfsockopen|\bruby\s+-rsocket|"
         r"\bbash\s+-i\s*>&|\bsh\s+-i\s*[<>]&|\bnet\.sockets\.tcpclient\b|\btelnet\b.{0,40}\|\s*/bin/(?:ba)?sh",
         variants="rds"),
    Rule(CMD, "download_execute",
         r"\b(?:curl|wget|fetch)\s+[^|;&\n\s`][^|;&\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|k|da)?sh\b|"
         r"\b(?:curl|wget)\b[^;&\n]{0,200}(?:-o|-O|>)\s*/(?:tmp|dev/shm|var/tmp)/\S+\s*(?:;|&&|\|)\s*(?:chmod\s|sh\s|bash\s|\./|/(?:tmp|dev/shm|var/tmp)/)|"
         r"\b(?:iex|invoke-expression)\b.{0,80}(?:downloadstring|net\.webclient|iwr|invoke-webrequest)|"
         r"\bpowershell\b.{0,60}\s-(?:e|en|enc|encodedcommand)\s+[a-z0-9+/=]{16,}|\bcertutil\b.{0,40}-urlcache",
         variants="rds"),
    Rule(CMD, "sensitive_file_read",
         r"\b(?:cat|tac|head|tail|less|more|nl|strings|base64|xxd|od|cp|scp|curl\s+-F|type|grep|egrep|fgrep|awk|sed|sort|uniq|cut|wc|"
         r"diff|vi|vim|nano|dd|tee|rev|paste|openssl|file|stat|ls|python[23]?|perl|ruby|php|findstr)(?:\s|<)\s*[^;&|\n]{0,40}"
         r"(?:/etc/(?:passwd|shadow|sudoers|gshadow)|\.ssh/(?:id_\w+|authorized_keys)|/proc/self/environ|\.aws/credentials|c:\\windows\\win\.ini|"
         r"(?:%(?:systemroot|windir)%|c:\\windows)\\(?:win\.ini|repair\\(?:sam|system|security|software)\b|system32\\config\\(?:sam|system|security)\b))",
         variants="rds"),
    Rule(CMD, "shell_obfuscation",
         # ($IFS and ${X:n:m} where a shell would read them: glued to a word,
         # a path or a digit, not alone between words in a question about them)
         r"\$\{IFS[^}\s]{0,8}\}\S|\S\$\{IFS[^}\s]{0,8}\}|\$IFS(?:\$\d|[/.'\"$-])|\S\$IFS\b|"
         r"\S\$\{\w+:\d+(?::\d+)?\}|\$\{\w+:\d+(?::\d+)?\}\S|(?:^|[\s;&|])/[?*]{2,3}/[\w?*]*[?*]|\\x[0-9a-f]{2}\\x[0-9a-f]{2}.{0,20}\|\s*(?:ba)?sh|\$'\\x[0-9a-f]{2}",
         variants="rd"),
    Rule(CMD, "chained_command", CHAINED,
         variants="rds", fragment=True, validator="chained_command"),
    # (a command on a line of its own is documentation in prose and a
    # script in code: a second command only in a value)
    Rule(CMD, "chained_command",
         r"[\n\r]\s*" + _DANGER,
         variants="ds", fragment=True, context="data", lines=True),
    Rule(CMD, "command_substitution",
         r"\$\(\s*" + _DANGER + r"|(?:\w|[;&|=]\s*)`\s*" + _DANGER + r"|"
         r"^\s*`\s*(?:whoami|id|uname(?:\s+-a)?|ifconfig|ipconfig|hostname|sleep\s+\d+|cat\s+/etc/\w+|ls\s+-la\s+/)\s*`\s*(?:$|[;&|])",
         variants="rds"),
    Rule(CMD, "obfuscated_command",
         r"(?:^|[\s;&|`(])" + _DANGER,
         variants="s", validator="new_in_variant"),
    # A value, then a separator, then a word: whatever the word, a second
    # command (the validator keeps query strings, assignments and
    # capitalised prose such as "Tom & Jerry" out).
    # (Segments are matched joined by line breaks: a pattern that crossed
    # one would hit every short value followed by another; the line-break
    # form asks for a command after it.)
    Rule(CMD, "separator_command",
         r"^[ \t]*['\"]?[^;&|`(<>'\"\r\n]{0,120}['\"]?[)}]*[ \t]*(?:;|&&?|\|\|?|%0a|%0d)+[ \t]*['\"]?[\w./\\~$`{(-]",
         variants="rds", validator="separator_command", level=2, context="data"),
    Rule(CMD, "separator_command",
         r"^[ \t]*['\"]?[^;&|`(<>'\"\r\n]{0,120}['\"]?[)}]*[ \t]*[\r\n]+[ \t]*['\"]?(?:[./\\~$`{(]|(?:" + BARE_COMMANDS + "|" + WORD_COMMANDS + r")\b|[a-z][\w.-]*[ \t]+(?:-{1,2}[a-z]|/))",
         variants="rds", validator="separator_command", level=2, context="data", lines=True),
    # A command line where a value belongs.
    Rule(CMD, "command_in_value",
         r"^\s*['\"]?(?:(?:sudo|time|nohup|strace|ltrace|env|exec|nice|timeout\s+\d+|busybox|xargs)\s+)*(?:" + ATTACK_COMMANDS + r")\s*['\"]?\s*(?:$|[;&|<>])|"
         # cmd's escape or a redirection before a command no word is named
         # like: ^whoami, <ifconfig (a fuzzer's probe where a value belongs)
         r"^\s*[\^<]\s*(?:" + ATTACK_COMMANDS + r")\s*(?:$|[;&|<>/])|"
         r"^\s*['\"]?(?:(?:sudo|time|nohup|strace|ltrace|env|exec|nice|timeout\s+\d+|busybox|xargs)\s+)*(?:" + BARE_COMMANDS + r")\s+"
         r"(?:-{1,2}[a-z]|[/~$]|\.{1,2}/|https?://|\d+\.\d+\.\d+\.\d+|[<>|;&])|"
         r"^\s*['\"]?(?:(?:sudo|time|nohup|strace|env|exec)\s+)*(?:" + WORD_COMMANDS + r")\s+(?:-{1,2}[a-z]|[/~$]|\.{1,2}/)|"
         # a tool that calls out, at a host
         r"^\s*['\"]?(?:nslookup|wget|curl|ncat|netcat|socat|nc|telnet|tftp)\s+[\w-]+(?:\.[\w-]+)+|"
         r"^\s*['\"|;&]*\s*(?:/usr(?:/local)?)?/s?bin/[\w.-]+(?:\s|$|[;&|'\"])|"
         # a time probe: sleep N and nothing else
         r"^\s*['\"]?(?:sleep|usleep)\s+\d+\s*['\"]?\s*(?:$|[;&|#])",
         variants="rds", level=2, context="data"),
    # Session 15: a path whose last character is a pipe (../../usr/bin/env|,
    # /bin/ls|): Perl's two-argument open and Ruby's Kernel#open run it as a
    # command and read its output; no file is named with a pipe at its end.
    Rule(CMD, "command_in_value", r"^\s*['\"]?[\w.~/\\-]*[/\\][\w.+-]+\s*\|\s*['\"]?\s*$",
         variants="rds", level=2, context="data"),
    # A redirection or cmd's escape, a command line, a separator at the
    # value's end (<ping -i 30 127.0.0.1;, <uname -n -s%0A): a fuzzer's
    # probe where a value belongs, whatever the command.
    Rule(CMD, "command_in_value",
         r"^\s*[\^<]\s*(?:" + BARE_COMMANDS + "|" + WORD_COMMANDS + r")\b[^;&|\r\n<>]{0,60}(?:;|%0a|%0d|\r|\n)+\s*$",
         variants="rd", level=2, context="data"),
    # A shell function defined and called in a value (f(){ f|f& };f, the
    # fork bomb in any spelling).
    Rule(CMD, "shell_plumbing", r"(?:^|[\s;&|])(?:\b\w+|[:.])\s*\(\)\s*\{[^{}]{0,200}\}\s*;\s*(?:\w+|[:.])\s*$",
         variants="rd", level=2, context="data"),
    # Server-side includes that run a command or read a file.
    Rule(CMD, "server_side_include", r"<!--\s*#\s*(?:exec|include|echo|config|fsize|flastmod)\s+(?:cmd|cgi|file|virtual|var)\s*=",
         variants="rd", level=1),
    # Interpreters and evaluators.
    Rule(CMD, "interpreter",
         r"\b(?:system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|eval|assert|execsync|spawnsync|execfile|"
         r"os\.system|os\.popen|subprocess\.(?:call|run|popen|check_output)|runtime\.getruntime\(\)\.exec)\s*\(\s*['\"`$\w\\\[]|"
         r"\bphpinfo\s*\(\s*\)|"
         r"\b(?:python[23]?(?:\.\d+)?|php\d?|perl|ruby|node|nodejs|lua\d*|deno|bun|osascript|tclsh|jrunscript|irb|pwsh|powershell(?:\.exe)?)\s+"
         r"(?:-\w+\s+)*-(?:c|r|e|E|-eval|p|command|enc(?:odedcommand)?)\b|\b(?:g|n|m)?awk\b.{0,40}\bsystem\s*\(|"
         r"\brequire\s*\(\s*['\"]child_process['\"]\s*\)|\b__import__\s*\(\s*['\"](?:os|subprocess|pty)['\"]|"
         # Crystal's evaluator; PHP's backtick operator (a shell command) in a
         # tag: <?=`$_GET[0]`?>
         r"\bcrystal\s+eval\s+['\"]|<\?(?:php\b|=)?\s*(?:echo\s+|print\s+)?`[^`]{1,200}`|"
         # a socket opened to a literal address and port: a reverse shell's
         # first line in any language (c.connect("198.51.100.7", 4444))
         r"\.connect\s*\(\s*\(?\s*['\"](?:\d{1,3}\.){3}\d{1,3}['\"]\s*,\s*\d{2,5}\s*\)",
         variants="rds", level=2, context="data"),
    # Windows cmd and PowerShell.
    Rule(CMD, "windows_command",
         r"\bcmd(?:\.exe)?\s*/[ckr]\b|\b(?:powershell|pwsh)(?:\.exe)?\s+(?:-\w|[a-z]+-[a-z]+|[\"'{&]|[a-z]:\\|\.{0,2}[/\\])|\biex\s*(?:[($'\"{\[]|$)|\biex\s+(?:-|[a-z]+-[a-z]|\S*[\\/:.])|\binvoke-expression\b|"
         # a cmdlet that runs, reads or calls out, with an argument or alone
         # (not "Get-Process help": a search for its documentation)
         r"\b(?:invoke-(?:webrequest|restmethod|command|item|wmimethod)|get-(?:content|childitem|process|wmiobject|ciminstance|localuser|itemproperty)|"
         r"start-(?:process|sleep|bitstransfer)|set-executionpolicy|resolve-dnsname|test-connection|add-mppreference|set-mppreference)"
         r"(?:\s*(?:$|[;|&)}'\"(])|\s+(?:-\w|['\"$(]|\S*[\\/:.]))|"
         # PowerShell building what it runs: &('i'+'ex'), .("{1}{0}"-f..), &(gcm *ke-e*),
         # [char]105+.., -join[char[]](..), FromBase64String, sal x iex
         r"[&.]\s*\(\s*(?:['\"][\w{}-]*['\"]\s*[+-]|gcm\b|get-command\b|\$env:)|&\s*\$env:comspec\b|\$executioncontext\.invokecommand\b|"
         r"-join\s*\[char\[\]\]|\[char\]\s*\d+\s*\+|\[convert\]::frombase64string\b|\[system\.diagnostics\.process\]::start\b|"
         r"\b(?:sal|set-alias|new-alias)\s+\w+\s+(?:iex|invoke-expression)\b|"
         # any cmdlet after a separator, alone, before an option, a variable or a bracket
         r"(?:[;&|\n`]|%0a|\$\()\s*(?:get|set|new|remove|start|stop|invoke|test|add|clear|copy|move|out|write|import|export|enable|disable|"
         r"resolve|restart|register|find|format|convertto|convertfrom|expand|compress|install|uninstall|select|where|foreach)-[a-z]{2,}"
         r"(?:\s*(?:$|[;&|)`])|\s+[-$(\w]|\s*\()|"
         # cmd's environment substrings and substitutions: %COMSPEC:~-7,1%, %PATH:x=y%
         r"%[a-z_]\w*:~\s*-?\d+\s*(?:,\s*-?\d+\s*)?%|%[a-z_]\w*:[^%=\s]{1,20}=[^%\s]{0,20}%|"
         # a program of Windows' own by its path
         r"(?:[a-z]:|%(?:systemroot|windir)%)\\(?:windows\\)?(?:system32|syswow64)\\[\w-]+\.(?:exe|com|bat|cmd)\b|"
         r"\bnew-object\s+(?:system\.)?net\.(?:webclient|sockets)|\bdownload(?:string|file)\s*\(|\bnet\s+(?:user|localgroup|view|share|use)\b|"
         r"\bwhoami\s*/\w+|\b(?:tasklist|systeminfo|ipconfig|certutil|bitsadmin|regsvr32|rundll32|mshta|wmic|cscript|wscript)\b|"
         # Windows commands that look around a host or a domain
         r"\b(?:netsh|nbtstat|nltest|dsquery|gpresult|schtasks|wevtutil|vssadmin|bcdedit|icacls|cacls|driverquery|getmac|qwinsta|quser|"
         r"cmdkey|klist|setspn|fsutil)(?:\.exe)?\b|\broute\s+print\b|\bsc(?:\.exe)?\s+(?:query|qc|config|create|start|stop|delete)\b|\barp\s+-a\b|"
         r"\breg(?:\.exe)?\s+(?:query|add|delete|save)\b|\b(?:type|dir|more|copy|del)\s+[a-z]:\\|%comspec%|"
         r"\bfor\s+(?:/[dflr]\s+(?:\"[^\"]*\"\s+)?)?%+(?:\w+|[\w\W])\s+in\s*\(|\bif\s+(?:/i\s+)?(?:not\s+)?(?:errorlevel|exist|defined)\s+\S|\bif\s+/i\b",
         variants="rds", level=2, context="data"),
    # Shell plumbing no value holds: piping into a shell, here-strings,
    # command substitution, glob-spelled paths.
    Rule(CMD, "shell_plumbing",
         r"\|\s*(?:sudo\s+)?(?:/[\w/]*/)?(?:ba|z|da|k|c|tc|fi|a|yash|mk)?sh(?:\s|$|[;&|)`'\"])|\b(?:ba|z|da|k)?sh\s*<<<|\w\s*<<<\s*\S|"
         r"\|\s*(?:python[23]?|perl|ruby|php|node|lua)\s*(?:-\s*)?$|"
         r"(?:[\w;&|=({}.]`|\$\(\s*['\"]?)(?:[\w.-]*/)?(?:" + BARE_COMMANDS + "|" + WORD_COMMANDS + r")['\"]?(?:\s|`|\)|$)|"
         r"^`\s*(?:[\w.-]*/)?(?:" + BARE_COMMANDS + "|" + WORD_COMMANDS + r")(?:\s[^`]*)?`\s*(?:$|[;&|])|"
         r"(?:^|[\s;&|`(=])/[\w?*\[\]-]*[?*\[][\w?*\[\]-]*/|(?:^|[\s;&|`(=])/(?:usr/)?s?bin/[\w-]*[?*\[]|\$\[[^\]]{1,40}\]|"
         r"(?:\b\w+|[:.])\s*\(\)\s*\{[^}]{0,200}\|[^}]{0,200}&\s*\}|\balias\s+[\w.-]+=|\w``\w|\w\$\(\)\w?|"
         # a variable assigned, then run as the command: X=$'id';$X
         r"\b[a-z_]\w*=[^;&|\n]{0,80}(?:;|&&?|\|\|?|\n)\s*\$\{?[a-z_]\w*(?:,,|\^\^|~~)?\}?(?:\s*(?:$|[;&|`)])|\s+[-/\w])",
         variants="rds", level=2, context="data"),
    # Command and process substitution of any command in a value: a lower-case word
    # (commands are; make's and CI's $(VAR) references are not), not
    # jQuery's $(document).x
    Rule(CMD, "substitution_in_value",
         r"(?:\w|[;&|]\s*)`\s*[a-z][a-z0-9_.-]*(?:\s[^`\n]*)?`|\$\(\s*[a-z][a-z0-9_.-]*(?:\s[^)\n]*)?\)(?:$|[^.\w])|"
         r"<\(\s*(?:" + BARE_COMMANDS + "|" + WORD_COMMANDS + r")(?:\s[^)\n]*)?\)",
         variants="rds", level=2, context="data", caseless=False),
    # Shellshock: a function definition where a header or value belongs.
    Rule(CMD, "shellshock", r"\(\s*\)\s*\{\s*:?\s*;?\s*\}\s*;", variants="rd", level=1),
    # Session 12: the value read as a shell reads it, by structure
    # (L{akto_proxy.inspect.checks.shell.commandInValue}), where a shell
    # would give a character meaning: a separator before what may start a
    # command, an expansion or a substitution, a here-string, a word spelled
    # with quotes inside it, a glob-spelled path, or a program's name
    # opening the value.
    Rule(CMD, "shell_structure", _SHELLISH, variants="rd", level=2, context="data", validator="shell_structure"),
    Rule(CMD, "shell_structure", r"[\r\n][ \t]*['\"]?[\w./\\~$`{(-]",
         variants="rd", level=2, context="data", validator="shell_structure", lines=True),
    # Session 13: code a value builds and hands to an evaluator, read back
    # (L{akto_proxy.inspect.checks.deobfuscate.runsHidden}): a string
    # decoded, reversed or rotated into a shell or eval, cmd's set/call/for
    # with delayed expansion, PowerShell's literals folded into
    # Invoke-Expression; and words PowerShell or cmd would read another way
    # (ticks, environment substrings).
    Rule(CMD, "evaluated_code", _EVALUATED, variants="rd", level=2, context="data", validator="evaluated_code"),
    # Mail-protocol commands after a line break in a value (SMTP, POP3, IMAP).
    Rule(CMD, "mail_command",
         r"[\r\n][ \t]*(?:mail\s+from\s*:|rcpt\s+to\s*:|retr\s+\d|apop\s+\w|"
         r"auth[ \t]+(?:(?:plain|login|cram-md5|xoauth2)|[\w-]+[ \t]+[a-z0-9+/]{4,}[0-9+/=][a-z0-9+/=]{2,})[ \t]*(?:$|[\r\n])|helo\s+\S|ehlo\s+\S|a\d{1,4}\s+(?:login|authenticate|select|examine|fetch|store|copy|uid|search|list|lsub|status|create|delete|rename|append|capability|logout|starttls)\b)"
         # (POP3's TOP only after a protocol line's CRLF: a note's line may begin with "Top 10")
         r"|\r\n[ \t]*top[ \t]+\d+[ \t]+\d+[ \t]*(?:$|\r)",
         variants="rd", level=2, context="data"),
    # Code in a value that an interpreter expands: PHP's complex syntax
    # ({${sleep(3)}}, ${@print(1)}) and Spring's expressions that reach a
    # Java type ( ${T(java.lang.Runtime)...} ).  (A template literal's
    # ${format(x)} is a value's own; a shell function is an alias's body.)
    Rule(CMD, "expression_injection",
         r"\{\$\{[^{}\n]{0,200}\(|\$\{\s*@[a-z_][\w\\]*\s*\(|[$#]\{\s*T\s*\(\s*(?:java|javax|org|com)\.",
         variants="rd", level=2, context="data"),
    # Session 16: a Log4j lookup that reaches JNDI (Log4Shell): ${jndi:..}
    # itself, or the name spelled by lookups to hide it: a lookup whose
    # name is a lookup (${${::-j}ndi:..}, ${${env:X:-j}..}: no shell takes
    # ${${), a letter given by a default or a case lookup (${::-j},
    # ${lower:l}); braces escaped ($\{..\}) as some writers send them.
    # (A configuration's own ${env:LEVEL:-info} or ${sys:x} is not flagged.)
    # Session 18: Commons Text's lookups that run a script or reach out
    # (Text4Shell): ${script:javascript:..}, ${url:UTF-8:http..}, ${dns:..}.
    Rule(CMD, "expression_injection",
         r"\$\\?\{\s*(?:jndi\s*:|\$\\?\{|script\s*:\s*[a-z]+\s*:|url\s*:\s*[\w-]+\s*:\s*[a-z]+://|dns\s*:\s*[a-z]+\s*\|)|\$\\?\{(?:::-|(?:lower|upper)\s*:)[^{}\s\\]{1,2}\\?\}",
         variants="rd", level=2, context="data"),
)  # fmt: skip

# --- path traversal --------------------------------------------------------

_SENSITIVE_FILE = (
    r"(?:etc/(?:passwd|shadow|group|hosts|sudoers|gshadow|issue|crontab|master\.passwd|security/)|proc/(?:self|\d+)/|"
    r"proc/(?:net/|version|cmdline|mounts|sched_debug|kcore|cpuinfo)|"
    r"windows/(?:win\.ini|system32|system\.ini|repair)|boot\.ini|winnt/|\.ssh/|\.aws/|\.kube/config|\.docker/config\.json|"
    r"\.git/config|\.env(?:\.(?:local|prod\w*|dev\w*|staging))?(?:$|[\s'\"?#;%\x00])|web\.config|wp-config\.php|\.htpasswd|\.htaccess|var/log/|root/|var/run/secrets|"
    r"usr/local/|etc/nginx|etc/apache|id_rsa|id_ed25519|"
    r"etc/(?:ssh/|ssl/private|mysql/|my\.cnf|redis/|php|httpd/|fstab|environment|profile|resolv\.conf|hostname|motd|cron|sysctl|ld\.so|"
    r"kubernetes/|docker/|systemd/|pam\.d/|exports|inetd|xinetd|vsftpd|samba/|openvpn/|wireguard/|rancher/|letsencrypt/|pki/|krb5|ldap|"
    r"sssd/|default/|sysconfig/|init\.d/|inittab|mtab|proftpd|pure-ftpd|postfix/|dovecot/|exim|bind/|named|snmp/|squid/|webmin/|supervisor)|"
    r"var/mail/|var/spool/|var/lib/\w|var/www/logs/|"
    # a file a tester reads wherever the server keeps it: credentials and
    # histories, server and PHP configuration, logs, Windows system files
    r"(?:\.(?:(?:bash|zsh|sh|mysql|psql|python|node_repl)_history|lesshst)|\.git-credentials|\.netrc|\.pgpass|\.my\.cnf|ntuser\.dat|pureftpd\.(?:pdb|passwd)|"
    r"[\w.-]*\.keychain(?:-db)?|sitemanager\.xml|tomcat-users\.xml|applicationhost\.config|global\.asa|unattend(?:ed)?\.xml|sysprep\.(?:inf|xml)|"
    r"(?:config\.inc|localsettings|settings\.local)\.(?:conf|ini|cnf|php)|program\s*files/|inetpub/|xampp/|wamp/|lampp/|"
    r"documents\s+and\s+settings/|library/(?:keychains|preferences)/|private/(?:etc|var)/|"
    # a web server's logs (log poisoning): its own tree, or Apache's names
    r"(?:apache\d?|httpd|nginx|lighttpd|xampp|lampp|wamp)/(?:[^\s/]+/)?logs?/|[\w.-]*(?:access?|error)_log\b))"
)

# A server's configuration by its file name alone: a project has its own
# (a compose example's nginx/nginx.conf), reached by a climb of one level
# into a sibling folder; two levels or more leave the workspace's parent.
_SERVER_CONFIG = r"(?:(?:httpd|apache2?|nginx|lighttpd|php-fpm|php|my|redis|pg_hba|postgresql|sshd?_config)\.(?:conf|ini|cnf)|php\.ini)"

# A path into the system rather than a workspace (after its anchor): its
# configuration and credentials, process state, logs, package and server
# trees, home dotfiles, Windows system files, devices and shares.
_SYSTEM_PATH = (
    r"(?:\\\\[.?]\\|(?:\\\\|//)[\w.-]+[\\/](?:[a-z]|admin|ipc)\$|%(?:systemroot|windir|systemdrive)%|"
    r"(?:/var)?/run/docker\.sock|/tmp/sess_\w|/var/lib/php\d?/sess|/(?:private/)?etc/[\w.-]|/proc/(?:self|\d+|net|version|cmdline|mounts|sched_debug|kcore)|/sys/(?:class|kernel|devices|power)|"
    r"/dev/(?:mem|kmem|port|tcp|udp|fd/|stdin|shm/)|/root(?:/|$)|/boot(?:/|\.ini)|(?:/private)?/var/(?:log|mail|spool|backups|adm|lock|db|cpanel|lp|cron|cache/(?:apache|nginx))/|"
    r"/usr/spool/|/usr/lib/security/|/master\.passwd\b|/system32/inetsrv/|/usr/local/(?:pureftpd|proftpd|vsftpd)/|"
    r"/var/run/(?:utmp|secrets)|/var/lib/(?:mysql|pgsql|postgresql|redis|docker|kubelet|jenkins|php|sss|mlocate|dpkg|rpm)|"
    r"/var/(?:adm|yp|account|backups|log)\s*$|/opt/(?:lampp|lamp|xampp|apache\d?|nginx|tomcat\d?)|/var/(?:apache2?|httpd|nginx|www/conf|www/logs)|"
    r"/var/www/[^\s]*\.(?:php|conf|ini|env|config|inc|log|bak)\b|/[^\s?&#]*(?:access?|error)_log\b|/var/[\w.-]+\.log\b|"
    r"/usr/local/(?:pgsql|mysql|samba|apps/apache|www/(?:apache|logs|data))|"
    # Windows paths from the drive's root, written without the drive
    r"/(?:documents\s+and\s+settings|program\s*files|sysprep|unattend|system\s+volume\s+information|\$recycle\.bin)\b|"
    r"/usr/(?:local/)?(?:etc|pkg/etc|apache\d?|httpd|nginx|cpanel|psa|lib/php|php\d?|lsws|www/logs|zeus|sbin|ports|home)(?:/|$)|/usr/(?:local/)?lib/php\.ini|"
    # (a home's credentials and histories; not a project's .env.example or
    # .htaccess where a home is the workspace)
    r"/(?:home\d?/[^/\s]+/|users/[^/\s]+/|root/)?\.(?:ssh|aws|gnupg|kube|docker|bash_history|zsh_history|history|netrc|git-credentials|pgpass|mysql_history|pypirc|npmrc|htpasswd|"
    r"shosts|rhosts|xauthority|passwd)\b|"
    r"/(?:home\d?/[^/\s]+/|users/[^/\s]+/|root/)?\.env(?:\.(?:local|prod\w*|dev\w*|staging))?(?:$|[\s'\"?#;%\x00])|/\.htaccess\b|"
    r"/users/[^/\s]+/library/keychains/|/library/keychains/|"
    r"/?[a-z]:(?:windows|winnt)/|/?[a-z]:/+(?:windows|winnt|system32/inetsrv|boot\.ini|inetpub|xampp|wamp|apache|nginx|lighttpd|php|mysql|program\s*files|sysprep|var/(?:log|www)|system\s+volume\s+information|\$recycle\.bin|log|home\d?|etc|opt|unattend|"
    r"documents\s+and\s+settings|users/[^/\s]+/(?:ntuser|appdata|_netrc|\.(?:ssh|aws|azure|kube|docker|gnupg|git-credentials|netrc|npmrc|pypirc|pgpass|config/gcloud|bash_history)\b))|"
    r"[a-z]:/+[^/\s]*\.(?:ini|inf|log|conf|asa|config|sys|dat|bat)\s*$|~/\.(?:ssh|aws|gnupg|kube|docker|bash_history|zsh_history|netrc|git-credentials|pgpass|config/gcloud|shosts|rhosts|xauthority|passwd\b))"
)

#: a run of climbs where a path starts (a line's start, a separator, a
#: quote), taken whole; then up to 200 characters of a path and a C{/}
#: before the file (scanner.ClimbToFile reads the two apart)
CLIMB = r"(?:^|(?<!\.\.)[/=\s'\"(:])(?:\.\./)++"
CLIMB_PATH = r"(?:[^\s'\"]{0,200}/)?"

PATH_RULES = (
    # (a climb that leaves where the path starts: paths.leavesStart)
    Rule(PATH, "traversal_to_sensitive_file",
         r"(?:^|[/=\s'\"(:])\.\./(?:[^\s'\"]{0,200}/)?" + _SENSITIVE_FILE,
         variants="rdp", validator="leaves_start",
         # (re starts once per run of ../ and takes the run whole: the
         # pattern above, tried at every ../ of 100 KB of them, took 1.8 s)
         confirm=CLIMB + CLIMB_PATH + _SENSITIVE_FILE,
         # (and each place after a / is asked about a file once: re tried
         # the file's names at every / within 200 characters of each climb,
         # 6 s on 100 KB of /../ with /etc/passwd at its end)
         matcher="climb_to_file"),
    Rule(PATH, "traversal_to_sensitive_file",
         r"(?:^|[/=\s'\"(:])\.\./\.\./(?:[^\s'\"]{0,200}/)?" + _SERVER_CONFIG,
         variants="rdp", validator="leaves_start", confirm=r"[/\\]" + _SERVER_CONFIG),
    Rule(PATH, "root_escape", r"\.\./", variants="rdp", validator="root_escape"),
    Rule(PATH, "encoded_traversal",
         # (overlong UTF-8 percent-encoded twice too: %25c0%25ae, %25c1%259c)
         r"(?:%2e|%252e|%c0%ae|%25c0%25ae|%e0%80%ae|%u002e|\\u002e|&#0*46;|&#x0*2e;){2}\s*(?:/|\\|%2f|%5c|%252f|%255c|%c0%af|%25c0%25af|%25c1%259c|%u2215|%u002f|\\u002f)|"
         r"\.\.(?:%2f|%5c|%252f|%255c|%c0%af|%c1%9c|%25c0%25af|%25c1%259c|%u2215|%u2216|\\u002f)|(?:%2e|%252e){2}(?:$|[/\\?&])|"
         r"(?:%2e|%252e)\.(?:/|\\|%2f|%5c)|\.%2e(?:/|\\|%2f|%5c)",
         variants="r"),
    # (session 16: ./ segments between the climbs, any number: ../././../)
    # (session 17: Tomcat's ..;param/; .\\ segments between doubled backslashes, ..\\.\\..; a
    # climb whose dots and slashes are escaped as in a regex or a JSON
    # string, \.\.\/\.\.\/)
    Rule(PATH, "filter_bypass", r"(?:\.{3,}[/\\]){2,}|\.\.\.\.(?:/|\\){1,2}|\.\.;[^/\\\s]{0,32}[/\\]|\.\.\\\\\.\.|\.\./(?:\./){1,8}\.\./|\.\.\./\./|"
         r"\.\.\\\\(?:\.\\\\){1,8}\.\.|\\\.\\?\.\\/(?:\\?\.){2}\\/", variants="rdp",
         # (its first alternative tried from each dot of a run, 3 s for
         # 16,000 dots: re's matches, from a run's first dot only)
         matcher="first_of_run"),
    # climbs spelled with blanks around the separator (.. / .. / etc / passwd),
    # which a server that strips blanks reads as ../../
    Rule(PATH, "filter_bypass", r"(?:\.\.(?:[ \t]+[/\\][ \t]*|[/\\][ \t]+)){3}", variants="rd", level=2, context="data"),
    Rule(PATH, "nul_byte",
         r"\.\w{1,8}(?:%00|\\0{1,3}(?:$|[^\w\\/-])|\\x00|\\u0000|\x00)|(?:%00|\x00)\.\w{1,8}\b|\.\./[^\s]*(?:%00|\x00)",
         variants="rd",
         # (the NUL's own span where Hyperscan saw a climb before it: C{re}
         # would scan to the end again from every ../ of a long climb)
         confirm=r"\.\w{1,8}(?:%00|\\0{1,3}(?:$|[^\w\\/-])|\\x00|\\u0000|\x00)|%00|\x00"),
    # (reported once per message, and a run of them is one span: a Hyperscan
    # callback and a Python match per NUL cost 1.5 s per MiB of zeros)
    # A NUL that cuts a path or a file name (what stands beside it says so:
    # paths.nulTruncation); a NUL alone or between words is no truncation
    Rule(PATH, "nul_byte", r"\x00|%00", variants="rd", level=2, severity="medium", single=True, confirm=r"(?:\x00|%00)+",
         validator="nul_truncation"),
    Rule(PATH, "absolute_sensitive_path",
         r"(?:^\s*|=|file://)(?:/etc/(?:passwd|shadow|sudoers|gshadow|master\.passwd|security/opasswd)\b|"
         r"/proc/(?:self|\d+)/(?:environ|cmdline|mem|maps|fd/)|/root/\.|/home/[^/\s]+/\.ssh/|~/\.ssh/|/var/run/secrets/|"
         r"/run/secrets/|[a-z]:[/\\]+boot\.ini|[a-z]:[/\\]+windows[/\\]+(?:system32[/\\]+config|win\.ini|repair)|[/\\]boot\.ini|"
         r"~/\.aws/credentials|/\.aws/credentials|~/\.kube/config|/etc/kubernetes/)",
         variants="rdp", validator="sensitive_location"),
    Rule(PATH, "absolute_sensitive_path", r"file:///(?:etc|proc|root|home|var|c:|windows)", variants="rd"),
    # (a path, not words about one: paths.judge)
    Rule(PATH, "absolute_sensitive_path",
         r"(?:^|[\s=\"'(])~?/\.ssh/id_(?:rsa|dsa|ecdsa|ed25519)\s*(?:$|[\"')])|/etc/shadow\b|/proc/self/environ",
         variants="rdp", level=2, validator="sensitive_location"),
    Rule(PATH, "absolute_sensitive_path",
         r"(?:^|[\s=\"'(])(?:/etc/(?:passwd|shadow|sudoers|hosts|group)|/proc/self/|/root/|c:\\windows\\)",
         variants="rdp", level=3, severity="medium"),
    # A value that is a path into the system rather than a workspace: its
    # configuration and credentials, process state, logs, Windows system
    # files; no ".." needed.  At the value's start, or as a parameter of a
    # URL's query that names a file (?file=/etc/crontab, ?page=C:\boot.ini).
    Rule(PATH, "absolute_sensitive_path",
         r"(?:^\s*['\"]?|[?&;][\w.\[\]-]*(?:file|path|page|inc|include|template|tpl|doc|dir|folder|load|read|view|show|download|src|img|image|"
         r"lang|locale|conf|config|log|style|theme|layout|module|resource|name|url|uri|location|item)[\w.\[\]-]*=\s*|[?&;](?:f|p|fn|fp)=\s*)"
         # (or the same on a mounted disk of a Mac: /Volumes/Backup/private/etc/...)
         r"(?:file:/*(?:localhost|127\.0\.0\.1)?/?)?(?:/volumes/[^/\n]+)?" + _SYSTEM_PATH,
         variants="rdp", level=2, context="data"),
    # A web server's layout, at the value's start only (a URL's ?next=/admin/
    # is a page of the site)
    Rule(PATH, "absolute_sensitive_path",
         r"^\s*['\"]?(?:file:/*(?:localhost|127\.0\.0\.1)?/?)?(?:"
         r"[^\s]*tomcat-users\.xml|/(?:srv|home)/www/[^\s]*\.(?:php|conf|ini|env|config|inc|log|bak)\b|/(?:srv|home)/www/logs/|/library/webserver/|/applications/xampp/|"
         r"/(?:apache\d?|httpd|nginx|php\d?|xampp|lampp|wamp|winnt|windows|inetpub|logs?)(?:/|$)|"
         r"/home\d+/|/(?:include|includes|inc|config|conf|admin|phpmyadmin|wp-content|wp-admin|wp-includes|cgi-bin|server-status)(?:/|$)|"
         r"/(?:configuration|config|settings|wp-config|local|database|db|connect|conn|connection)\.(?:php|inc|xml|ini|yml|yaml)\s*$)",
         variants="rdp", level=2, context="data"),
    Rule(PATH, "absolute_sensitive_path",
         r"(?:^|[/\\])\.(?:ssh/(?:id_\w+|authorized_keys|known_hosts)|aws/credentials|(?:bash|zsh|sh|mysql|psql)_history|git-credentials|netrc|pgpass|htpasswd|"
         r"docker/(?:config\.json|secrets)|kube/config)\b|"
         # files every project has too (.npmrc, .git/config, a .history
         # folder): the user's own, in a home directory
         r"(?:^|[/\\])(?:~|root|home\d?[/\\][^/\\\s]+|users[/\\][^/\\\s]+)[/\\]\.(?:npmrc|pypirc|history|gitconfig|git[/\\]config)\b|"
         r"^\s*(?:etc/(?:passwd|shadow|sudoers|group|hosts|gshadow|issue|crontab|master\.passwd|security/|mysql/|my\.cnf|ssh/|ssl/private|fstab|"
         r"environment|profile|resolv\.conf|hostname|motd|sysctl|pam\.d/|x?inetd|vsftpd|samba/|proftpd|postfix/|httpd/(?:logs|conf/httpd\.conf)|"
         r"apache2?/(?:apache2?|httpd)\.conf|nginx/nginx\.conf|php[\d.]*/(?:[^\s]*/)?php\.ini)|proc/(?:self|\d+|net)/|proc/(?:version|cmdline|mounts)|"
         r"var/log/(?:apache2?|httpd|nginx|lighttpd|auth|syslog|messages|secure|mail|kern|boot|dmesg|faillog|lastlog|wtmp|btmp|cron|daemon|xferlog|vsftpd|proftpd|mysql)|"
         r"var/run/secrets/|usr/local/(?:apache\d?|etc|nginx|php)/|opt/(?:lampp|xampp)/|var/www/logs/)|"
         # a web server's logs and Windows' trees, relative to the root
         r"^\s*(?:(?:usr/local/|opt/)?(?:apache\d?|httpd|nginx|lighttpd|xampp|lampp|wamp)/(?:[^\s/]+/)?logs?/|[^\s]*(?:access?|error)_log\s*$|"
         r"program\s*files/|inetpub/|documents\s+and\s+settings/)",
         variants="rdp", level=2, context="data"),
    # A .env file outside a project of a home directory (/app/.env,
    # C:/app/.env, /var/www/html/.env): a deployment's secrets; a developer's
    # project keeps its own (/home/dev/shop/.env: validators.outsideHomeProject)
    Rule(PATH, "absolute_sensitive_path", r"(?:^|[/\\])\.env(?:\.(?:local|prod|production|dev|development))?\s*$",
         variants="rdp", level=2, context="data", validator="outside_home_project"),
    # Session 15: the root of a drive or a file URL's root as a whole value
    # (c:\, d:/, file:///): a probe of where a file argument leads, not a
    # file to a tool that reads, opens or renders one; a tool that lists,
    # copies to, backs up to or works in a directory may be given one
    # (threats: by the tool's name; a bare / is a route, a separator, a
    # prefix in too many values to count).
    Rule(PATH, "root_probe", r"^\s*['\"]?(?:file:(?:/{2,3}|\\{2,3})|[a-z]:[/\\]+)\s*['\"]?\s*$",
         variants="rd", level=2, context="data", validator="root_probe"),
    # The files every traversal list ends in, anywhere in a value (after a
    # command, a quote or a separator: \'/bin/cat /etc/passwd\')
    Rule(PATH, "absolute_sensitive_path",
         r"(?:^|[\s=\"'(,;|&<>`])(?:/etc/(?:passwd|shadow|gshadow|sudoers|master\.passwd)|/proc/self/(?:environ|cmdline|fd/)|"
         r"[a-z]:[/\\]+(?:windows[/\\]+win\.ini|boot\.ini))(?:$|[\s\"'),;|&<>`%?#\\\x00])",
         variants="rdp", level=2, context="data", validator="sensitive_location"),
    # A remote file to include: a script kept as text, its URL ending where
    # the including server's own suffix would be cut off (?, %00)
    Rule(PATH, "remote_inclusion",
         r"^\s*(?:https?|ftps?)://[^\s?#]+\.(?:(?:txt|inc)(?:\?|%3f|%00|\x00)|(?:php\d?|phtml|sh|asp|aspx|jsp|pl|py|rb)(?:%00|\x00))\s*$",
         variants="rd", level=2, context="data"),
    # A URL whose include parameter (?page=, ?inc=, ?template=) holds the
    # URL of a script or of text, or a wrapper: a remote or encoded file to
    # include (a viewer's ?file=https://.../x.pdf and a ?redirect= are links)
    Rule(PATH, "remote_inclusion",
         r"[?&;](?:page|inc|include|template|tpl|layout)=\s*(?:(?:https?|ftps?)(?::|%3a)(?://|%2f%2f|%252f%252f)[^\s&#]{1,200}?"
         r"(?:\.|%2e|%252e)(?:txt|inc|php\d?|phtml|sh|pl|py|jsp|aspx?)\b|(?:data|php|expect|zip|phar):)",
         variants="r", level=2, context="data"),
    # Stream wrappers: a file read that is no file name.
    Rule(PATH, "stream_wrapper",
         r"\b(?:php|phar|zip|expect|glob|compress\.(?:zlib|bzip2)|zlib|rar|ogg|ssh2\.(?:shell|exec|tunnel|sftp|scp)|jar|netdoc)://\S|"
         # data: as PHP's wrapper (data://), as text, or carrying code;
         # not a picture, a sound or a document sent as data
         r"\bdata://\S|\bdata:text/[\w.+-]+[;,]|\bdata:[^,\s]{0,80},\s*(?:<\?|PD[89])|\bfile:/+(?:(?:localhost|127\.0\.0\.1|\[::1\])/+)?(?:[a-z]:|\.\.|(?:etc|proc|root|var|windows|winnt|sys|dev|boot|private)\b)|\bjar:file:",
         variants="rdp", level=2, context="data"),
    # Evasion no encoder produces: overlong UTF-8, look-alike separators,
    # hex-spelled dots.
    Rule(PATH, "encoded_traversal",
         r"%(?:c[01](?:%[0-9a-f]{2}|\.)|e0%(?:[89][0-9a-f]|[04c]0)%[89ab][0-9a-f]|f0%80%[89ab][0-9a-f]|f8%80%80|fc%80%80)|%u(?:2215|2216|2044|ff0f|ff3c|efc8|f025|ff0e)|"
         r"(?:0x2e){2}(?:/|\\|0x2f|0x5c)|\.\.(?:0x2f|0x5c)|(?:\.\.(?:2f|5c)){2}|"
         # escapes with a digit no hex has, as old IIS decoded them into a
         # separator (..%c1%pc, ..%c0%9v, ..%bg%qf)
         r"(?:\.\.|[/\\]\.)(?:%[0-9a-f]{2})?%(?:[0-9a-f][g-z]|[g-z][0-9a-z])|"
         # an overlong lead byte before one (??%c0%qf): no text is spelled so
         r"%c[01]%(?:[0-9a-f][g-z]|[g-z][0-9a-z])",
         variants="rdp", level=2),
    # A value whose path, read as a file API would (unwrapped, cut at a
    # NUL or a query, separators unified, dots resolved, drives, shares
    # and variables mapped: paths.judge), leads to a sensitive location of
    # paths.LOCATIONS; the pattern only says one of its names is there
    # (confirmed by the judge alone, which reads a value's first 4 KiB:
    # the table's 500 names in Python's re would cost more than the judge)
    Rule(PATH, "sensitive_location", TRIGGER, variants="rdp", level=2, context="data", validator="sensitive_location",
         confirm=r"[/\\~%$]"),
    # letters and digits percent-encoded, which no encoder does (RFC 3986
    # 2.3): a name spelled to slip past a filter
    Rule(PATH, "encoded_traversal", r"(?:%(?:2e|3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a])){4}",
         variants="r", level=2, context="data"),
)  # fmt: skip

# --- data exfiltration: secrets, PII, bulk ----------------------------------

#: commands that store the value they are given as a secret
_SECRET_CLI = (
    # (written with single spaces: whole-phrase literals keep the scan
    # fast; "gh" and "az" alone are in every other English word)
    r"gh secret set|vercel env add|wrangler secret put|docker secret create|"
    r"aws secretsmanager (?:create-secret|put-secret-value|update-secret)|aws ssm put-parameter|"
    r"az keyvault secret set|doppler secrets set|netlify env:set|railway variables set|"
    r"docker login|podman login|helm registry login"
)

#: a type between a name and its value: C{apiKey: string = "..."},
#: C{val token: String = "..."}, C{Dim key As String = "..."}
_TYPED = r"(?:[ \t]*:[ \t]*[A-Za-z][\w.?]{0,20}|[ \t]+as[ \t]+[A-Za-z]\w{0,20})[ \t]*=[ \t]*(?=[\"'])"
#: (for Hyperscan, which has no lookahead: the quote is taken)
_TYPED_SCAN = _TYPED.replace(r"(?=[\"'])", r"[\"']")
#: a name that says secret (its last word, a number or an encoding's name
#: after it) and how a value is given to it: the assignment rule's pattern
#: and its confirmation share them
_SECRET_NAME = (
    r"(?:key|token|secret|password|passwd|passphrase|pwd|pass|auth|authorization|credentials?|creds?|"
    r"salt|signature|dsn|sas|pw|hmac|psk|ps{1,2}wo?r?d|paswo?r?d)[a-z0-9]{0,3}(?:[_.-](?:base|data|value|b64|base64|hex|raw|str|string|encoded|bytes))?[\"'`]{0,2}\]?"
)
_ASSIGNED_BY = r"[ \t]{0,24}(?::{1,2}=?|={1,3}|[?+.]=|=>|\||>)|[\"'`][ \t]{0,3},|,"
#: a quoted value, to its own closing quote (doubled in C# and CSV)
_QUOTED = r"'{1,3}(?:(?:bearer|token|basic)\s+)?[^\s']{6,}|\"{1,3}(?:(?:bearer|token|basic)\s+)?[^\s\"]{6,}|`(?:(?:bearer|token|basic)\s+)?[^\s`]{6,}"

#: (and its closing quote, when it has one: validators.assignedSecret reads
#: a literal closed there as a literal, a password that may be a word)
_QUOTED_CLOSED = _QUOTED.replace("']{6,}", "']{6,}'?").replace('\\"]{6,}', '\\"]{6,}\\"?').replace("`]{6,}", "`]{6,}`?")

#: (the rules below end their value at six characters, which is all
#: Hyperscan needs; C{_whole} reads the value to its end for the validator)
_XML_ELEMENT_SECRET = (
    r"<(?:entry|add|item|setting)\s+(?:key|name)\s*=\s*[\"'][\w.:-]*(?:password|passwd|secret|token|key|pwd|credentials?)[\"']\s*>[^<\s]{6}|"
    r"<[\w:-]*(?:pass|password|passwd|secret|token|pwd)\s+[\w:-]+\s*=\s*[\"'][^\"'<>]{0,40}[\"'][^<>]{0,80}>[^<\s]{6}"
)
_DIRECTIVE_SECRET = (
    r"(?:^|\n)[ \t]*(?:requirepass|masterauth)[ \t]+[\"']?[^\s\"']{6}|(?:\b|_)pat[\"']?[ \t]*[:=][ \t]*[\"']?[^\s\"'$%{<]{6}"
)
_DSL_SECRET = (
    r"\b[a-z]\w*(?:Password|Passwd|Passphrase|Secret|Token)[ \t]+[\"'][^\s\"']{6}"
)
_AUTH_USER_PASS = (
    r"<auth-user-pass>\s*\S+[ \t]*\r?\n[ \t]*\S{6}"
)


def _whole(pattern: str) -> str:
    return pattern.replace("{6}", "{6,}")


#: a setting's name and its value as sibling members: the name member ends in
#: a secret word and its closing quote or line. The scan starts at the
#: secret word, a literal Hyperscan anchors on, not at every C{name} or
#: C{key} of a body; the confirmation reads the name member whole
#: (validators.siblingSecret).
_SIBLING_SECRET = (
    r"(?:key|token|secret|password|passwd|passphrase|pwd|pass|auth|authorization|credentials?|salt|pat|psk|hmac)"
    r"(?:[\"'][ \t]*,?[ \t]*\r?\n?|\r?\n)[ \t]*"
    r"[\"']?(?:value|parametervalue)[\"']?[ \t]*[:=][ \t]*[\"']?(?:(?:bearer|token|basic)[ \t]+)?[^\s\"'{}]{6}"
)
_SIBLING_NAME = r"\b(?:name|key|parameterkey|variable)[\"']?[ \t]*[:=][ \t]*[\"']?"
#: a member between them that says what the value is (AWS SSM's
#: C{"Type": "SecureString"}: secret whatever its name) or nothing (Azure's
#: C{"slotSetting": false}), anchored on that member's name
_SIBLING_MEMBER = (
    r"\"(?:slotsetting\"[ \t]*:[ \t]*(?:true|false)|type\"[ \t]*:[ \t]*\"securestring\")[ \t]*,[ \t]*\r?\n?[ \t]*"
    r"\"value\"[ \t]*:[ \t]*\"[^\"\s]{6}"
)
#: an environment variable named after the service whose key it holds
#: (C{STRIPE=}, C{OPENAI=}, C{export TWILIO=}, compose's C{- PUSHER=}) or
#: ending in a word that says key without saying secret (C{_SK}, C{_API},
#: C{_LICENSE}, C{_SIGNING}): the name is the literal the scan starts at,
#: the value must be a key's (validators.envSecret)
_ENV_SERVICE = (
    r"(?:STRIPE|OPENAI|ANTHROPIC|TWILIO|SENDGRID|MAILGUN|MAILCHIMP|MANDRILL|POSTMARK|SPARKPOST|RESEND|PUSHER|ALGOLIA|MAPBOX|"
    r"SENTRY|DATADOG|NEWRELIC|CLOUDINARY|FIREBASE|SUPABASE|VERCEL|NETLIFY|HEROKU|SHOPIFY|PAYPAL|BRAINTREE|PLAID|"
    r"SEGMENT|MIXPANEL|AMPLITUDE|INTERCOM|ZENDESK|HUBSPOT|AIRTABLE|NOTION|COHERE|REPLICATE|HUGGINGFACE|PINECONE|"
    r"GROQ|MISTRAL|DEEPSEEK|GEMINI|ELEVENLABS|PERPLEXITY|OPENROUTER|FIREWORKS|VONAGE|NEXMO|PLIVO|MESSAGEBIRD|"
    r"CONTENTFUL|STORYBLOK|UPSTASH|CLERK|LOGTAIL|HONEYCOMB|ROLLBAR|BUGSNAG|LAUNCHDARKLY|DOPPLER|CIRCLECI|TRAVIS|"
    r"SNYK|CODECOV|SONAR|GITHUB|GITLAB|SLACK|DISCORD|TELEGRAM|DROPBOX|ASANA|TRELLO|CLICKUP|LINEAR|"
    r"_SK|_API|_LICEN[CS]E|_SIGNING|_WEBHOOK|_MASTER|_PRIVATE|_SERVICE_ROLE)"
)
#: a JSON document inside a JSON string, its quotes escaped (AWS Secrets
#: Manager's C{SecretString}, a log line holding a serialised config): the
#: secret word and its escaped quote are the literal
_ESCAPED_SECRET = (
    r"(?:key|token|secret|password|passwd|passphrase|pwd|pass|auth|credentials?|salt|dsn)\\\"[ \t]*:[ \t]*\\\"[^\s\"\\]{6}"
)
#: a Terraform output its module marked sensitive, as a state file and
#: C{terraform output -json} write it (members in either order)
_SENSITIVE_OUTPUT = (
    r"\"sensitive\"[ \t]*:[ \t]*true[ \t]*,\s{0,40}\"type\"[ \t]*:[ \t]*\"string\"[ \t]*,\s{0,40}\"value\"[ \t]*:[ \t]*\"[^\"\s]{6}|"
    r"\"value\"[ \t]*:[ \t]*\"[^\"\s]{6,200}\"[ \t]*,\s{0,40}\"type\"[ \t]*:[ \t]*\"string\"[ \t]*,\s{0,40}\"sensitive\"[ \t]*:[ \t]*true"
)
#: (the name, then C{=} with no blank: a literal of its own; blanks or a
#: colon between made the clean scans slower)
_ENV_SECRET = _ENV_SERVICE + r"=[\"']?[A-Za-z0-9+/_-]{24}"


#: (before a base64 key: not inside a longer run)
_KEY_START = r"(?:^|[^\w+/-])"
#: a lowercase vendor prefix of up to ten characters and up to two more
#: short parts, then a body of 32 or more (20 after a mode: live, test...);
#: starts after a blank, a quote or an assignment, not inside a word or a path
_PREFIXED_TOKEN = (
    r"(?:^|[\s\"'`=:(,\[{>])[a-z][a-z0-9]{1,9}_(?:(?:[a-z0-9]{1,8}_){0,2}[A-Za-z0-9][\w-]{31}|(?:live|test|prod|sandbox|v\d)_[A-Za-z0-9][\w-]{19})"
)
#: what Hyperscan looks for first: the body after the last underscore, or a
#: mode's (C{re} then reads L{_PREFIXED_TOKEN} whole).  Started at every
#: word, the prefix made the response scan of clean bodies four times as
#: slow (1 MiB of prose: 1.4 -> 5 ms); at an underscore it costs nothing
_PREFIXED_TOKEN_BODY = r"_[A-Za-z0-9][\w-]{31}|(?:live|test|prod|sandbox|v\d)_[A-Za-z0-9][\w-]{19}"
#: a secret's word, blanks, the value (no C{=} or C{:}: assigned_secret's)
_SPACED_SECRET = (
    r"(?:secret|token|api[_ -]?key|access[_ -]?key|private[_ -]?key|passwd|password|\bkey[ \t]+is)[ \t]+(?:(?:key|token|code|-)[ \t]+)?[\"']?[A-Za-z0-9+/_.=-]{20}"
)
#: a word naming a service, a blank (a dash between, as a list writes it),
#: then a quoted value (C{testingbot '<value>'}, C{kanbantool - '<value>'},
#: C{vouchery - "<value>"}). (The scan looks for the word's last letter
#: only, the confirmation reads it whole: a word of bounded length made
#: large clean bodies' scans half as slow again; and a double quote only
#: after a dash: a letter, a blank and a double quote before any 20
#: characters cost 40% on a JSON body's.)
_NAMED_KEY = r"[a-z0-9][ \t](?:-[ \t])?'[A-Za-z0-9_+/=.-]{20}|[a-z0-9][ \t]-[ \t]\"[A-Za-z0-9_+/=.-]{20}"
_NAMED_KEY_WHOLE = (
    r"(?<![^\s,;(\[{])[a-z][a-z0-9]{2,24}[ \t](?:(?:-[ \t])?'[A-Za-z0-9_+/=.-]{20,100}'|-[ \t]\"[A-Za-z0-9_+/=.-]{20,100}\")"
)
#: a credential element of Jenkins' XML holding a value in braces, as
#: Jenkins writes what it encrypted (credentials.xml, a job's config.xml)
_JENKINS_ELEMENT = r"<(?:secret|password|privateKey|passphrase|apiToken|token)>\{[^}<\n]{20}"
#: an .npmrc credential scoped to a registry
_NPMRC_CREDENTIAL = r"//[^\s:]{0,200}:_(?:auth|password|authToken)[ \t]*=[ \t]*[\"']?[^\s\"']{6}"
#: a private key in DER read as text (bytes no UTF-8 decoder takes became
#: U+FFFD): a SEQUENCE (its length's bytes), then PKCS#12's version 3 and
#: PKCS#7 data, or PKCS#8's version 0 and the key's algorithm (RSA, EC,
#: Ed25519); an ASCII length byte or a replaced one
_REPLACED = "\ufffd"
_DER_LENGTH = "(?:" + _REPLACED + r"|[\x00-\x7f]){1,3}"
#: the OID arc 1.2.840.113549.1 (RSA Data Security's PKCS), as it reads
_PKCS_ARC = r"\*" + _REPLACED + "H" + _REPLACED * 2 + r"\r\x01"
_DER_PRIVATE_KEY = (
    "0" + _DER_LENGTH + r"\x02\x01\x030" + _DER_LENGTH + r"\x06\t" + _PKCS_ARC + r"\x07[\x01\x06]|"
    "0" + _DER_LENGTH + r"\x02\x01\x000" + _DER_LENGTH
    + r"(?:\x06\t" + _PKCS_ARC + r"\x01\x01\x05\x00\x04|\x06\x07\*" + _REPLACED + "H" + _REPLACED + r"=\x02\x01|\x06\x03\+ep\x04)"
)
#: a key named by two words in prose, then a colon or =: C{access key:
#: V}, C{Authentication key : V} (validators.keyPhrase)
_KEY_PHRASE = (
    r"\b(?:secret|access|api|auth|authentication|private|encryption|signing|master|licen[cs]e|activation)[ \t]+key[ \t]*[:=][ \t]*[\"']?[^\s\"'`,;|<>]{6}"
)
#: the literal a secret's variable falls back to when it is unset: after
#: C{||}, C{??}, C{?:} or C{or} (C{process.env.API_KEY || "V"},
#: C{os.environ.get("PASSWORD") or "V"}), as a C{default=} argument
#: (C{env("SECRET_KEY", default="V")}), in the shell's C{${DB_PASSWORD:-V}}
#: (validators.defaultSecret)
_DEFAULT_AFTER = (
    _SECRET_NAME + r"(?:[\"'`)\]]{0,3}[ \t]*(?:\|\||\?\?|\?:|\bor\b)|[\"'`][ \t]*,[ \t]*default[ \t]*=)[ \t]*[\"'`][^\s\"'`]{6}"
)
_DEFAULT_SHELL = r"\$\{\w{0,60}" + _SECRET_NAME + r":?[-=][^\s}\"'`]{6}"
_DEFAULT_SECRET = _DEFAULT_AFTER + "|" + _DEFAULT_SHELL
#: (the confirmation reads any name whole and leaves it to the validator:
#: the secret words' alternation tried at each of a name's characters
#: made it twice as slow)
_DEFAULT_READ = (
    r"(?<![\w.-])[\w.-]{1,80}[\"'`)\]]{0,5}[ \t]*(?:\|\||\?\?|\?:|\bor\b|,[ \t]*default[ \t]*=)[ \t]*[\"'`][^\s\"'`]{6,}|"
    r"\$\{\w{1,80}:?[-=][^\s}\"'`]{6,}"
)
#: a variable set by a command that takes its name and its value as words,
#: the name quoted too: Windows' C{setx "SONAR_TOKEN" "V"}, C{launchctl
#: setenv "API_KEY" "V"} (validators.setVariable)
_SET_VARIABLE = (
    r"\b(?:setx|setenv)[ \t]+[\"']?[\w.-]{0,60}" + _SECRET_NAME + r"[ \t]+[\"']?[^\s\"'$%-][^\s\"']{5}"
)
#: PowerShell's ConvertTo-SecureString given the plain text itself
#: (validators.secureString)
_SECURE_STRING = r"\bConvertTo-SecureString(?:[ \t]+-(?:String|AsPlainText|Force)\b)*[ \t]+[\"']?[^\s\"'$(-][^\s\"']{5}"
#: a private key's DER written in base64 with no PEM armour (a string
#: literal, a setting): its first bytes say private key, whatever the
#: length bytes hold: PKCS#1 RSA and DSA (SEQUENCE, version 0, a long
#: INTEGER), PKCS#8 (version 0, the RSA or EC algorithm), SEC1 EC keys
#: (version 1, the key's OCTET STRING) and Ed25519's PKCS#8. A public key,
#: a certificate or a request starts otherwise.
_BASE64_DER_KEY = (
    r"\b(?:MII[A-Za-z0-9+/]{2}[AQgw]IBA(?:AK[BC]|AJB|DAN)|MIG[A-Za-z0-9+/]AgEAMB[AM]GByqGSM49AgE|"
    r"M(?:HcCAQEEI|HQCAQEEI|IGkAgEBBD|IHcAgEBBE)|MC4CAQAwBQYDK2VwBCIEI)[A-Za-z0-9+/]{40}"
)
#: a token as a URL's whole userinfo: C{https://<token>@github.com/...}
#: (validators.urlToken; a user and password are connection_string's)
_URL_TOKEN = r"://[A-Za-z0-9_-]{20,}@[\w-]"
_NETRC_ENTRY = r"\b(?:machine[ \t]+[^\s]{1,200}|default)\s+login[ \t]+[^\s]{1,200}\s+password[ \t]+[^\s]{6}"
_SHORT_SCHEME = r"\bauthorization[\"']?[ \t]*[:=][ \t]*[\"']?[A-Za-z][\w-]{1,4}[ \t]+[^\s\"'`,;|<>]{6}"


SECRET_RULES = (
    Rule(EXFIL, "private_key",
         r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:[^-]{0,120}?[A-Za-z0-9+/]{16}|(?:\s|\\[rn])+(?:[A-Za-z0-9+/]{4}|Proc-Type:|Comment:)|(?:\s|\\[rn])*$)|\bPuTTY-User-Key-File-\d:",
         severity="critical", variants="r", caseless=False),
    # a PEM private key written in base64 (a Kubernetes Secret's tls.key, a
    # kubeconfig's client-key-data, a CI variable): "-----BEGIN " encodes to
    # LS0tLS1CRUdJTi, and what follows decodes to the key's kind
    Rule(EXFIL, "private_key", r"\bLS0tLS1CRUdJTi[A-Za-z0-9+/]{62}", severity="critical", variants="r", caseless=False,
         validator="encoded_private_key"),
    Rule(EXFIL, "aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
         severity="critical", variants="r", caseless=False, validator="aws_access_key"),
    Rule(EXFIL, "aws_secret_key",
         r"aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})\b",
         severity="critical", variants="r", validator="live", group=1),
    Rule(EXFIL, "github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{30,}",
         severity="critical", variants="r", caseless=False, validator="live"),
    Rule(EXFIL, "gitlab_token", r"\bglpat-[0-9A-Za-z_-]{20,}", severity="critical", variants="r", caseless=False, validator="live"),
    Rule(EXFIL, "slack_token", r"\bxox[baprse]-[0-9]{6,}-[0-9A-Za-z-]{10,}", severity="critical", variants="r", caseless=False,
         validator="slack_token"),
    Rule(EXFIL, "slack_webhook", r"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}",
         severity="high", variants="r", caseless=False, validator="live"),
    # a webhook, workflow or trigger URL whatever its ids' case (the path is
    # the secret): random enough, not a placeholder (T00000000/XXXX)
    Rule(EXFIL, "slack_webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{40,}",
         severity="high", variants="r", caseless=False, validator="live"),
    Rule(EXFIL, "stripe_key", r"\b[sr]k_live_[0-9a-zA-Z]{20,}", severity="critical", variants="r", caseless=False, validator="live"),
    # a restricted key of any mode, a secret key's short test body (a test
    # key is a key: validators.vendorToken judges what follows the mode;
    # longer bodies are prefixed_token's)
    Rule(EXFIL, "stripe_key", r"\brk_(?:test|prod)_[0-9a-zA-Z]{12,99}\b|\bsk_(?:test|prod)_[0-9a-zA-Z]{12,23}\b", severity="critical", variants="r", caseless=False,
         validator="vendor_token", level=2),
    # (39 characters whose last may be a dash or an underscore)
    Rule(EXFIL, "google_api_key", r"\bAIza[0-9A-Za-z_-]{35}", severity="high", variants="r", caseless=False,
         validator="live", confirm=r"\bAIza[0-9A-Za-z_-]{35}(?![\w-])"),
    Rule(EXFIL, "openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|\bsk-[A-Za-z0-9]{48}\b",
         severity="critical", variants="r", caseless=False),
    Rule(EXFIL, "anthropic_key", r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}", severity="critical", variants="r",
         caseless=False, validator="live"),
    Rule(EXFIL, "sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{20,24}\.[A-Za-z0-9_-]{40,50}\b", severity="critical", variants="r",
         caseless=False, validator="live"),
    Rule(EXFIL, "npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", severity="critical", variants="r", caseless=False, validator="live"),
    # a macaroon whose location is pypi.org or test.pypi.org (validators.pypiToken:
    # not one cut short before its signature)
    Rule(EXFIL, "pypi_token", r"\bpypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}", severity="critical", variants="r",
         caseless=False, validator="pypi_token"),
    Rule(EXFIL, "azure_storage_key", r"AccountKey=[A-Za-z0-9+/]{80,90}={0,2}", severity="critical", variants="r",
         caseless=False),
    Rule(EXFIL, "digitalocean_token", r"\bdo[opr]_v1_[a-f0-9]{64}\b", severity="critical", variants="r", caseless=False),
    Rule(EXFIL, "shopify_token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", severity="high", variants="r",
         caseless=False),
    Rule(EXFIL, "gcp_service_account", r"\"type\"\s*:\s*\"service_account\".{0,400}\"private_key_id\"\s*:\s*\"[0-9a-f]{40}\"",
         severity="critical", variants="r"),
    # a JSON Web Key with its private part (RFC 7518: C{d} of an EC, RSA or
    # OKP key, C{k} of a symmetric one): Hyperscan looks for the key's type,
    # C{re} takes each object's members from its brace (any order) up to the
    # next brace, possessively (linear), and
    # validators.jwkPrivate reads them; a public key stays silent
    Rule(EXFIL, "private_key", r"\"kty\"\s*:\s*\"(?:EC|RSA|OKP|oct)\"", severity="critical", variants="r", caseless=False,
         validator="jwk_private", confirm=r"\{\s*\"[^{}]{0,4000}+"),
    Rule(EXFIL, "jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.(?:eyJ[A-Za-z0-9_-]{8,}|e30)\.[A-Za-z0-9_-]{16,}|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{10,}",
         severity="high", variants="r", caseless=False, validator="jwt", level=2),
    # a password in the userinfo of a URL, whatever the scheme
    Rule(EXFIL, "connection_string",
         r"\b(?:[a-z][a-z0-9+.-]{1,20}:)?[a-z][a-z0-9+.-]{1,20}://[^\s:/@\"'<>]*:[^\s@/\"'<>]{3,}@[\w.-]+|"
         r"\bjdbc:oracle:(?:thin|oci):[\w$#.-]+/[^\s@/\"'<>]{3,}@",
         severity="high", variants="r", validator="connection_string", level=2),
    Rule(EXFIL, "bearer_token", r"\bauthorization[\"']?\s*[:=]\s*[\"']?bearer\s+([A-Za-z0-9._~+/-]{24,}=*)",
         severity="high", variants="r", validator="live", group=1, level=2),
    # NAME = value, NAME: value, "NAME": "value", | NAME | value |,
    # 'NAME', 'value' (PHP define), <NAME>value: a name that says secret
    # and a value that looks random (validators.assignedSecret decides)
    Rule(EXFIL, "assigned_secret",
         _SECRET_NAME + r"(?:" + _ASSIGNED_BY + "|" + _TYPED_SCAN + r")\s{0,24}[@b]?[\"'`]{0,3}"
         r"(?:(?:bearer|token|basic)\s+)?(?:[^\s\"'`,;|<>]{6}|" + _QUOTED.replace("{6,}", "{6}") + ")",
         confirm=r"(?<![\w.-])[\w.-]{0,60}" + _SECRET_NAME + r"(?:" + _ASSIGNED_BY + "|" + _TYPED + r")\s{0,24}[@b]?"
         # (a quoted value is read to its closing quote: a WordPress salt
         # holds any punctuation)
         r"(?:" + _QUOTED_CLOSED + r"|[\"'`]{0,3}(?:(?:bearer|token|basic)\s+)?[^\s\"'`,;|<>]{6,})"
         r"(?:[ \t]+[^\s|`'\"][^|\n]{0,80}(?:\||\n|$))?",
         severity="high", variants="r", validator="assigned_secret", level=2),
    # a user and password handed to an HTTP client on its command line
    Rule(EXFIL, "user_password",
         r"\b(?:curl|wget|httpie)\b(?:[^\n|;]|\\\r?\n){0,200}\s(?:-u|-U|--user|--proxy-user|--http-user|-a|--auth)[ \t=]+['\"]?[^\s:'\"]*:['\"]?[^\s'\"@]{6,}|"
         r"\bcurl\b[^\n|;]{0,200}\s--(?:proxy-)?(?:tls)?pass(?:word)?[ \t=]+['\"]?[^\s'\":/-][^\s'\":/]{5,}(?:['\"]|\s|$)|"
         r"\b(?:mysql|mysqldump|mariadb|mysqladmin)\b[^\n|;]{0,120}\s-p[^\s'\"-][^\s'\"]{5,}|\bsshpass\s+-p\s*['\"]?[^\s'\"]{6,}|"
         r"\bopenssl\b[^\n|;]{0,120}\s-(?:k\s+|pass(?:in|out|word)?\s+pass:)[^\s'\"]{6,}|"
         # options that take the secret itself: gpg's (and duplicity's,
         # gocryptfs'...) --passphrase, curl's --oauth2-bearer, on a line of
         # their own too (after a line continuation)
         r"(?:^|\s)--(?:passphrase|oauth2-bearer)[ \t=]+['\"]?[^\s'\"-][^\s'\"]{5,}|"
         r"\bauth\s*=\s*\(\s*['\"][^'\"\n]{1,64}['\"]\s*,\s*['\"][^'\"\s]{6,}['\"]\s*\)|"
         # any command line: a user flag, then a password flag (psexec, mongo, ...)
         r"\s(?:-u|-U|--user(?:name)?)[ \t=]+['\"]?[^\s'\"-][^\s'\"]*['\"]?[ \t]+(?:-p|-P|--pass(?:word)?)(?:[ \t]+|=)['\"]?[^\s'\"-][^\s'\"]{5,}|"
         # clients whose password flag is their own (redis-cli -a, ldapsearch
         # -w, smbclient -U user%pw), tools given user and password in turn
         r"\bredis-cli\b[^\n|;]{0,120}\s-a[ \t]+['\"]?[^\s'\"-][^\s'\"]{5,}|"
         r"\bldap(?:search|modify|add|delete|passwd|whoami|compare)\b[^\n|;]{0,200}\s-w[ \t]+['\"]?[^\s'\"-][^\s'\"]{5,}|"
         r"\bsmbclient\b[^\n|;]{0,200}\s-U[ \t]+['\"]?[^\s'\"%]+%[^\s'\"]{6,}|"
         r"\bhtpasswd[ \t]+-\w*b\w*[ \t]+\S+[ \t]+\S+[ \t]+['\"]?[^\s'\"-][^\s'\"]{5,}|"
         r"\brabbitmqctl[ \t]+(?:add_user|change_password)[ \t]+\S+[ \t]+['\"]?[^\s'\"-][^\s'\"]{5,}|"
         r"\bnet[ \t]+use\b[^\n|;]{0,200}/user:\S+[ \t]+['\"]?[^\s'\"/-][^\s'\"]{5,}|"
         r"\b(?:NetworkCredential|HTTPBasicAuth|HTTPDigestAuth|BasicAuth|UsernamePasswordCredentials|PasswordAuthentication)\s*\(\s*['\"][^'\"\n]{1,64}['\"]\s*,\s*['\"][^'\"\s]{6,}['\"]|"
         # remote execution whose -p is the password (PsExec, PAExec),
         # wherever the user flag sits
         r"\b(?:ps|pa)exec(?:64)?(?:\.exe)?\b[^\n|;]{0,300}?\s-p[ \t]+['\"]?[^\s'\"-][^\s'\"]{5,}|"
         # an LDAP bind: DirectoryEntry(path, user, password) (.NET, PowerShell)
         r"\bDirectoryEntry\s*\(\s*['\"][^'\"\n]{1,200}['\"]\s*,\s*['\"][^'\"\n]{1,64}['\"]\s*,\s*['\"][^'\"\s]{6,}['\"]",
         severity="high", variants="r", validator="user_password", level=2),
    # a value handed to a command that stores secrets (gh secret set NAME
    # --body V, vercel env add NAME <<< V, echo V | wrangler secret put NAME,
    # aws secretsmanager --secret-string V, az keyvault secret set --value V)
    Rule(EXFIL, "cli_secret",
         r"\b(?:" + _SECRET_CLI + r")\b[^\n|;]{0,200}?(?:\s(?:--body|-b|--secret-string|--value)(?:[ \t]+|=)?|<<<[ \t]*)['\"]?[^\s'\"-][^\s'\"]{5}|"
         r"\b(?:echo|printf)\b[^\n|;]{0,40}?[ \t]['\"]?[^\s'\"|%-][^\s'\"|]{5,}['\"]?[ \t]*\|[ \t]*(?:npx[ \t]+)?(?:" + _SECRET_CLI + r")\b",
         confirm=r"\b(?:" + _SECRET_CLI + r")\b[^\n|;]{0,200}?(?:\s(?:--body|-b|--secret-string|--value)(?:[ \t]+|=)?|<<<[ \t]*)['\"]?[^\s'\"-][^\s'\"]{5,}|"
         r"\b(?:echo|printf)\b[^\n|;]{0,40}?[ \t]['\"]?[^\s'\"|%-][^\s'\"|]{5,}['\"]?[ \t]*\|[ \t]*(?:npx[ \t]+)?(?:" + _SECRET_CLI + r")\b",
         severity="high", variants="r", validator="cli_secret", level=2),
    # .netrc and prose: "password <value>", "token <value>"
    Rule(EXFIL, "assigned_secret", r"(?:\b|_)(?:password|passwd|token|secret|key)[ \t]+(?:is[ \t]+)?[`\"']?[^\s\"'`,;|<>]{6}",
         confirm=r"(?<![\w.-])[\w.-]{0,40}(?:\b|_)(?:password|passwd|token|secret|key)[ \t]+(?:is[ \t]+)?[`\"']?[^\s\"'`,;|<>]{6,}[`\"']?",
         severity="high", variants="r", validator="assigned_secret", level=2),
    Rule(EXFIL, "assigned_secret", _KEY_PHRASE, severity="high", variants="r", validator="key_phrase", level=2,
         confirm=_whole(_KEY_PHRASE)),
    Rule(EXFIL, "assigned_secret", _DEFAULT_SECRET, severity="high", variants="r", validator="default_secret", level=2,
         confirm=_DEFAULT_READ),
    Rule(EXFIL, "assigned_secret", _SET_VARIABLE, severity="high", variants="r", validator="set_variable", level=2,
         confirm=_SET_VARIABLE.replace("{5}", "{5,}") + r"[\"']?"),
    Rule(EXFIL, "assigned_secret", _SECURE_STRING, severity="high", variants="r", validator="secure_string", level=2,
         confirm=_SECURE_STRING.replace("{5}", "{5,}") + r"[\"']?"),
    Rule(EXFIL, "private_key", _BASE64_DER_KEY, severity="critical", variants="r", caseless=False, level=2),
    # Code Climate's test reporter id: it uploads coverage as the repository
    # (the value is judged: the name's TEST is no placeholder)
    Rule(EXFIL, "codeclimate_reporter_id", r"\bCC_TEST_REPORTER_ID[\"']?[ \t]*[:=][ \t]*[\"']?([0-9a-f]{64})\b", severity="high",
         variants="r", caseless=False, validator="live", group=1, level=2),
    Rule(EXFIL, "url_token", _URL_TOKEN, severity="high", variants="r", validator="url_token", level=2,
         confirm=r"\b[a-z][a-z0-9+.-]{0,20}" + _URL_TOKEN),
    # a .netrc entry: the keyword says password, so a word is one
    # (validators.netrcPassword)
    Rule(EXFIL, "assigned_secret", _NETRC_ENTRY, severity="high", variants="r", validator="netrc_password", level=2,
         confirm=_whole(_NETRC_ENTRY)),
    # <add key="ClearTextPassword" value="..."/> (NuGet, .NET appSettings),
    # <property name="db.password" value="..."/> (Spring, Ant, Hibernate)
    Rule(EXFIL, "assigned_secret",
         r"(?:\bkey|<property\s+name)\s*=\s*[\"'][\w.:-]*(?:password|passwd|secret|token|key|pwd|credentials?|connectionstring)[\"']\s+value\s*=\s*[\"'][^\"']{6,}[\"']",
         severity="high", variants="r", validator="xml_secret", level=2),
    # Terraform: variable "db_password" { default = "..." }
    Rule(EXFIL, "assigned_secret",
         r"\bvariable\s+\"[\w-]*(?:password|passwd|secret|token|key|pwd|credentials?)\"\s*\{[^}]{0,300}?\bdefault\s*=\s*\"[^\"\s]{6,}\"",
         severity="high", variants="r", validator="xml_secret", level=2),
    # a setting's name and its value as sibling members of one object or
    # list item (Kubernetes and ECS env, CloudFormation parameters, Postman
    # environments, Azure app settings, Terraform setting blocks)
    Rule(EXFIL, "assigned_secret", _SIBLING_SECRET,
         severity="high", variants="r", validator="sibling_secret", level=2,
         confirm=_SIBLING_NAME + r"[\w./:-]{0,80}" + _whole(_SIBLING_SECRET)),
    Rule(EXFIL, "assigned_secret", _SIBLING_MEMBER,
         severity="high", variants="r", validator="sibling_secret", level=2,
         confirm=_SIBLING_NAME + r"[\w./:-]{0,80}\"[ \t]*,[ \t]*\r?\n?[ \t]*" + _whole(_SIBLING_MEMBER)),
    Rule(EXFIL, "assigned_secret", _ESCAPED_SECRET,
         confirm=r"(?<![\w.-])[\w.-]{0,60}" + _whole(_ESCAPED_SECRET) + r"[^\s\"\\]*",
         severity="high", variants="r", validator="escaped_secret", level=2),
    Rule(EXFIL, "assigned_secret", _SENSITIVE_OUTPUT, confirm=_whole(_SENSITIVE_OUTPUT),
         severity="high", variants="r", validator="sensitive_output", level=2),
    # an environment variable named after a service (STRIPE=..., OPENAI=...)
    # holding a value that can be nothing but a key: a line of an env file,
    # an export, a compose environment list (validators.envSecret)
    Rule(EXFIL, "assigned_secret", _ENV_SECRET,
         confirm=r"^[ \t]*(?:export[ \t]+|-[ \t]+)?[A-Z0-9_]{0,40}" + _ENV_SERVICE
         + r"=[\"']?[A-Za-z0-9+/_-]{24,}={0,2}[\"']?[ \t]*(?:\r?\n|$)",
         severity="high", variants="r", caseless=False, validator="env_secret", level=2),
    # <entry key="db.password">V</entry> (Java properties as XML),
    # <Pass encoding="base64">V</Pass> (FileZilla): an element that names a
    # secret by its attribute or by its own name with attributes
    Rule(EXFIL, "assigned_secret",
         _XML_ELEMENT_SECRET,
         severity="high", variants="r", validator="xml_element", level=2, confirm=_whole(_XML_ELEMENT_SECRET)),
    # a password as a directive's or a DSL call's argument: redis.conf
    # C{requirepass V}, Gradle C{storePassword "V"}; C{GH_PAT=V}
    Rule(EXFIL, "assigned_secret", _DIRECTIVE_SECRET,
         severity="high", variants="r", validator="assigned_secret", level=2, confirm=_whole(_DIRECTIVE_SECRET)),
    Rule(EXFIL, "assigned_secret", _DSL_SECRET,
         severity="high", variants="r", caseless=False, validator="assigned_secret", level=2, confirm=_whole(_DSL_SECRET)),
    # OpenVPN's inline credentials: a user on one line, the password on the next
    Rule(EXFIL, "assigned_secret", _AUTH_USER_PASS,
         severity="high", variants="r", validator="auth_user_pass", level=2, confirm=_whole(_AUTH_USER_PASS)),
    # a Kubernetes Secret's data, whatever its keys are called
    # (validators.kubernetesSecret reads the whole document)
    Rule(EXFIL, "kubernetes_secret", r"\n[ \t]*(?:stringData|data):[ \t]*\r?\n[ \t]+[\w.-]+:",
         severity="high", variants="r", caseless=False, validator="kubernetes_secret", level=2),
    # incoming webhooks: the URL is the credential
    Rule(EXFIL, "webhook_url",
         r"\bhttps://[\w-]+\.webhook\.office\.com/webhookb2/[\w@-]{20,}/IncomingWebhook/[\w-]{20,}|"
         r"\boutlook\.office(?:365)?\.com/webhook/[0-9a-f-]{36}@[0-9a-f-]{36}/IncomingWebhook/[0-9a-f]{32}/[0-9a-f-]{36}|"
         r"\bdiscord(?:app)?\.com/api/webhooks/\d{10,}/[\w-]{50,}|\bhooks\.zapier\.com/hooks/catch/\d+/\w{5,}",
         severity="high", variants="r", level=2),
    # what opens a Vault (its unseal keys, as `vault operator init` prints
    # them and `vault operator unseal` takes them) and a SonarQube token
    # given as the scanner's login
    Rule(EXFIL, "vault_unseal_key",
         r"\bunseal key \d+:[ \t]*[A-Za-z0-9+/]{43,44}={0,2}|\bvault operator unseal[ \t]+(?:-\S+[ \t]+)*['\"]?[A-Za-z0-9+/]{43,44}={0,2}",
         severity="critical", variants="r", level=2),
    # (and as a property's name and value: <property name="sonar.login"
    # value="...">, a list of name/value pairs)
    Rule(EXFIL, "sonar_token", r"(?:\b|-D)sonar[._]?login['\"]?(?:[ \t]*(?:[=:,]|=>)|[ \t]+value[ \t]*=|[ \t]*\r?\n[ \t]*value[ \t]*:)[ \t]*['\"]?[0-9a-f]{40}\b",
         severity="critical", variants="r", level=2),
    # .pgpass: host:port:database:user:password
    Rule(EXFIL, "pgpass_entry", r":(?:\d{2,5}|\*):[\w*-]+:[\w*.-]+:[^\s:]{6}",
         confirm=r"^[\w.*-]+:(?:\d{2,5}|\*):[\w*-]+:[\w*.-]+:[^\s:]{6,}$",
         severity="high", variants="r", validator="pgpass", level=2),
    # a password hash (htpasswd, shadow, bcrypt): crackable offline
    Rule(EXFIL, "password_hash", r"\$(?:apr1|2[abxy]|1|5|6|y|argon2id?)\$[\w./$=,+-]{20,}|"
         # htpasswd's and LDAP's {SHA}/{SSHA}, Django's pbkdf2, PostgreSQL's
         # SCRAM and md5 (pg_authid, pgbouncer's userlist.txt)
         r"\{S?SHA(?:256|512)?\}[A-Za-z0-9+/]{27,}={0,2}|\bpbkdf2_sha(?:1|256)\$\d{4,7}\$[\w./+=]{6,}\$[\w./+=]{20,}|"
         r"\bSCRAM-SHA-256\$\d{4,7}:[A-Za-z0-9+/=]{16,}\$[A-Za-z0-9+/=]{20,}:[A-Za-z0-9+/=]{20,}|\bmd5[0-9a-f]{32}\b",
         severity="high", variants="r", caseless=False, level=2),
    Rule(EXFIL, "high_entropy_string", r"\b[A-Za-z0-9+/_-]{32,}={0,2}", severity="medium", variants="r",
         validator="high_entropy", level=3, single=True),
) + tuple(
    # vendor tokens named by their prefix (public facts of each vendor's
    # format, as gitleaks and the vendors document them)
    Rule(EXFIL, name, pattern, severity="critical", variants="r", caseless=False, validator="live", level=level)
    for name, pattern, level in (
        ("gitlab_token", r"\bgl(?:dt|rt|rtr|ptt|soat|cbt|imt|agent|oas|ft|ffct|wt)-[0-9A-Za-z_-]{20,}|\b_gitlab_session=[0-9a-z]{32}\b", 1),
        ("slack_token", r"\bxapp-\d-[A-Z0-9]{6,}-\d{6,}-[a-z0-9]{32,}|\bxoxe\.xox[bp]-\d-[A-Za-z0-9]{40,}", 1),
        ("stripe_key", r"\bwhsec_[A-Za-z0-9]{24,}", 1),
        ("huggingface_token", r"\b(?:hf|api_org)_[A-Za-z]{30,40}\b", 1),
        ("databricks_token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b", 1),
        ("linear_key", r"\blin_(?:api|oauth)_[A-Za-z0-9]{40}\b", 1),
        ("planetscale_token", r"\bpscale_(?:tkn|oauth|pw)_[\w.=-]{32,64}", 1),
        ("sentry_token", r"\bsntryu_[a-f0-9]{64}\b|\bsntrys_[A-Za-z0-9+/=_-]{40,}", 1),
        ("age_secret_key", r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b", 1),
        ("google_oauth_token", r"\bya29\.[\w-]{30,}|\b1//0[\w-]{40,}|\bGOCSPX-[\w-]{24,}", 1),
        ("telegram_bot_token", r"\b\d{8,10}:AA[\w-]{32,33}\b", 1),
        ("onepassword_key", r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b|\bops_eyJ[A-Za-z0-9+/=]{100,}", 1),
        ("artifactory_token", r"\bAKCp[A-Za-z0-9]{69}\b|\bcmVmd[A-Za-z0-9]{59}\b", 1),
        ("alibaba_key", r"\bLTAI[A-Za-z0-9]{12,21}\b", 1),
        ("clojars_token", r"\bCLOJARS_[a-z0-9]{60}\b", 1),
        ("postman_key", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b|\bPMAT-[0-9A-Z]{26}\b", 1),
        ("pulumi_token", r"\bpul-[a-f0-9]{40}\b", 1),
        ("rubygems_key", r"\brubygems_[a-f0-9]{48}\b", 1),
        ("square_token", r"\bsq0(?:atp|csp)-[\w-]{22,43}\b|\bEAAA[\w+=-]{60}", 1),
        ("terraform_token", r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}", 1),
        ("vault_token", r"\bhv[sb]\.[\w-]{90,}", 1),
        ("flyio_token", r"\bfo1_[\w-]{43}|\bfm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}", 1),
        ("openshift_token", r"\bsha256~[\w-]{43}", 1),
        ("dynatrace_token", r"\bdt0[a-z]\d\d\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}\b", 1),
        ("adobe_secret", r"\bp8e-[A-Za-z0-9_-]{32}\b", 1),
        # the first part is the base64 of a decimal user id: 17 to 19
        # digits (ids past 10^18, issued since 2022, take 26 characters)
        ("discord_token", r"\b(?:MT|Mj|Mz|ND|NT|Nj|Nz|OD|OT)[A-Za-z\d_-]{21,24}\.[\w-]{6}\.[\w-]{27,38}\b", 1),
        ("mailchimp_key", r"\b[0-9a-f]{32}-us\d{1,2}\b", 1),
        ("sendinblue_key", r"\bxkeysib-[a-f0-9]{64}-[a-zA-Z0-9]{16}\b", 1),
        ("atlassian_token", r"\bATATT3[A-Za-z0-9_=-]{150,}", 1),
        ("grafana_token", r"\beyJrIjoi[A-Za-z0-9+/=]{50,}|\bglc_[A-Za-z0-9+/]{32,}={0,2}|\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b", 1),
        ("doppler_token", r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{1,40}\.)?[a-zA-Z0-9]{40,44}\b", 1),
        ("airtable_token", r"\bpat[A-Za-z0-9]{14}\.[a-f0-9]{64}\b", 1),
        ("docker_hub_token", r"\bdckr_(?:pat|oat)_[\w-]{27,}", 1),
        ("ai_provider_key", r"\bxai-[A-Za-z0-9]{70,}|\bgsk_[A-Za-z0-9]{52}\b|\bpplx-[A-Za-z0-9]{48}\b|\br8_[A-Za-z0-9]{37}\b|\bnvapi-[\w-]{60,}", 1),
        ("posthog_key", r"\bphx_[A-Za-z0-9_]{40,}", 1),
        ("readme_key", r"\brdme_[a-z0-9]{70}\b", 1),
        ("shippo_token", r"\bshippo_live_[a-f0-9]{40}\b", 1),
        ("scalingo_token", r"\btk-us-[\w-]{48}\b", 1),
        ("heroku_key", r"\bHRKU-[\w-]{60}|\bHRKU-[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\b", 1),
        ("dropbox_token", r"\bsl\.[A-Za-z0-9_-]{130,}", 2),
        # (a short-term key is the base64 of a presigned URL of
        # bedrock.amazonaws.com: the host's base64 opens it)
        ("aws_bedrock_key", r"\bABSK[A-Za-z0-9+/]{100,}={0,2}|\bbedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/]{40,}={0,2}", 1),
        # Docker Swarm's join tokens and the key that unlocks a locked swarm
        ("docker_swarm_token", r"\bSWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}\b|\bSWMKEY-1-[A-Za-z0-9+/]{43}", 1),
        ("llamacloud_key", r"\bllx-[A-Za-z0-9_-]{48}\b", 1),
        ("instagram_token", r"\bIGQVJ[\w=-]{100,}", 1),
        ("mailgun_key", r"\bkey-[0-9a-f]{32}\b", 2),
        ("twilio_key", r"\bSK[0-9a-f]{32}\b", 2),
        ("facebook_token", r"\bEAA[A-Za-z0-9]{90,}", 1),
        # an app access token: the app's id, a bar, the app's secret
        ("facebook_token", r"\b\d{15,16}(?:\||%7[Cc])[A-Za-z0-9_-]{27}\b", 1),
        ("braintree_token", r"\baccess_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}\b", 1),
        ("newrelic_key", r"\bNR(?:AK|JS|II|AA|RA|SP)-[A-Za-z0-9_-]{19,32}\b|\b(?:eu01xx[a-f0-9]{30}|[a-f0-9]{36})NRAL\b|\bNRRA-[a-f0-9]{42}\b|\bNRBR-[a-f0-9]{19,20}\b|\bNRIQ-[\w-]{32}\b", 1),
        ("mapbox_token", r"\bsk\.eyJ[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{20,}", 1),
        ("azure_ad_secret", r"(?:^|[\s\"'`=:(,>])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?:$|[\s\"'`<),;\\])", 1),
        ("azure_sas_token", r"\bsv=\d{4}-\d\d-\d\d&[^\s\"'<>]{0,300}\bsig=[A-Za-z0-9%+/]{30,}", 1),
        ("openai_key", r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{80,}", 1),
        ("jenkins_secret", r"\{AQAAABAAAA[A-Za-z0-9+/=]{20,}\}", 1),
        ("netlify_token", r"\bnfp_[A-Za-z0-9]{36}\b", 1),
        ("supabase_token", r"\bsbp_[a-f0-9]{40}\b", 1),
        ("bitbucket_app_password", r"\bATBB[A-Za-z0-9_=.-]{28,}", 1),
        ("contentful_token", r"\bCFPAT-[\w-]{43}\b", 1),
        ("figma_token", r"\bfigd_[\w-]{40}\b", 1),
        ("sourcegraph_token", r"\bsgp_(?:[a-f0-9]{16}_)?[a-f0-9]{40}\b", 1),
        ("buildkite_token", r"\bbkua_[a-f0-9]{40}\b", 1),
        ("tailscale_key", r"\btskey-(?:auth|api|client|scim|webhook)-[\w-]{20,}", 1),
        ("render_key", r"\brnd_[A-Za-z0-9]{32}\b", 1),
        ("pinecone_key", r"\bpcsk_[A-Za-z0-9_]{50,}", 1),
        ("langsmith_key", r"\blsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\b", 1),
        ("adafruit_key", r"\baio_[A-Za-z0-9]{28}\b", 1),
        ("crates_io_token", r"\bcio[A-Za-z0-9]{32}\b", 2),
        ("dependency_track_key", r"\bodt_[A-Za-z0-9]{32,}\b", 1),
        ("sonar_token", r"\bsq[pau]_[a-f0-9]{40}\b", 1),
        ("salesforce_token", r"\b00D[0-9A-Za-z]{12,15}![\w.]{80,}", 1),
        ("nuget_key", r"\boy2[a-z0-9]{43}\b", 1),
        ("hubspot_token", r"\bpat-(?:na|eu)\d-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", 1),
        ("gitlab_token", r"\bGR1348941[\w-]{20}\b", 1),
        ("firebase_key", r"\bAAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,}", 1),
        ("twitter_token", r"\bA{22}[A-Za-z0-9%]{80,}", 1),
        ("circleci_token", r"\bCCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}\b", 1),
        ("amazon_mws_token", r"\bamzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", 1),
        ("atlassian_token", r"\bATCTT3xFfGN0[A-Za-z0-9_=-]{40,}", 1),
        ("prefect_key", r"\bpnu_[A-Za-z0-9]{36}\b", 1),
        ("supabase_token", r"\bsb_secret_[\w-]{30,}", 1),
        ("typeform_token", r"\btfp_[\w-]{59}\b", 1),
        ("octopus_key", r"\bAPI-[A-Z0-9]{26}\b", 2),
        ("frameio_token", r"\bfio-u-[\w=-]{64}\b", 1),
        ("easypost_key", r"\bEZ[AT]K[A-Za-z0-9]{54}\b", 1),
        ("duffel_token", r"\bduffel_live_[\w=-]{43}", 1),
        ("authress_key", r"\b(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}\.[a-z0-9+/_=-]{30,120}", 1),
        ("defined_networking_key", r"\bdnkey-[\w=-]{26}-[\w=-]{52}\b", 1),
        ("infracost_key", r"(?:^|[\s\"'`=:(,\[{>])ico-[A-Za-z0-9]{32}\b", 1),
        # Azure DevOps' personal access tokens since 2024: 84 characters,
        # the service's signature AZDO at 76
        ("azure_devops_token", r"\b[A-Za-z0-9]{52}JQQJ9[9A-Za-z0-9]{19}AZDO[A-Za-z0-9]{4}\b", 1),
        ("tavily_key", r"\btvly-(?:dev-|prod-)?[A-Za-z0-9]{32}\b", 1),
        ("thingsboard_token", r"\bthingsboard\.cloud/api/v1/[a-z0-9]{20}/", 1),
        ("harness_token", r"\b(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}\b", 1),
        ("maxmind_key", r"\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk\b", 1),
        ("settlemint_token", r"\bsm_(?:pat|aat|sat)_[A-Za-z0-9]{16}\b", 1),
        ("yandex_key", r"\bAQVN[A-Za-z0-9_-]{35,38}\b|\by[0-3]_[A-Za-z0-9_-]{55}\b", 1),
        ("firecrawl_key", r"\bfc-[a-f0-9]{32}\b", 1),
        ("jina_key", r"\bjina_[a-f0-9]{32}[A-Za-z0-9_-]{30}\b", 1),
        ("aws_appsync_key", r"\bda2-[a-z0-9]{26}\b", 1),
        ("apify_token", r"\bapify_api_[A-Za-z0-9-]{36}\b", 1),
        ("fleetbase_key", r"\bflb_live_[A-Za-z0-9]{20}\b", 1),
        ("notion_token", r"\bsecret_[A-Za-z0-9]{43}\b|\bntn_\d{11}[A-Za-z0-9]{35}\b", 1),
        ("ubidots_token", r"\bBBFF-[A-Za-z0-9]{30}\b", 1),
        ("cloudflare_origin_ca_key", r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b", 1),
        ("intra42_secret", r"\bs-s4t2(?:ud|af)-[a-f0-9]{64}\b", 1),
        # Zoho's OAuth tokens: 1000, then two runs of 32 hexadecimal digits
        ("zoho_token", r"\b1000\.[a-f0-9]{32}\.[a-f0-9]{32}\b", 1),
        # DeepSeek's API keys; Infura's project key in its endpoint's URL
        ("deepseek_key", r"\bsk-[a-f0-9]{32}\b", 2),
        ("infura_key", r"\binfura\.io/(?:ws/)?v3/[0-9a-f]{32}\b", 2),
        ("plaid_token", r"\b(?:access|public)-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", 1),
    )
) + tuple(
    # prefixes that words and identifiers also begin with: the rest must
    # mix letters and digits and look random (validators.vendorToken)
    Rule(EXFIL, name, pattern, severity="critical", variants="r", caseless=False, validator="vendor_token", level=2)
    for name, pattern in (
        ("gocardless_token", r"\blive_[A-Za-z0-9_-]{40}\b"),
        ("duffel_token", r"\bduffel_test_[\w=-]{43}"),
        ("dfuse_key", r"\bweb_[a-f0-9]{32}\b"),
        ("telnyx_key", r"\bKEY[0-9A-Za-z_-]{55}\b"),
        # a test-mode key is still a key (the placeholder check would read
        # TEST as a placeholder)
        ("flutterwave_key", r"\bFLWSECK(?:_TEST)?-?[a-hA-H0-9]{12,32}(?:-X)?\b"),
    )
) + (
    # Slack's tokens (bot, user, app-level, refresh C{xoxe-1-}, config
    # C{xoxe.xoxp-1-}): ids of eight digits or more between the dashes, a
    # random secret at the end (validators.slackToken)
    Rule(EXFIL, "slack_token", r"\b(?:xoxe\.)?xox[abprse]-[A-Za-z0-9-]{8,}", severity="critical", variants="r", caseless=False,
         validator="slack_token", level=2),
) + tuple(
    # Microsoft's identifiable keys (microsoft/security-utilities): a
    # service's fixed signature at a fixed offset of a base64 key, the
    # common annotated form's JQQJ9 at 52 (Azure AI, DevOps, Maps...)
    Rule(EXFIL, "azure_identifiable_key", pattern, severity="critical", variants="r", caseless=False, level=1)
    for pattern in (
        r"\b[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9][A-L][A-Za-z0-9]{16}[A-Za-z][A-Za-z0-9]{7}\b",
        _KEY_START + r"[A-Za-z0-9+/]{33}(?:\+ARm|\+AEh|\+ASb|AIoT|AzCa|AZEG)[A-P][A-Za-z0-9+/]{5}=",
        _KEY_START + r"[A-Za-z0-9+/]{76}(?:\+ASt|ACDb|\+ABa|\+AMC|APIM)[A-Za-z0-9+/]{5}[AQgw]==",
        _KEY_START + r"[\w-]{44}AzFu[\w-]{5}[AQgw]==",
        r"\b[A-Za-z0-9]{42}AzSe[A-D][A-Za-z0-9]{5}\b",
        _KEY_START + r"[A-Za-z0-9+/]{42}\+ACR[A-D][A-Za-z0-9+/]{5}",
    )
) + (
    # a token a vendor names by a short lowercase prefix and underscores
    # (ion_, shltm_, mdb_sa_sk_, sk_test_): what follows is a long run of
    # letters of both cases and digits drawn at random
    # (validators.prefixedToken), whatever the vendor
    Rule(EXFIL, "prefixed_token", _PREFIXED_TOKEN_BODY, severity="high", variants="r", caseless=False,
         validator="prefixed_token", level=2, confirm=_PREFIXED_TOKEN.replace("{31}", "{31,}").replace("{19}", "{19,}")),
    # a credential named by the words before it with only blanks between
    # (C{boxSECRET 9fQ2...}, C{-vaultToken s.CAES...}, C{password
    # 9fQ2...} in a netrc or a note): the value must be a key's
    # (validators.spacedSecret)
    Rule(EXFIL, "assigned_secret", _SPACED_SECRET, severity="high", variants="r", validator="spaced_secret", level=2,
         confirm=_SPACED_SECRET.replace("{20}", "{20,}")),
    # an API key written as its numeric id, a dash and 64 random letters
    # and digits (TrueNAS' auth.login_with_api_key; validators.numberedKey)
    Rule(EXFIL, "numbered_api_key", r"(?:^|[\s\"'`=:(,\[{>])\d{1,4}-[A-Za-z0-9]{64}\b", severity="high", variants="r", caseless=False,
         validator="numbered_key", level=2),
    # Authorization: with a scheme of two to five letters (SSWS, Bot, Key)
    Rule(EXFIL, "assigned_secret", _SHORT_SCHEME, severity="high", variants="r", validator="assigned_secret", level=2,
         confirm=_whole(_SHORT_SCHEME)),
    # a key named by its service, the value quoted: what a note, a list or
    # a test fixture writes (validators.namedKey: a random run, not after a
    # word that says id, digest or text)
    Rule(EXFIL, "named_key", _NAMED_KEY, severity="high", variants="r", caseless=False, validator="named_key", level=2,
         confirm=_NAMED_KEY_WHOLE),
    # Jenkins' credentials XML: <secret>{...}</secret> (validators.jenkinsElement)
    Rule(EXFIL, "jenkins_secret", _JENKINS_ELEMENT, severity="critical", variants="r", validator="jenkins_element", level=2,
         confirm=r"<(?:secret|password|privateKey|passphrase|apiToken|token)>\{[^}<\n]{20,}\}<"),
    # .npmrc: //registry/:_authToken=, :_auth= (base64 of user:password), :_password=
    Rule(EXFIL, "npm_token", _NPMRC_CREDENTIAL, severity="critical", variants="r", validator="npmrc_credential", level=2,
         confirm=_whole(_NPMRC_CREDENTIAL)),
    # a PKCS#12 or PKCS#8 private key's DER read as text
    Rule(EXFIL, "private_key", _DER_PRIVATE_KEY, severity="critical", variants="r", caseless=False, level=2),
)  # fmt: skip

#: rules that find a secret by its name and randomness, not its vendor
GENERIC_SECRETS = frozenset(("assigned_secret", "high_entropy_string", "pgpass_entry", "cli_secret", "kubernetes_secret", "prefixed_token",
                             "named_key"))
#: the rules that name a secret's kind
SECRET_NAMES = frozenset(r.name for r in SECRET_RULES) - GENERIC_SECRETS

# International (+CC, 00CC), with a bracketed area code, or digit groups as
# national plans write them; validators.phone decides which are numbers.
PHONE = (
    r"(?:\+|\b00)[1-9][\d \t.()/-]{5,20}\d|\(\+?\d{1,5}\)[ \t]?\d[\d \t./-]{3,14}\d|"
    r"\b\d{1,5}(?:[ \t./-]\(?\d{1,10}\)?){1,5}(?!\.?\d)|\btel:\+?\d[\d.()-]{5,20}|"
    # written without separators, after its trunk prefix: 0612345678
    r"\b0[1-9]\d{7,9}\b(?![.,]\d)"
)
#: what Hyperscan looks for first (cheap): C{re} then matches L{PHONE}
#: (a trunk prefix and seven digits, not the bounded run and its boundary:
#: that cost the response scan of clean bodies 2 ms per MiB)
PHONE_START = r"(?:\+|\b00)[1-9][\d \t.()/-]{5}|\(\+?\d{1,5}\)[ \t]?\d|\b\d{1,5}[ \t./-]\(?\d|\btel:\+?\d|\b0[1-9]\d{7}"
#: a number without separators, announced as a telephone number
#: (the words of the languages of the numbers; accented letters spelled as
#: alternatives: Hyperscan reads a class such as [ée] byte by byte)
PHONE_ANNOUNCED = (
    r"(?:\b(?:phone|tel|mobile|call|cell|fax|whatsapp|sms|kontakt|contact|telefon\w*|t(?:é|e)l(?:é|e)phone|handy|"
    r"m(?:ó|o)vil|celular|cellulare|portable|gsm|tlf|puhelin|telefoon|telefone|tel(?:é|e)fono|"
    r"(?:my|our|mon|ma|mi|mio|meu|mein|meine)\s+(?:num(?:é|e)ro|n(?:ú|u)mero|nummer|number))|電話|携帯|电话|手机|전화)"
    r"[^\d\n]{0,20}\d{6,15}\b"
)
#: a number in angle brackets after a name, as a mailbox writes an address
#: (what Hyperscan looks for: a capitalised word before the brackets)
_MAILBOX_BRACKETS = r"[ \t]<[ \t]?\+?\(?\d[\d \t().-]{4,22}\d[ \t]?>"
MAILBOX_NUMBER = r"[A-Z][a-z]+" + _MAILBOX_BRACKETS
#: the name of a table's column of telephone numbers (its header cell)
CONTACT_COLUMN = r"contacts?|phones?|tel|telephone|mobile|cell|fax|phone[ _]?(?:no|number)|contact[ _]?(?:no|number)"
#: what Hyperscan looks for before C{re} confirms an address: a character
#: of a local part before C{@} (RFC 5322's atext: C{!#$%&'*+/=?^`{|}~-}
#: too), or a letter beyond ASCII beside it (RFC 6531: C{θσερ@εχαμπλε.ψομ})
#: (up to the domain's first dot: the rest of the domain to its last letter
#: cost the response scan of clean bodies 0.5 ms per MiB)
EMAIL_START = r"[\w!#$%&'*+/=?^`{|}~-]@[A-Za-z0-9-]+\.|[\x80-\xff]@|@[\w.-]*[\x80-\xff]"
#: an address's domain: labels (letters of any script: C{re} reads it in
#: (?u:...), the confirming patterns being ASCII otherwise) and a top-level
#: domain of letters or in its ASCII form (xn--)
#: RFC 5322's quoted local part: blanks and quoted pairs (\") in it
_QUOTED_LOCAL = r"\"(?:[^\"\\\r\n]|\\.){1,64}\""
#: the combining marks of scripts written with them (Devanagari and the other
#: Indic scripts, Thai, Myanmar; diacritics): not word characters to C{re},
#: but inside the words of an address (उपयोगकर्ता@उदाहरण.कॉम, RFC 6531)
_MARKS = "\u0300-\u036f\u0900-\u0dff\u0e00-\u0e7f\u1000-\u109f"
_EMAIL_DOMAIN = r"(?:[\w" + _MARKS + r"-]{1,63}\.){1,8}(?:(?:[^\W\d_]|[" + _MARKS + r"]){2,24}(?![" + _MARKS + r"])|xn--[A-Za-z0-9-]{2,59})\b"

PII_RULES = (
    Rule(EXFIL, "credit_card", r"\b(?:\d{4}[ -]?){3}\d{1,7}\b|\b\d{4}[ -]?\d{6}[ -]?\d{4,5}\b",
         severity="high", variants="r", validator="credit_card", entity="credit_card"),
    Rule(EXFIL, "ssn", r"\b\d{3}-\d{2}-\d{4}\b", severity="high", variants="r", validator="ssn", entity="ssn"),
    Rule(EXFIL, "ssn", r"\b\d{3}[- ]\d{2}[- ]\d{4}\b|\b(?:ssn|social\s+security)\D{0,20}\d{9}\b",
         severity="high", variants="r", validator="ssn", entity="ssn", level=3),
    Rule(EXFIL, "iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
         severity="high", variants="r", caseless=False, validator="iban", entity="iban"),
    Rule(EXFIL, "email", r"\w@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]",
         severity="medium", variants="r", validator="email", entity="email", level=3,
         confirm=r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b"),
    Rule(EXFIL, "phone", PHONE_START, severity="medium", variants="r", validator="phone", entity="phone", level=3,
         confirm=PHONE),
    Rule(EXFIL, "phone", PHONE_ANNOUNCED, severity="medium", variants="r", validator="phone", entity="phone", level=3),
    # Contact details leaving in what a tool sends or arriving in what it
    # returns, at medium: not in the arguments that address a message
    # (threats.addressing), not example domains or no-reply addresses.
    Rule(EXFIL, "email", EMAIL_START,
         severity="medium", variants="r", validator="contact_email", level=2,
         # (not after $ or {: a shell variable in a URL's userinfo, $TOKEN@github.com)
         confirm=r"(?u:(?<![\w.%+/${" + _MARKS + r"-])[\w.%+'!#&*=?^`|}~" + _MARKS + r"-][\w.%+'!#$&*=?^`{|}~" + _MARKS + r"-]{0,63}@"
         + _EMAIL_DOMAIN + r"(?![\w-]|:[\w/~]))"),
    Rule(EXFIL, "phone", PHONE_START, severity="medium", variants="r", validator="contact_phone", level=2,
         confirm=PHONE),
    # a quoted local part ("john.smith"@acme.io); @ and dots spelled out in
    # brackets (alice [at] acme [dot] io; not bare "at" and "dot": prose)
    Rule(EXFIL, "email", r"\"@[A-Za-z0-9-]+\.[A-Za-z]|[\[({]at[\])}][ \t]?[A-Za-z0-9-]+(?:[ \t]?[\[({]dot[\])}][ \t]?|\.)[A-Za-z]|"
         r"[\w\"]@\[(?:\d{1,3}\.|ipv6:)",
         severity="medium", variants="r", validator="contact_email", level=2,
         confirm=r"(?<![\w.%+/-])\"[^\"\s@]{1,64}\"@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b(?![\w-])|"
         # RFC 5322's quoted string, blanks and quoted pairs (\") in it,
         # opening after a blank or a bracket (not after = or a quote:
         # attributes in a template, "" src="@Model.x")
         r"(?u:(?:^|(?<=[\s<(:,;\[{]))" + _QUOTED_LOCAL + "@" + _EMAIL_DOMAIN + r"(?![\w-]))|"
         r"(?<![\w.%+/-])[A-Za-z0-9._%+-]{1,64}[ \t]?[\[({]at[\])}][ \t]?(?:[A-Za-z0-9-]{1,63}(?:[ \t]?[\[({]dot[\])}][ \t]?|\.)){1,8}[A-Za-z]{2,24}\b(?![\w-])|"
         # RFC 5321's address literal for a domain: user@[192.0.2.1], user@[IPv6:2001:db8::1]
         r"(?<![\w.%+/-])(?:[\w.%+'!#$&*=?^`{|}~-]{1,64}|" + _QUOTED_LOCAL + r")@\[(?:\d{1,3}(?:\.\d{1,3}){3}|ipv6:[0-9a-f:.]{2,45})\]"),
    Rule(EXFIL, "phone", PHONE_ANNOUNCED, severity="medium", variants="r", validator="contact_phone", level=2),
    # a table (CSV, tab- or semicolon-separated, Markdown) with a column of
    # telephone numbers: its header names the column, its rows hold numbers
    # in any digit groups (validators.contactColumn reads the rows below)
    # (Hyperscan: the name before a delimiter or a line break, no ^ or $:
    # a line-anchored pattern is relaxed to quotes in the raw-body scan)
    Rule(EXFIL, "phone", r"\b(?:" + CONTACT_COLUMN + r")[ \t]*[|,;\t\r\n]",
         severity="medium", variants="r", validator="contact_column", level=2,
         # (the header's cells one by one up to the first named one, then
         # committed, atomic: linear, no rest of the line read again per cell)
         confirm=r"^(?>(?:[^\n|,;\t]*[|,;\t])*?[ \t]*(?:" + CONTACT_COLUMN + r")[ \t]*(?:[|,;\t][^\n]*+)?$)(?:\n[^\n]*){1,50}"),
    # a person's name and a number in angle brackets, as a mailbox names
    # its address (Lars Novak <5448 0123>): the number of whoever is named
    Rule(EXFIL, "phone", MAILBOX_NUMBER, severity="medium", variants="r", caseless=False, validator="contact_mailbox", level=2,
         confirm=r"\b[A-Z][a-z'-]+(?:[ \t][A-Z][A-Za-z'.-]*){1,3}" + _MAILBOX_BRACKETS),
    Rule(EXFIL, "ip_address",
         r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b",
         severity="low", variants="r", validator="ip_address", entity="ip_address", level=4),
)  # fmt: skip

ALL_RULES = SQL_RULES + CMD_RULES + PATH_RULES + SECRET_RULES + PII_RULES

# Bulk: many records or a large encoded blob leaving in one request.
BULK_RECORDS = {1: 0, 2: 25, 3: 10}  # distinct emails/cards/phones per request; 0 = off
BULK_BLOB = {1: 0, 2: 256 * 1024, 3: 32 * 1024}  # base64/hex run length in a request string
ROOT_ESCAPE = {1: 6, 2: 3, 3: 2}  # directory levels climbed above the start of a path

# Whole statements and command lines: fragment rules do not apply to these.
SQL_STATEMENT = (
    r"^\s*\(?\s*(?:select|insert|update|delete|with|create|alter|drop|truncate|begin|commit|rollback|explain|show|"
    r"describe|desc|set|grant|revoke|merge|copy|pragma|vacuum|analyze|use|call|exec|execute|declare|values|replace|"
    r"upsert|start\s+transaction|refresh|comment\s+on|reindex|cluster|lock|unlock|load|import|prepare|deallocate)\b"
)
SHELL_COMMAND = (
    r"^\s*(?:#!|(?:sudo\s+|env\s+|time\s+|\w+=\S*\s+)*(?:cd|git|npm|npx|yarn|pnpm|node|deno|bun|python[23]?(?:\.\d+)?|pip[23]?|"
    r"pytest|tox|uv|poetry|make|cmake|cargo|go|rustc|gcc|g\+\+|clang|javac|java|mvn|gradle|dotnet|docker|podman|"
    r"kubectl|helm|terraform|ansible|ls|cat|grep|rg|find|echo|printf|mkdir|cp|mv|rm|touch|sed|awk|head|tail|wc|sort|"
    r"uniq|diff|tar|zip|unzip|gzip|curl|wget|ssh|scp|rsync|ps|top|kill|export|source|bash|sh|zsh|chmod|chown|ruby|"
    r"bundle|rake|rails|php|composer|psql|mysql|sqlite3|redis-cli|jq|yq|tree|pwd|which|whoami|uname|df|du|free|"
    r"date|ping|dig|nslookup|brew|apt|apt-get|yum|dnf|apk|systemctl|journalctl|tsc|eslint|prettier|black|ruff|"
    r"mypy|flake8|isort|jest|vitest|mocha|trial|gh|aws|gcloud|az|hyperfine|time|xargs|tee|less|more|open|code|"
    r"vim|nano|man|history|alias|true|false|test|\[|\.\/[\w.-]+|\./|/usr/bin/\w+|/bin/\w+)(?:\s|$|;|&|\|))"
)
