"""
Command injection at medium, session 12: a value read as a shell reads it
(L{akto_proxy.inspect.checks.shell}), judged by where each command word
stands.  One case per form the rules before it missed, the benign values of
the same structure beside them, the lexer's readings, and two properties: a
command found after a separator is still found spelled one more way a shell
undoes, and the reader never fails or hangs on any string.
"""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks.shell import commandInValue, commands
from tests.inspect import test_s11_cmd
from tests.inspect.test_checks import call, mediumSteps, rules, verdict

CMD = "command_injection"

# (form, tool, argument, payload): each passed the rules before session 12
ATTACKS = [
    ("any program after a value and &&", "backup", "name", "photo.jpg && chkconfig off cbdaemon"),
    ("a program alone after a value and &&", "backup", "name", "backup-01 && kldstat"),
    ("an unknown program with an option after a separator", "ping_host", "host", "x ; sockstat -4l"),
    ("a word-named program after a value and ||", "get_user", "username", "1 || defaults read com.apple.x"),
    ("a tool's command line as the value (subcommand)", "convert_file", "filename", "cscli alerts list"),
    ("a tool's command line as the value (hyphenated subcommand)", "get_user", "username", "aws iam list-users"),
    ("an unknown program with options and an address", "git_clone", "url", "ldapdomaindump -u corp\\bob -p hunter2 10.0.0.5 -o /tmp/out"),
    ("a word-named program with an option late", "get_user", "username", "apt install xclip -y"),
    ("a word-named program with a relative path", "get_user", "username", "docker exec web ./test.sh"),
    ("an environment assignment exported", "get_user", "username", "export HISTSIZE=0"),
    ("a shell keyword before a test", "get_user", "username", "if [ -f /etc/shadow ]; then sleep 5; fi"),
    ("cmd's switch on a builtin", "dns_lookup", "domain", 'net group "Domain Admins" /domain'),
    ("a quoted Windows program by its folder variable", "ping_host", "host", 'x&"%ProgramFiles%\\WinZip\\winzip64.exe" -min -a'),
    ("PowerShell code in a subexpression", "backup", "name", 'x$($xlApp.Run("runme"))'),
    ("quotes inside an unknown program's name", "get_user", "username", '1|lau""nchctl list'),
    ("a command spelled by variables assigned in the value", "get_user", "username", "x;a=kld;b=stat;$a$b"),
]

# values of the same structure that are no command
BENIGN = [
    ("search_products", "query", "python crash course"),
    ("search_products", "query", "make up brush set"),
    ("search_products", "query", "where to buy union jack flag -used"),
    ("search_products", "query", "chef knife set"),
    ("search_files", "pattern", "nvm install -s and -b conflict"),
    ("convert_file", "filename", "Tom & Jerry.mp4"),
    ("convert_file", "filename", "a|b comparison.csv"),
    ("convert_file", "filename", "tags=cat|dog"),
    ("get_user", "username", "user's 'display' name"),
    ("get_user", "username", "I'd like 1 or 2 more"),
    ("backup", "name", "cats && dogs"),
    ("backup", "name", "budget; final draft"),
    ("backup", "name", "jazz; blues"),
    ("find_user", "name", "n=100; p<0.05"),
    ("git_clone", "url", "https://a.example/?a=1&b=2&c=3"),
    ("resize_image", "image", "color: red; margin: 0"),
    ("lookup_order", "order_id", "Ship to the back door; ring twice"),
    ("lookup_order", "order_id", "ls-2024-report.pdf"),
]


class FormTests(test_s11_cmd.ClassTests):
    """
    Each form is found by the command-injection check at medium; the values
    beside them pass, without any exclusion (session 11's tests, on this
    session's cases).
    """

    attacks = ATTACKS
    benign = BENIGN

    def test_prose(self) -> None:
        """
        The reader is for values: the same command line in a prose
        argument (a message) or a coding tool's command is left to the
        rules for those.
        """
        for tool, argument in (("send_message", "text"), ("run_command", "command")):
            found = rules(verdict(self.steps, call(tool, **{argument: "backup-01 && kldstat"})))
            self.assertNotIn(CMD + ".shell_structure", found)


class ReaderTests(SynchronousTestCase):
    """
    What the lexer makes of a value: the words a shell would pass.
    """

    def _words(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        return list(commands(text))

    def test_quotesAndEscapes(self) -> None:
        self.assertEqual(self._words("c'a't /e\"t\"c/pa\\ss\\wd"), [("start", ("cat", "/etc/passwd"))])

    def test_operators(self) -> None:
        self.assertEqual(
            self._words("x;a&&b||c|d\ne&f"),
            [("start", ("x",)), ("after", ("a",)), ("after", ("b",)), ("after", ("c",)), ("after", ("d",)), ("after", ("e",)), ("after", ("f",))],
        )

    def test_expansions(self) -> None:
        self.assertEqual(self._words("x;cat$IFS/etc/hosts"), [("start", ("x",)), ("after", ("cat", "/etc/hosts"))])
        self.assertEqual(self._words("1;${u:-who}ami"), [("start", ("1",)), ("after", ("whoami",))])
        self.assertEqual(self._words("a=c;b=at;$a$b /x"), [("after", ("cat", "/x"))])
        self.assertEqual(self._words("x;$'\\x69\\x64'"), [("start", ("x",)), ("after", ("id",))])
        self.assertEqual(self._words("v='CAT';${v,,} /x"), [("after", ("cat", "/x"))])

    def test_braces(self) -> None:
        self.assertEqual(self._words("{cat,/etc/passwd}"), [("start", ("cat", "/etc/passwd"))])

    def test_substitutions(self) -> None:
        self.assertEqual(self._words("x$(id -u)`uname`"), [("start", ("x",)), ("subst", ("id", "-u")), ("subst", ("uname",))])
        self.assertEqual(self._words("bash<<<$(base64 -d<<<aWQ=)"), [("start", ("bash",)), ("subst", ("base64", "-d"))])

    def test_redirections(self) -> None:
        # (the file a redirection names is no argument)
        self.assertEqual([w for _, w in self._words("cat</etc/passwd 2>&1")][0][0], "cat")

    def test_glob(self) -> None:
        self.assertTrue(commandInValue("x;/???/c?t /???/p?ss??"))
        self.assertTrue(commandInValue("x;/???/zz?q"))  # a glob-spelled path run, whatever it resolves to
        self.assertFalse(commandInValue("/???/zz?q"))  # a pattern as the value is no command

    def test_quoteBreakout(self) -> None:
        """
        The value's first quote may close the ones it is pasted between.
        """
        self.assertTrue(commandInValue("x';kldstat;'"))
        self.assertFalse(commandInValue("O'Brien; Smith"))


# one more spelling a shell undoes, of the program's name (the Unix forms)
def _quoteInside(word: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(word))
    return word[:k] + rng.choice(["''", '""']) + word[k:]


def _backslashes(word: str, rng: random.Random) -> str:
    return "".join(("\\" if rng.random() < 0.6 else "") + c for c in word)


def _unset(word: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(word))
    # (not $u before a letter: the shell would read a longer name)
    return word[:k] + rng.choice(["${u}", "$@", "${x:-}", "$9"]) + word[k:]


def _ansiC(word: str, rng: random.Random) -> str:
    return "$'" + "".join(f"\\x{ord(c):02x}" for c in word) + "'"


def _assigned(word: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(word))
    return f"p={word[:k]};q={word[k:]};$p$q"


SPELLINGS = {"quotes": _quoteInside, "backslashes": _backslashes, "unset": _unset, "ansi": _ansiC, "assigned": _assigned}
# programs the rules before session 12 did not name, with arguments
PROGRAMS = ["kldstat", "chkconfig --list", "launchctl list", "sockstat -4l", "dscl . list /Users", "csrutil status", "locale -a"]
CONTEXTS = ["{v};{c}", "{v} && {c}", "{v}||{c}", "{v}|{c}", "{v}\n{c}", "{v}$({c})", "{v}`{c}`", "{v}';{c};'"]
VALUES = ["127.0.0.1", "photo.jpg", "backup-01", "x", ""]


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    def _found(self, text: str) -> bool:
        return any(r.startswith(CMD + ".") for r in rules(verdict(self.steps, call("backup", name=text))))

    @settings(max_examples=200, deadline=None)
    @given(
        st.sampled_from(PROGRAMS), st.sampled_from(CONTEXTS), st.sampled_from(VALUES), st.sampled_from(sorted(SPELLINGS)),
        st.integers(0, 2**32 - 1),
    )
    def test_oneMoreSpelling(self, command: str, context: str, value: str, how: str, seed: int) -> None:
        """
        A program after a separator, found as written, is still found with
        its name spelled one more way a shell undoes.
        """
        if how == "assigned" and context in ("{v}$({c})", "{v}`{c}`", "{v}|{c}"):
            how = "quotes"  # (an assignment's ; would leave the substitution or the pipe)
        plain = context.format(v=value, c=command)
        self.assertTrue(self._found(plain), plain)
        word, _, rest = command.partition(" ")
        spelled = SPELLINGS[how](word, random.Random(seed)) + (" " + rest if rest else "")
        text = context.format(v=value, c=spelled)
        self.assertTrue(self._found(text), f"{how}: {text!r}")

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.sampled_from(list("ab c;&|()<>$`'\"\\{}[]*?/=#%^\n\t-_.,:~!0") + ["$(", "${", "<<<", "&>", "|>", "$'", "$((", "<(", ">(", "%ProgramFiles%"]),
            max_size=24,
        ).map("".join)
    )
    def test_anyString(self, text: str) -> None:
        """
        The reader answers for any string (unclosed quotes, brackets and
        substitutions included) without an error.
        """
        self.assertIn(commandInValue(text), (True, False))

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.sampled_from("the quick brown fox jumps over lazy dog notes budget final draft blue red green".split()), min_size=2, max_size=6),
        st.sampled_from(["; ", " & ", " | ", ", "]),
        st.integers(1, 4),
    )
    def test_proseLists(self, words: list[str], separator: str, at: int) -> None:
        """
        Words of prose joined by a separator, with no program among them
        and nothing shaped like an option or a path, are no command.
        """
        at = min(at, len(words) - 1)
        text = " ".join(words[:at]) + separator + " ".join(words[at:])
        if " " in " ".join(words[:at]):
            self.assertFalse(commandInValue(text), text)


class LegacyEntityTests(SynchronousTestCase):
    """
    HTML reads some names without C{;} (C{&REG}, C{&copy}, C{&not}); after
    cmd's C{&} separator they are commands. A percent-encoded C{&} followed
    by one was undone to a sign (C{®}) and the command lost: both readings
    are judged now (normalize.variants).
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_commandNamedLikeAnEntity(self) -> None:
        for value in (
            "127.0.0.1%26REG ADD HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v x /d c:\\x.exe",
            "127.0.0.1%26copy x.bat %TEMP%\\y.bat",
        ):
            found = rules(verdict(self.steps, call("ping_host", host=value)))
            self.assertTrue({r for r in found if r.startswith(CMD)}, (value, found))

    def test_entitiesInTextSilent(self) -> None:
        for value in ("a=1&region=us&copyright=2024", "Fish &amp chips", "q=%26copy%3B+2024", "Fish %26amp chips"):
            self.assertEqual(rules(verdict(self.steps, call("search_products", query=value))), set(), value)
